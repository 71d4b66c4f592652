/* SPDX-License-Identifier: MIT */
/*
** bench.h: what rk-bench's parts share: options, the results of one run
** (latency series, throughput figures, skipped parts, lost and wrong
** answers), timing helpers (CLOCK_MONOTONIC, percentiles from sorted
** samples) and the progress line. One run fills one rkb_run.
*/
#ifndef RKB_BENCH_H
#define RKB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rkb_opts {
  int quick;            /* a short run: a few seconds in all */
  int progress;         /* draw the progress line on stderr */
  size_t trips;         /* round trips per latency series */
  size_t warmup;        /* untimed round trips before each series */
  double thr_secs;      /* seconds per throughput figure */
  int want_cpu, want_cuda; /* backends asked for (cuda: 1 yes, -1 auto) */
  int want_gpu_refs;    /* measure the GPU references when a GPU is there */
  uint32_t host_threads; /* host threads of the all-workers figures on the
                         ** GPU (0: as many as the hand-written rings use) */
} rkb_opts;

#define RKB_NAME 64
#define RKB_GPU_HOST_THREADS 8 /* host threads feeding the GPU in throughput */
#define RKB_ONE_WORKER_HOSTS 4 /* ... one GPU worker, in its second figure */
#define RKB_MAX_LAT 32
#define RKB_MAX_THR 32
#define RKB_MAX_NOTES 16

/* One latency series: sorted samples in ns and the percentiles. */
typedef struct rkb_lat {
  char key[RKB_NAME];   /* "cpu.floor", "cpu.rtt", "cuda.vecadd25" */
  char label[RKB_NAME]; /* what the table and the plot call it */
  uint64_t *ns;         /* sorted samples (owned) */
  size_t n;
  double p50, p99, p999, min, max, mean; /* ns */
} rkb_lat;

/* One throughput figure: messages answered per second. */
typedef struct rkb_thr {
  char key[RKB_NAME];   /* "cpu.thr1", "gpu.ring16" */
  char label[RKB_NAME];
  double rate;          /* messages per second */
  uint64_t msgs;        /* messages answered and checked */
  double secs;
  uint32_t workers;     /* workers (or rings) it ran on */
  uint32_t host_threads; /* host threads sending and receiving */
} rkb_thr;

typedef struct rkb_run {
  rkb_lat lat[RKB_MAX_LAT];
  size_t n_lat;
  rkb_thr thr[RKB_MAX_THR];
  size_t n_thr;
  char notes[RKB_MAX_NOTES][256]; /* what was skipped, and why */
  size_t n_notes;
  uint64_t lost;        /* sent and never answered */
  uint64_t wrong;       /* answers that failed their check (or calls) */
  uint64_t checked;     /* answers checked */
  char gpu_name[128];   /* the device the GPU references ran on, or "" */
} rkb_run;

/* Word w of message number idx, a pure function of both, so that an
** answer (every word complemented) is checked without keeping what was
** sent; word 0 is idx itself. Shared by the rk runs and the GPU rings. */
static inline uint64_t rkb_word(uint64_t idx, unsigned w) {
  return w == 0 ? idx
                : ((idx + 1) * 0x9e3779b97f4a7c15u) ^
                      ((uint64_t)w * 0xd1b54a32d192ed03u);
}

/* ---- util.c ---- */
uint64_t rkb_now_ns(void);
/* Sorts samples (taking ownership of the malloc'd array) into a new series
** of r; returns it, or NULL when the table is full. */
rkb_lat *rkb_add_lat(rkb_run *r, const char *key, const char *label,
                     uint64_t *ns, size_t n);
rkb_thr *rkb_add_thr(rkb_run *r, const char *key, const char *label,
                     uint64_t msgs, double secs, uint32_t workers);
const rkb_lat *rkb_find_lat(const rkb_run *r, const char *key);
const rkb_thr *rkb_find_thr(const rkb_run *r, const char *key);
/* Adds a line to the notes (printf format) and prints it on stderr. */
void rkb_note(rkb_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Counts a wrong answer and prints the first few. */
void rkb_wrong(rkb_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The progress line: phase and fraction done (0..1); rkb_progress_end
** clears it. No-ops unless opts->progress. */
void rkb_progress(const rkb_opts *o, const char *phase, double done);
void rkb_progress_end(const rkb_opts *o);
/* The spin-wait hint of the CPU (pause on x86). */
void rkb_relax(void);

/* ---- cpu_floor.c ---- */
/* Two threads ping-ponging one cache line: n timed round trips after
** o->warmup untimed ones, added as series "cpu.floor". 0 on success. */
int rkb_cpu_floor(const rkb_opts *o, rkb_run *r);

/* ---- rk_runs.c ---- */
/* Every ringkernel figure on one backend ("cpu" or "cuda"). 0 when it ran
** (wrong and lost answers are counted in r), -1 when the backend could not
** start (a note says why). */
int rkb_rk_backend(const rkb_opts *o, rkb_run *r, const char *backend);

/* ---- refs.cu or refs_none.c ---- */
/* The GPU references: floor, launch + sync, graph launch + sync, copy +
** launch + copy + sync, hand-written rings. Without a GPU (or built
** without CUDA) it notes what it skipped and returns -1. */
int rkb_gpu_refs(const rkb_opts *o, rkb_run *r);
/* 1 when rk-bench was built with the GPU references (nvcc was found). */
int rkb_gpu_refs_built(void);

/* ---- report.c ---- */
void rkb_print_table(const rkb_run *r);
/* Writes the JSON and, beside it, BASE.dat (the latency distributions);
** then draws BASE.png with plot.sh when gnuplot is there. 0 on success. */
int rkb_write_outputs(const rkb_opts *o, const rkb_run *r, const char *json,
                      const char *argv_line);

#ifdef __cplusplus
}
#endif

#endif /* RKB_BENCH_H */
