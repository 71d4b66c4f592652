/* SPDX-License-Identifier: MIT */
/*
** main.c: rk-bench. In one run: the references (CPU floor; on a GPU the
** GPU floor, launch per message, graph launch, copy + launch + copy, the
** hand-written rings), then ringkernel on each backend; prints the table of
** ratios, writes JSON, the latency data and a plot. Exit 1 when any
** message was lost or any answer was wrong, 2 on a usage error.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "rk.h"

static int usage(const char *prog, int rc) {
  fprintf(rc ? stderr : stdout,
          "usage: %s [--quick] [--json FILE] [--backend cpu|cuda|all|auto]\n"
          "          [--trips N] [--seconds S] [--host-threads N]\n"
          "          [--no-gpu-refs] [--progress|--no-progress]\n"
          "  --quick        a short run (a few seconds)\n"
          "  --json FILE    results (default rk-bench.json); FILE's base .dat\n"
          "                 and .png go beside it\n"
          "  --backend B    auto (default): cpu, and cuda when the runtime\n"
          "                 picks it; cuda: cuda only, failing without a GPU\n"
          "  --trips N      timed round trips per latency series\n"
          "  --seconds S    seconds per throughput figure\n"
          "  --host-threads N  host threads sending and receiving in the\n"
          "                 all-workers figures (default: 1 on the CPU backend,\n"
          "                 8 on the GPU, as the hand-written rings)\n"
          "  --no-gpu-refs  skip the GPU references\n"
          "RK_CONFIG is not read: rk-bench sets each kernel's shape itself.\n",
          prog);
  return rc;
}

/* Parses argv into o and *json; returns -1 on a usage error. */
static int parse(int argc, char **argv, rkb_opts *o, const char **json) {
  o->trips = 200000;
  o->warmup = 10000;
  o->thr_secs = 2.0;
  o->want_cpu = 1;
  o->want_cuda = -1;
  o->want_gpu_refs = 1;
  o->progress = isatty(2);
  size_t trips = 0;
  double secs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) {
      o->quick = 1;
    } else if (strcmp(a, "--json") == 0 && v) {
      *json = v;
      i++;
    } else if (strcmp(a, "--trips") == 0 && v && atol(v) > 0) {
      trips = (size_t)atol(v);
      i++;
    } else if (strcmp(a, "--seconds") == 0 && v && atof(v) > 0) {
      secs = atof(v);
      i++;
    } else if (strcmp(a, "--backend") == 0 && v) {
      o->want_cpu = strcmp(v, "cuda") != 0;
      o->want_cuda = strcmp(v, "cuda") == 0 || strcmp(v, "all") == 0 ? 1
                     : strcmp(v, "cpu") == 0                          ? 0
                                                                      : -1;
      if (strcmp(v, "cpu") && strcmp(v, "cuda") && strcmp(v, "all") &&
          strcmp(v, "auto"))
        return -1;
      i++;
    } else if (strcmp(a, "--host-threads") == 0 && v && atol(v) > 0 &&
               atol(v) <= 64) {
      o->host_threads = (uint32_t)atol(v);
      i++;
    } else if (strcmp(a, "--no-gpu-refs") == 0) {
      o->want_gpu_refs = 0;
    } else if (strcmp(a, "--progress") == 0) {
      o->progress = 1;
    } else if (strcmp(a, "--no-progress") == 0) {
      o->progress = 0;
    } else {
      return -1;
    }
  }
  if (o->quick) {
    o->trips = 5000;
    o->warmup = 500;
    o->thr_secs = 0.3;
  }
  o->trips = trips ? trips : o->trips;
  o->thr_secs = secs > 0 ? secs : o->thr_secs;
  return 0;
}

/* Whether the runtime's auto choice is cuda here (it logs why not). */
static int cuda_is_auto_choice(void) {
  rk_runtime *rt = NULL;
  if (rk_runtime_create(NULL, &rt) != RK_OK)
    return 0;
  int yes = rk_runtime_backend(rt) == RK_BACKEND_CUDA;
  rk_runtime_destroy(rt);
  return yes;
}

/* The ringkernel part, backend by backend. */
static void run_backends(const rkb_opts *o, rkb_run *r) {
  /* A backend that is there but cannot run the bench is a failure. */
  if (o->want_cpu && rkb_rk_backend(o, r, "cpu") != 0)
    rkb_wrong(r, "the cpu backend could not start");
  int cuda = o->want_cuda;
  if (cuda < 0) {
    rkb_progress_end(o); /* librk may log a line now */
    cuda = cuda_is_auto_choice();
    if (!cuda)
      rkb_note(r, "cuda backend skipped: the runtime picks cpu on this "
               "machine (its log line above says why)");
  }
  if (cuda && rkb_rk_backend(o, r, "cuda") != 0)
    rkb_wrong(r, "the cuda backend could not start (see above)");
}

int main(int argc, char **argv) {
  rkb_opts o;
  const char *json = "rk-bench.json";
  memset(&o, 0, sizeof o);
  if (argc > 1 && strcmp(argv[1], "--help") == 0)
    return usage(argv[0], 0);
  if (parse(argc, argv, &o, &json) != 0)
    return usage(argv[0], 2);
  char line[1024] = "";
  for (int i = 0; i < argc; i++) {
    size_t n = strlen(line);
    snprintf(line + n, sizeof line - n, "%s%s", i ? " " : "", argv[i]);
  }
  /* The program chooses every backend itself; a stray RK_BACKEND must not
  ** turn the cpu figures into cuda ones or back. */
  unsetenv("RK_BACKEND");
  unsetenv("RK_CONFIG");

  static rkb_run r; /* large: keep it off the stack */
  printf("rk-bench: %zu round trips per series (%zu warm-up), %.1f s per "
         "throughput figure%s\n", o.trips, o.warmup, o.thr_secs,
         o.quick ? " (--quick)" : "");
  fflush(stdout);
  rkb_cpu_floor(&o, &r);
  if (!o.want_gpu_refs)
    rkb_note(&r, "GPU references skipped: --no-gpu-refs");
  else if (!rkb_gpu_refs_built())
    rkb_note(&r, "GPU references skipped: rk-bench was built without CUDA "
             "(no nvcc at configure time)");
  else
    rkb_gpu_refs(&o, &r);
  run_backends(&o, &r);
  rkb_progress_end(&o);

  rkb_print_table(&r);
  int out = rkb_write_outputs(&o, &r, json, line);
  for (size_t i = 0; i < r.n_lat; i++)
    free(r.lat[i].ns);
  if (r.lost || r.wrong) {
    fprintf(stderr, "rk-bench: FAILED: %llu lost, %llu wrong\n",
            (unsigned long long)r.lost, (unsigned long long)r.wrong);
    return 1;
  }
  return out == 0 ? 0 : 1;
}
