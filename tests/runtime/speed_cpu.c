/* SPDX-License-Identifier: MIT */
/*
** speed_cpu.c (program rk_speed_cpu, not a test): in one run, (a) two
** threads ping-ponging one cache line, (b) a ringkernel round trip of one
** 64-byte message on the CPU backend with one worker, (c) one worker's
** throughput with batched sends and receives of 64-byte messages.
** Targets (issue 7): (b) p50 <= 2 x (a) p50; (c) >= 10 M messages/s.
** Usage: rk_speed_cpu [round_trips] [throughput_seconds]
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rk.h"

typedef struct Msg { uint64_t v[8]; } Msg; /* 64 bytes */

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void pct(uint64_t *t, size_t n, double *p50, double *p99) {
  qsort(t, n, sizeof *t, cmp_u64);
  *p50 = (double)t[n / 2];
  *p99 = (double)t[n * 99 / 100];
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* ---- (a) ping-pong ---- */

static _Alignas(128) _Atomic uint64_t line;
static size_t pp_n;

static void *pong(void *arg) {
  for (uint64_t i = 0; i < pp_n; i++) {
    /* acquire/release: each side publishes its turn to the other */
    while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 1)
      relax();
    atomic_store_explicit(&line, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

static void ping_pong(size_t n, double *p50, double *p99) {
  uint64_t *t = malloc(n * sizeof *t);
  pp_n = n;
  atomic_store(&line, 0);
  pthread_t th;
  pthread_create(&th, NULL, pong, NULL);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t t0 = now_ns();
    atomic_store_explicit(&line, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 2)
      relax();
    t[i] = now_ns() - t0;
  }
  pthread_join(th, NULL);
  pct(t, n, p50, p99);
  free(t);
}

/* ---- the kernel: one actor (hence one worker), echo ---- */

static void echo_init(void *s) { memset(s, 0, sizeof(uint64_t)); }

static uint32_t echo_dispatch(rk_ctx *ctx, uint32_t type, const void *req,
                              void *resp, void *state) {
  if (type != 1)
    return RK_DISPATCH_UNKNOWN;
  memcpy(resp, req, sizeof(Msg));
  ((Msg *)resp)->v[7] = ++*(uint64_t *)state;
  return 2;
}

static const rk_msg_type echo_types[] = {{1, sizeof(Msg), "s.Req", NULL},
                                         {2, sizeof(Msg), "s.Resp", NULL}};
static const rk_handler_desc echo_handlers[] = {{1, 2}};

static rk_kernel_desc echo_desc(void) {
  rk_kernel_desc d;
  memset(&d, 0, sizeof d);
  d.abi = RK_GEN_ABI;
  d.name = "SpeedEcho";
  d.qualified = "s.SpeedEcho";
  d.capacity = 4096;
  d.block = 1;
  d.actors = 1;
  d.backend = RK_BACKEND_CPU;
  d.has_state = 1;
  d.state_size = sizeof(uint64_t);
  d.state_align = 8;
  d.state_init = echo_init;
  d.n_handlers = 1;
  d.handlers = echo_handlers;
  d.n_types = 2;
  d.types = echo_types;
  d.req_max = d.resp_max = sizeof(Msg);
  d.dispatch = echo_dispatch;
  return d;
}

/* ---- (b) round trip ---- */

static int round_trip(rk_kernel *k, size_t n, double *p50, double *p99) {
  uint64_t *t = malloc(n * sizeof *t);
  Msg m = {{0}}, r;
  for (size_t i = 0; i < n + 1000; i++) {
    m.v[0] = i;
    uint64_t t0 = now_ns();
    if (rk_kernel_send(k, 1, 0, &m, sizeof m, -1, NULL) != RK_OK ||
        rk_kernel_recv(k, 2, &r, sizeof r, -1, NULL) != RK_OK ||
        r.v[0] != i)
      return 1;
    if (i >= 1000) /* the first 1000 warm up */
      t[i - 1000] = now_ns() - t0;
  }
  pct(t, n, p50, p99);
  free(t);
  return 0;
}

/* ---- (c) throughput ---- */

#define BATCH 256

static int throughput(rk_kernel *k, double seconds, double *rate) {
  static Msg out[BATCH], in[BATCH];
  uint64_t sent = 0, got = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
  uint64_t expect = 0;
  for (int i = 0; i < BATCH; i++)
    memset(&out[i], 0, sizeof out[i]);
  while (now_ns() < end || got < sent) {
    if (now_ns() < end && sent - got < 3000) {
      size_t s = 0;
      for (int i = 0; i < BATCH; i++)
        out[i].v[0] = sent + (uint64_t)i;
      rk_status st = rk_kernel_send_batch(k, 1, NULL, out, sizeof(Msg), BATCH,
                                          0, NULL, &s);
      if (st != RK_OK && st != RK_E_TIMEOUT)
        return 1;
      sent += s;
    }
    size_t g = 0;
    rk_status st = rk_kernel_recv_batch(k, 2, in, sizeof(Msg), BATCH,
                                        sent > got ? 1000000 : 0, NULL, NULL,
                                        &g);
    if (st != RK_OK && st != RK_E_TIMEOUT)
      return 1;
    for (size_t i = 0; i < g; i++)
      if (in[i].v[0] != expect++)
        return 1;
    got += g;
  }
  *rate = (double)got / ((double)(now_ns() - t0) / 1e9);
  return 0;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
  double secs = argc > 2 ? atof(argv[2]) : 2.0;
  double a50, a99, b50, b99, rate;
  ping_pong(n, &a50, &a99);
  rk_runtime *rt;
  rk_kernel *k;
  rk_kernel_desc d = echo_desc();
  if (rk_runtime_create(NULL, &rt) != RK_OK ||
      rk_kernel_launch(rt, &d, &k) != RK_OK) {
    fprintf(stderr, "rk_speed_cpu: %s\n", rk_error_detail());
    return 1;
  }
  if (round_trip(k, n, &b50, &b99) || throughput(k, secs, &rate)) {
    fprintf(stderr, "rk_speed_cpu: a message went wrong: %s\n",
            rk_error_detail());
    return 1;
  }
  rk_kernel_stats s;
  if (rk_kernel_terminate(k, &s) != RK_OK)
    return 1;
  printf("(a) cache-line ping-pong   p50 %7.0f ns  p99 %7.0f ns\n", a50, a99);
  printf("(b) rk round trip, 64 B    p50 %7.0f ns  p99 %7.0f ns  "
         "(p50 %.2fx (a), target <= 2x)\n", b50, b99, b50 / a50);
  printf("(c) one worker, batches of %d: %.1f M messages/s (target >= 10)\n",
         BATCH, rate / 1e6);
  printf("    worker grid %u, handled %llu, unhandled %llu\n", s.grid,
         (unsigned long long)s.handled, (unsigned long long)s.unhandled);
  rk_runtime_destroy(rt);
  return 0;
}
