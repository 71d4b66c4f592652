/* SPDX-License-Identifier: MIT */
/*
** cpu_floor.c: the CPU reference of performance.md: two threads
** ping-ponging one 64-bit word on its own cache line. The main thread
** writes 2i+1 and spins until the other answers 2i+2; each round trip is
** one sample. The fastest a host-to-host-thread round trip can be.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"

static _Alignas(128) _Atomic uint64_t g_line;
static _Alignas(128) uint64_t g_rounds; /* written before the thread starts */

static void *ponger(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < g_rounds; i++) {
    /* Acquire: pairs with the main thread's release of 2i+1 (its turn). */
    while (atomic_load_explicit(&g_line, memory_order_acquire) != 2 * i + 1)
      rkb_relax();
    /* Release: hands the turn back; pairs with the main thread's acquire. */
    atomic_store_explicit(&g_line, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

int rkb_cpu_floor(const rkb_opts *o, rkb_run *r) {
  size_t n = o->trips, total = o->warmup + n;
  uint64_t *t = malloc(n * sizeof *t);
  pthread_t th;
  if (!t)
    return -1;
  g_rounds = total;
  atomic_store(&g_line, 0); /* seq_cst: before the thread exists anyway */
  if (pthread_create(&th, NULL, ponger, NULL) != 0) {
    free(t);
    rkb_note(r, "cpu floor: cannot start a thread");
    return -1;
  }
  for (uint64_t i = 0; i < total; i++) {
    uint64_t t0 = rkb_now_ns();
    /* Release/acquire: the turn, as in ponger. */
    atomic_store_explicit(&g_line, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&g_line, memory_order_acquire) != 2 * i + 2)
      rkb_relax();
    uint64_t dt = rkb_now_ns() - t0;
    if (i >= o->warmup)
      t[i - o->warmup] = dt;
    if ((i & 4095) == 0)
      rkb_progress(o, "cpu floor (cache-line ping-pong)",
                   (double)i / (double)total);
  }
  pthread_join(th, NULL);
  rkb_add_lat(r, "cpu.floor", "CPU floor: cache-line ping-pong", t, n);
  return 0;
}
