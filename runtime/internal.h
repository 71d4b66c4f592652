/* SPDX-License-Identifier: MIT */
/*
** internal.h: what librk's files share and users never see. The kernel
** object (kernel.c) is backend-neutral: it owns the lanes, send/recv, stats
** and the lifecycle state machine. A backend (cpu.c, cuda.c) provides the
** memory the lanes live in and the workers that consume them, through
** rk_backend_ops.
*/
#ifndef RK_INTERNAL_H
#define RK_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"
#include "rk.h"

#if defined(__GNUC__)
#define RK_WUR __attribute__((warn_unused_result))
#define RK_HIDDEN __attribute__((visibility("hidden")))
#else
#define RK_WUR
#define RK_HIDDEN
#endif

/* ---- errors and log (error.c, log.c) ---- */

/* Sets this thread's detail string (printf format) and returns s. */
rk_status rk__fail(rk_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clears the detail string (called on entry of public calls that succeed). */
void rk__clear_detail(void);
void rk__log(rk_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A runtime at log level lvl begins (hold 1) or ends (hold 0); lines
** above the most verbose live runtime's level are not formatted. */
void rk__log_hold_level(rk_log_level lvl, int hold);

/* ---- configuration (config.c) ---- */

/* One kernel's overrides from the config; 0 / RK_BACKEND_AUTO = not set. */
typedef struct rk_kernel_cfg {
  uint32_t capacity, block, cpu_threads;
  uint32_t grid;     /* 0 = not set */
  int grid_auto;     /* "grid: auto" given explicitly */
  rk_backend backend;
  int has_backend;
  int backend_from_program; /* set by rk_config_set: outranks RK_BACKEND */
} rk_kernel_cfg;

/* Reads the settings a runtime needs from a config (cfg may be NULL for
** defaults). */
typedef struct rk_settings {
  rk_backend backend;
  int backend_from_program; /* set by rk_config_set: outranks RK_BACKEND */
  int backend_from_config;  /* given in YAML or by the program */
  uint32_t device;
  rk_log_level log_level;
  char cache_dir[4096];     /* "" = default */
} rk_settings;

void rk__config_settings(const rk_config *cfg, rk_settings *out);
/* The overrides for kernel `name` (zeroed when none). */
void rk__config_kernel(const rk_config *cfg, const char *name,
                       rk_kernel_cfg *out);
/* A deep copy (the runtime keeps its own). */
RK_WUR rk_status rk__config_clone(const rk_config *cfg, rk_config **out);

/* ---- runtime (kernel.c) ---- */

/* The runtime's settings after RK_CONFIG, RK_BACKEND and the program's own
** calls (backend is what the runtime was told, possibly auto). */
const rk_settings *rk__runtime_settings(const rk_runtime *rt);

/* ---- time (kernel.c) ---- */
uint64_t rk__now_ns(void); /* CLOCK_MONOTONIC */

/* ---- lanes ---- */

/* A view of one lane ring; the memory is the backend's. */
typedef struct rk_lane {
  uint8_t *base;      /* RK_RING_HDR_BYTES header, then the slots */
  uint64_t *done;     /* host-only: output lanes' done marks, else NULL */
  uint32_t cap;       /* power of two */
  uint32_t mask;
  uint32_t slot_bytes;
  uint32_t ll_words;  /* LL slots (ring.h): words per message; 0: seq slots */
} rk_lane;

/* Per-worker counters, each written by its worker only, two 128-byte
** lines a worker (the second only for the CUDA backend's RK_CUDA_TRACE
** words). On the GPU they live in mapped host memory. */
typedef struct rk_worker_status {
  _Alignas(128) uint64_t handled;
  uint64_t replied;
  uint64_t failed;
  uint64_t heartbeat; /* bumped by a live worker at least every ~100 us */
  uint64_t depth_max; /* largest depth the worker saw on its input lane
                      ** (0 if the backend does not track it) */
  uint64_t pad[27];
} rk_worker_status;

/* Host-to-worker control words, written by the host only. */
typedef struct rk_control {
  _Alignas(128) uint32_t active; /* 1: handle messages; 0: leave them */
  uint32_t stop;                 /* 1: drain what is queued, then exit */
  uint32_t abort;                /* 1: exit at once (destroy after fault) */
  uint32_t pad[29];
} rk_control;

typedef struct rk_backend_ops rk_backend_ops;

/* A kernel as kernel.c knows it. The backend may keep its own state in
** `impl`. Queue memory (lanes, worker status, control) comes from the
** backend's alloc so that it is mapped for the device where needed. */
struct rk_kernel {
  const rk_kernel_desc *desc;
  rk_runtime *rt;
  const rk_backend_ops *ops;
  void *impl;
  rk_backend backend;
  uint32_t grid, block, capacity, actors;
  uint32_t lane_cap;          /* capacity per input lane */
  uint32_t in_slot_bytes;
  /* input: one lane per worker */
  rk_lane *in;                /* grid lanes */
  /* output: one queue per response type, one lane per worker each */
  uint32_t n_out;
  uint32_t *out_ids;          /* response type ids, n_out */
  uint32_t *out_slot_bytes;
  rk_lane *out;               /* n_out * grid lanes: out[t * grid + w] */
  rk_worker_status *wstat;    /* grid entries */
  rk_control *ctl;
  void *states;               /* actors * state_size, backend memory */
  /* host-side state of the kernel object. The words senders write on
  ** every call sit between pads, away from the fields workers read. */
  char pad_hot0[128];
  _Atomic uint64_t next_corr; /* correlation ticket (rk__lane_claim_id) */
  _Atomic uint64_t received;  /* unused: the input lanes' claims count */
  _Atomic uint64_t depth_max;
  _Atomic uint32_t rr;        /* round robin for stateless sends */
  _Atomic uint32_t inflight;  /* send/recv calls inside the kernel now */
  char pad_hot1[128];
  _Atomic int lifecycle;      /* RK__K_ACTIVE, _INACTIVE, _TERMINATED */
  uint64_t t_launch, t_end;
  uint64_t queue_bytes;
  rk_kernel_stats final;      /* valid once terminated */
  struct rk_kernel *next_in_rt;
  /* added by kernel.c: */
  int leaked;                 /* workers abandoned: memory must stay */
  void *life_lock;            /* pthread_mutex_t *, serialises lifecycle */
  uint32_t state_stride;      /* bytes between actors' states */
};

enum { RK__K_ACTIVE = 1, RK__K_INACTIVE = 2, RK__K_TERMINATED = 3 };

struct rk_backend_ops {
  const char *name;
  rk_backend backend;
  /* Lanes in the LL slot format (ring.h): the device reads a message in
  ** one bus round trip and answers without a fence. The CPU backend keeps
  ** seq slots (its workers read the payload in place). */
  int ll_lanes;
  /* How long a host thread waiting on a full or empty lane spins with the
  ** pause instruction before it starts to yield (0: RK_HOST_PAUSE_NS).
  ** CPU workers may share the waiter's core, so yielding soon lets them
  ** run; a device's workers never do, and a yield (a system call) taken
  ** as the answer lands adds its whole length to the round trip. */
  uint32_t host_pause_ns;
  /* Decide grid/block from the kernel's wishes (k->grid == 0: auto) and
  ** what the backend can hold; may fail with RK_E_COOPERATIVE. */
  RK_WUR rk_status (*plan)(rk_kernel *k);
  /* Memory for lanes, status and control (zeroed, 128-byte aligned). */
  void *(*alloc)(rk_kernel *k, size_t bytes);
  void (*free)(rk_kernel *k, void *p, size_t bytes);
  /* Start the workers (lanes, states and control are ready). */
  RK_WUR rk_status (*start)(rk_kernel *k);
  /* A message was published on input lane w: wake its worker if asleep. */
  void (*wake)(rk_kernel *k, uint32_t w);
  /* A consumer freed space / a producer published on output lanes: wake
  ** host threads waiting in send or recv (CPU backend). */
  void (*notify_host)(rk_kernel *k);
  /* Wait (a bounded time) for the host-side event counter to change. */
  void (*host_wait)(rk_kernel *k, uint32_t seen, uint64_t deadline_ns);
  uint32_t (*host_event)(rk_kernel *k);
  /* RK_OK, or RK_E_DEVICE_FAULT once the device faulted. */
  rk_status (*health)(rk_kernel *k);
  /* Wait for the workers to exit after ctl->stop (or abort); RK_E_TIMEOUT
  ** when they do not within timeout_ns (they are then abandoned). */
  RK_WUR rk_status (*join)(rk_kernel *k, int64_t timeout_ns);
  void (*destroy)(rk_kernel *k);
  /* Added (may be NULL: kernel.c then polls host_event with host_wait in
  ** slices of 100 us). host_wait_begin registers the calling host thread
  ** as a waiter and returns the event counter; the caller then re-checks
  ** its condition and, if still unmet, calls host_wait(k, seen, deadline);
  ** host_wait_end unregisters. A backend whose workers bump the event only
  ** while a waiter is registered relies on this order (lost-wakeup). */
  uint32_t (*host_wait_begin)(rk_kernel *k);
  void (*host_wait_end)(rk_kernel *k);
};

extern const rk_backend_ops rk__cpu_ops;
extern const rk_backend_ops rk__cuda_ops;

/* ---- CUDA availability (cuda.c) ---- */

/* RK_OK when a device, the driver and NVRTC are usable with cooperative
** launch; else RK_E_NO_DEVICE with the reason in the detail string. */
RK_WUR rk_status rk__cuda_probe(uint32_t device);

#endif /* RK_INTERNAL_H */
