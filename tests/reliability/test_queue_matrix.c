/* SPDX-License-Identifier: MIT */
/*
** test_queue_matrix.c: the lane protocol of runtime/queue.h under stress,
** P producers x C consumers: P host producers claim on an input lane
** (rk__lane_claim), one relay consumes it (rk__lane_ready_sc) and produces
** on an output lane (rk__lane_space_sp) that C host consumers take from
** (rk__lane_take_mc / rk__lane_done_mc). Every message carries (producer,
** seq) and words derived from them; each case asserts 0 lost, 0
** duplicated, 0 per-producer order breaks, 0 torn payloads and both lanes
** empty at the end. RK_STRESS_N sets messages per case (default 200,000).
** Argument: a cmocka filter ("*2x2*").
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#include "lanes.h"

#define MAXP 16

typedef struct matrix {
  uint32_t np, nc;
  uint64_t per_prod, total, p0;
  lane_mem in, out;
  _Atomic uint64_t consumed;
  _Atomic unsigned char *seen[MAXP]; /* per message: times consumed */
  _Atomic uint64_t torn, order, foreign;
  uint64_t relay_end;                /* the relay's output position */
  _Atomic int stuck;                 /* the watchdog saw no progress */
} matrix;

static matrix M;

static uint32_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)*s;
}

/* Waits a little; returns 0 once the watchdog declared the run stuck (a
** lost message would otherwise hang the consumers until ctest kills). */
static int backoff(uint32_t *spins) {
  /* Relaxed: a flag read in a loop; nothing is published with it. */
  if (atomic_load_explicit(&M.stuck, memory_order_relaxed))
    return 0;
  if (++*spins < 64) {
    rk__cpu_relax();
  } else if (*spins < 128) {
    sched_yield(); /* 2 cores, up to 33 threads: let the others run */
  } else {
    /* Sleep: on a loaded machine the thread we wait for (one that claimed
    ** a slot and was preempted before publishing it) needs the core. */
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
  }
  return 1;
}

static void slot_put(rk_lane *l, uint64_t pos, const tagged *t) {
  uint8_t *s = rk__slot(l, pos);
  uint64_t corr = (uint64_t)t->prod << 48 | t->seq;
  memcpy(s + RK_SLOT_OFF_CORR, &corr, 8);
  memcpy(s + RK_SLOT_HDR, t, sizeof *t);
  rk__slot_publish(l, pos);
}

/* Copies the slot at pos out; counts a torn copy (header or payload). */
static void slot_get(rk_lane *l, uint64_t pos, tagged *t) {
  uint8_t *s = rk__slot(l, pos);
  uint64_t corr;
  memcpy(&corr, s + RK_SLOT_OFF_CORR, 8);
  memcpy(t, s + RK_SLOT_HDR, sizeof *t);
  if (!tag_ok(t) || corr != ((uint64_t)t->prod << 48 | t->seq))
    atomic_fetch_add(&M.torn, 1);
}

static void *producer(void *arg) {
  uint32_t p = (uint32_t)(uintptr_t)arg, spins = 0;
  uint64_t s = 0x1234567u + p, i = 0;
  while (i < M.per_prod) {
    uint32_t want = 1 + rnd(&s) % 8; /* single and batch claims */
    if (want > M.per_prod - i)
      want = (uint32_t)(M.per_prod - i);
    uint64_t pos;
    uint32_t n = rk__lane_claim(&M.in.l, want, &pos);
    if (n == 0) {
      if (!backoff(&spins))
        break;
      continue;
    }
    spins = 0;
    for (uint32_t k = 0; k < n; k++) {
      tagged t;
      tag_make(&t, p, i + k);
      slot_put(&M.in.l, pos + k, &t);
    }
    i += n;
  }
  return NULL;
}

/* The input lane's sole consumer and the output lane's sole producer: the
** worker's role. Checks every producer's messages arrive in order. */
static void *relay(void *arg) {
  uint64_t head = M.p0, prod = M.p0, hc = M.p0, moved = 0, next[MAXP] = {0};
  uint32_t spins = 0;
  while (moved < M.total) {
    uint32_t n = rk__lane_ready_sc(&M.in.l, head, 32);
    if (n == 0) {
      if (!backoff(&spins))
        break;
      continue;
    }
    spins = 0;
    for (uint32_t k = 0; k < n; k++) {
      tagged t;
      slot_get(&M.in.l, head + k, &t);
      if (t.prod >= M.np)
        atomic_fetch_add(&M.foreign, 1);
      else if (t.seq != next[t.prod]++)
        atomic_fetch_add(&M.order, 1);
      while (rk__lane_space_sp(&M.out.l, prod, &hc) == 0)
        if (!backoff(&spins))
          return NULL;
      slot_put(&M.out.l, prod++, &t);
    }
    head += n;
    moved += n;
    rk__lane_release_sc(&M.in.l, head);
  }
  M.relay_end = prod;
  return NULL;
}

static void *consumer(void *arg) {
  uint64_t s = 0x9876543u + (uintptr_t)arg, last[MAXP];
  uint32_t spins = 0;
  for (uint32_t p = 0; p < MAXP; p++)
    last[p] = UINT64_MAX;
  tagged buf[8];
  /* Relaxed: only decides when to stop; the counts are read after join. */
  while (atomic_load_explicit(&M.consumed, memory_order_relaxed) < M.total) {
    uint64_t pos;
    uint32_t n = rk__lane_take_mc(&M.out.l, 1 + rnd(&s) % 8, 0, &pos);
    if (n == 0) {
      if (!backoff(&spins))
        break;
      continue;
    }
    spins = 0;
    for (uint32_t k = 0; k < n; k++)
      slot_get(&M.out.l, pos + k, &buf[k]);
    rk__lane_done_mc(&M.out.l, pos, n);
    for (uint32_t k = 0; k < n; k++) {
      const tagged *t = &buf[k];
      if (t->prod >= M.np || t->seq >= M.per_prod) {
        atomic_fetch_add(&M.foreign, 1);
        continue;
      }
      /* Takes go forward along the lane, so one consumer sees each
      ** producer's messages in increasing seq. */
      if (last[t->prod] != UINT64_MAX && t->seq <= last[t->prod])
        atomic_fetch_add(&M.order, 1);
      last[t->prod] = t->seq;
      /* Relaxed: a counter per message, read after every thread joined;
      ** atomic so that a duplicate seen by two consumers is no race. */
      atomic_fetch_add_explicit(&M.seen[t->prod][t->seq], 1,
                                memory_order_relaxed);
    }
    atomic_fetch_add(&M.consumed, n);
  }
  return NULL;
}

static uint64_t stress_n(void) {
  const char *env = getenv("RK_STRESS_N");
  if (env && *env)
    return strtoull(env, NULL, 10);
  return 200000u; /* TSan caught a missing release in 20,000 */
}

/* Returns when every message was consumed, or after 3 s without one
** consumed (then marks the run stuck, which stops every thread). */
static void watchdog(void) {
  uint64_t last = 0;
  for (int idle_ms = 0; atomic_load(&M.consumed) < M.total;) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    uint64_t c = atomic_load(&M.consumed);
    idle_ms = c == last ? idle_ms + 1 : 0;
    last = c;
    if (idle_ms >= 3000) {
      atomic_store(&M.stuck, 1);
      return;
    }
  }
}

/* Both lanes empty at end (free-running, may have wrapped): every claim
** consumed and freed, nothing left full. */
static void check_empty(uint64_t end) {
  assert_true(lane_word(&M.in, RK_RING_OFF_PROD_CLAIM) == end);
  assert_true(lane_word(&M.in, RK_RING_OFF_CONS_HEAD) == end);
  assert_int_equal(rk__lane_depth(&M.in.l), 0);
  assert_int_equal(rk__lane_ready_sc(&M.in.l, end, 1), 0);
  assert_true(M.relay_end == end);
  assert_true(lane_word(&M.out, RK_RING_OFF_CONS_CLAIM) == end);
  assert_true(lane_word(&M.out, RK_RING_OFF_CONS_HEAD) == end);
  uint64_t pos;
  assert_int_equal(rk__lane_take_mc(&M.out.l, 1, 0, &pos), 0);
}

/* Runs np producers x nc consumers over lanes of in_cap and out_cap slots
** started at p0, and checks every message. */
static void run_matrix(uint32_t np, uint32_t nc, uint32_t in_cap,
                       uint32_t out_cap, uint64_t p0) {
  memset(&M, 0, sizeof M);
  M.np = np;
  M.nc = nc;
  M.p0 = p0;
  M.per_prod = stress_n() / np;
  M.total = M.per_prod * np;
  assert_true(lane_new_at(&M.in, in_cap, sizeof(tagged), p0));
  assert_true(lane_new_at(&M.out, out_cap, sizeof(tagged), p0));
  for (uint32_t p = 0; p < np; p++) {
    M.seen[p] = calloc(M.per_prod ? M.per_prod : 1, 1);
    assert_non_null(M.seen[p]);
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t th[2 * MAXP + 1];
  uint32_t nt = 0;
  for (uint32_t c = 0; c < nc; c++)
    assert_int_equal(pthread_create(&th[nt++], NULL, consumer,
                                    (void *)(uintptr_t)c), 0);
  assert_int_equal(pthread_create(&th[nt++], NULL, relay, NULL), 0);
  for (uint32_t p = 0; p < np; p++)
    assert_int_equal(pthread_create(&th[nt++], NULL, producer,
                                    (void *)(uintptr_t)p), 0);
  watchdog();
  for (uint32_t t = 0; t < nt; t++)
    pthread_join(th[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) +
             (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;

  uint64_t lost = 0, dup = 0;
  for (uint32_t p = 0; p < np; p++) {
    for (uint64_t i = 0; i < M.per_prod; i++) {
      unsigned char v = atomic_load(&M.seen[p][i]);
      lost += v == 0;
      dup += v > 1 ? v - 1u : 0u;
    }
    free((void *)M.seen[p]);
  }
  print_message("%ux%u: %" PRIu64 " messages in %.2f s (%.1f M/s), cap %u/%u,"
                " start %" PRIu64 ": lost %" PRIu64 " dup %" PRIu64
                " order %" PRIu64 " torn %" PRIu64 " foreign %" PRIu64
                "%s\n", np, nc, M.total, s, (double)M.total / s / 1e6, in_cap,
                out_cap, p0, lost, dup, (uint64_t)M.order, (uint64_t)M.torn,
                (uint64_t)M.foreign, atomic_load(&M.stuck) ? " STUCK" : "");
  assert_int_equal(atomic_load(&M.stuck), 0);
  assert_int_equal(lost, 0);
  assert_int_equal(dup, 0);
  assert_int_equal(atomic_load(&M.order), 0);
  assert_int_equal(atomic_load(&M.torn), 0);
  assert_int_equal(atomic_load(&M.foreign), 0);
  assert_int_equal(atomic_load(&M.consumed), M.total);
  check_empty(p0 + M.total);
  lane_del(&M.in);
  lane_del(&M.out);
}

static void test_queue_matrix_1x1(void **st) { run_matrix(1, 1, 64, 64, 0); }
static void test_queue_matrix_2x2(void **st) { run_matrix(2, 2, 64, 64, 0); }
static void test_queue_matrix_4x4(void **st) { run_matrix(4, 4, 64, 32, 0); }
static void test_queue_matrix_8x2(void **st) { run_matrix(8, 2, 128, 64, 0); }
static void test_queue_matrix_2x8(void **st) { run_matrix(2, 8, 64, 128, 0); }
static void test_queue_matrix_16x16(void **st) {
  run_matrix(16, 16, 256, 256, 0);
}
/* Small lanes: full and empty all the time, many laps. */
static void test_queue_matrix_4x4_cap2(void **st) { run_matrix(4, 4, 2, 2, 0); }
/* Indices started just below 2^64: the run wraps them to 0. */
static void test_queue_matrix_2x2_wrap(void **st) {
  run_matrix(2, 2, 8, 8, UINT64_MAX - 100);
}
static void test_queue_matrix_4x4_wrap(void **st) {
  run_matrix(4, 4, 64, 16, UINT64_MAX - 1000);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_matrix_1x1),
      cmocka_unit_test(test_queue_matrix_2x2),
      cmocka_unit_test(test_queue_matrix_4x4),
      cmocka_unit_test(test_queue_matrix_8x2),
      cmocka_unit_test(test_queue_matrix_2x8),
      cmocka_unit_test(test_queue_matrix_16x16),
      cmocka_unit_test(test_queue_matrix_4x4_cap2),
      cmocka_unit_test(test_queue_matrix_2x2_wrap),
      cmocka_unit_test(test_queue_matrix_4x4_wrap),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
