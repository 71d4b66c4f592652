/* SPDX-License-Identifier: MIT */
/*
** test_runtime_queue.c: the lane protocol (runtime/queue.h) on its own:
** claim/publish/consume in one thread, wrap-around, full lanes, and a
** stress of 4 producers -> 1 relay -> 4 consumers over two lanes where
** every tagged message is checked for loss, duplication, order and payload.
** RK_STRESS_N sets the message count (default 2000000).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "queue.h"

typedef struct lane_mem {
  rk_lane l;
  uint8_t *base;
  uint64_t *done;
} lane_mem;

static void lane_new(lane_mem *m, uint32_t cap, uint32_t payload) {
  uint32_t sb = RK_SLOT_BYTES(payload);
  size_t bytes = (rk__lane_bytes(cap, sb) + 127u) & ~(size_t)127u;
  m->base = aligned_alloc(128, bytes); /* size: a multiple of 128 */
  memset(m->base, 0, bytes);
  m->done = calloc(cap, sizeof *m->done);
  rk__lane_init(&m->l, m->base, cap, sb, m->done);
}

static void lane_del(lane_mem *m) {
  free(m->base);
  free(m->done);
}

static void put(rk_lane *l, uint64_t pos, uint64_t v) {
  uint8_t *s = rk__slot(l, pos);
  memcpy(s + RK_SLOT_HDR, &v, 8);
  uint64_t inv = ~v;
  memcpy(s + RK_SLOT_HDR + 8, &inv, 8);
  rk__slot_publish(l, pos);
}

static uint64_t get(rk_lane *l, uint64_t pos) {
  uint64_t v, inv;
  memcpy(&v, rk__slot(l, pos) + RK_SLOT_HDR, 8);
  memcpy(&inv, rk__slot(l, pos) + RK_SLOT_HDR + 8, 8);
  assert_true(inv == ~v);
  return v;
}

static void test_queue_single_thread_fifo_and_wrap(void **st) {
  lane_mem m;
  lane_new(&m, 8, 16);
  uint64_t head = 0, next = 0, expect = 0;
  for (int round = 0; round < 100; round++) {
    uint64_t pos = 0;
    uint32_t n = rk__lane_claim(&m.l, 5, &pos); /* 5 of 8, wraps often */
    assert_int_equal(n, 5);
    assert_int_equal(pos, next);
    for (uint32_t i = 0; i < n; i++)
      put(&m.l, pos + i, next++);
    uint32_t r = rk__lane_ready_sc(&m.l, head, 100);
    assert_int_equal(r, 5);
    for (uint32_t i = 0; i < r; i++)
      assert_int_equal(get(&m.l, head + i), expect++);
    head += r;
    rk__lane_release_sc(&m.l, head);
  }
  lane_del(&m);
}

static void test_queue_full_lane_claims_nothing(void **st) {
  lane_mem m;
  lane_new(&m, 4, 8);
  uint64_t pos = 0;
  assert_int_equal(rk__lane_claim(&m.l, 10, &pos), 4);
  assert_int_equal(rk__lane_claim(&m.l, 1, &pos), 0);
  for (uint32_t i = 0; i < 4; i++)
    put(&m.l, i, i);
  /* not ready past what was published */
  assert_int_equal(rk__lane_ready_sc(&m.l, 4, 4), 0);
  rk__lane_release_sc(&m.l, 1); /* one slot freed */
  assert_int_equal(rk__lane_claim(&m.l, 3, &pos), 1);
  assert_int_equal(pos, 4);
  lane_del(&m);
}

static void test_queue_multi_consumer_out_of_order_done(void **st) {
  lane_mem m;
  lane_new(&m, 4, 8);
  uint64_t prod = 0, hc = 0, a = 99, b = 99;
  for (int i = 0; i < 4; i++)
    put(&m.l, prod++, (uint64_t)i);
  assert_int_equal(rk__lane_space_sp(&m.l, prod, &hc), 0);
  assert_int_equal(rk__lane_take_mc(&m.l, 1, 0, &a), 1);
  assert_int_equal(rk__lane_take_mc(&m.l, 2, 0, &b), 2);
  assert_int_equal(a, 0);
  assert_int_equal(b, 1);
  rk__lane_done_mc(&m.l, b, 2); /* the later consumer finishes first */
  assert_int_equal(rk__lane_space_sp(&m.l, prod, &hc), 0); /* a stalls */
  rk__lane_done_mc(&m.l, a, 1);
  assert_int_equal(rk__lane_space_sp(&m.l, prod, &hc), 3);
  lane_del(&m);
}

static void test_queue_stop_at_failed_status(void **st) {
  lane_mem m;
  lane_new(&m, 8, 8);
  for (uint64_t i = 0; i < 4; i++) {
    rk__slot_set_status(&m.l, i, i == 2 ? 11u : 0u);
    put(&m.l, i, i);
  }
  uint64_t pos = 0;
  assert_int_equal(rk__lane_take_mc(&m.l, 8, 1, &pos), 2); /* 0, 1 */
  /* a receiver already holding good responses leaves the failed one */
  assert_int_equal(rk__lane_take_mc(&m.l, 8, RK_TAKE_NO_FAILED, &pos), 0);
  assert_int_equal(rk__lane_take_mc(&m.l, 8, 1, &pos), 1); /* 2 alone */
  assert_int_equal(pos, 2);
  assert_int_equal(rk__lane_take_mc(&m.l, 8, 1, &pos), 1); /* 3 */
  lane_del(&m);
}

/* ---- stress ---- */

#define NPROD 4
#define NCONS 4

static struct {
  lane_mem in, out;
  uint64_t per_prod;
  _Atomic uint64_t consumed;
  uint8_t *seen[NPROD];      /* one byte per message, set once */
  _Atomic int errors;
} S;

static void *producer(void *arg) {
  uint64_t p = (uint64_t)(uintptr_t)arg, i = 0;
  while (i < S.per_prod) {
    uint64_t pos = 0;
    uint32_t want = (i % 3 == 0) ? 1 : 7; /* single and batch claims */
    if (want > S.per_prod - i)
      want = (uint32_t)(S.per_prod - i);
    uint32_t n = rk__lane_claim(&S.in.l, want, &pos);
    if (n == 0) {
      sched_yield();
      continue;
    }
    for (uint32_t k = 0; k < n; k++)
      put(&S.in.l, pos + k, p << 40 | (i + k));
    i += n;
  }
  return NULL;
}

/* The single consumer of the input lane and single producer of the output
** lane; checks per-producer order. */
static void *relay(void *arg) {
  uint64_t head = 0, prod = 0, hc = 0, total = S.per_prod * NPROD;
  uint64_t last[NPROD];
  for (int p = 0; p < NPROD; p++)
    last[p] = UINT64_MAX;
  while (head < total) {
    uint32_t n = rk__lane_ready_sc(&S.in.l, head, 64);
    if (n == 0) {
      sched_yield();
      continue;
    }
    for (uint32_t k = 0; k < n; k++) {
      uint64_t v = get(&S.in.l, head + k), p = v >> 40, i = v & 0xffffffffffu;
      if (p >= NPROD || (last[p] != UINT64_MAX && i != last[p] + 1) ||
          (last[p] == UINT64_MAX && i != 0))
        atomic_fetch_add(&S.errors, 1);
      last[p % NPROD] = i;
      while (rk__lane_space_sp(&S.out.l, prod, &hc) == 0)
        sched_yield();
      put(&S.out.l, prod++, v);
    }
    head += n;
    rk__lane_release_sc(&S.in.l, head);
  }
  return NULL;
}

static void *consumer(void *arg) {
  uint64_t total = S.per_prod * NPROD, last[NPROD];
  for (int p = 0; p < NPROD; p++)
    last[p] = UINT64_MAX;
  while (atomic_load(&S.consumed) < total) {
    uint64_t pos = 0;
    uint32_t n = rk__lane_take_mc(&S.out.l, 5, 0, &pos);
    if (n == 0) {
      sched_yield();
      continue;
    }
    for (uint32_t k = 0; k < n; k++) {
      uint64_t v = get(&S.out.l, pos + k), p = v >> 40, i = v & 0xffffffffffu;
      if (p >= NPROD || i >= S.per_prod || S.seen[p][i]++ ||
          (last[p] != UINT64_MAX && i <= last[p]))
        atomic_fetch_add(&S.errors, 1);
      last[p % NPROD] = i;
    }
    rk__lane_done_mc(&S.out.l, pos, n);
    atomic_fetch_add(&S.consumed, n);
  }
  return NULL;
}

static void test_queue_stress_4_producers_4_consumers(void **st) {
  const char *env = getenv("RK_STRESS_N");
  uint64_t total = env ? strtoull(env, NULL, 10) : 2000000u;
  S.per_prod = total / NPROD;
  lane_new(&S.in, 64, 8);
  lane_new(&S.out, 64, 8);
  for (int p = 0; p < NPROD; p++)
    S.seen[p] = calloc(S.per_prod, 1);
  pthread_t th[NPROD + NCONS + 1];
  for (uintptr_t p = 0; p < NPROD; p++)
    pthread_create(&th[p], NULL, producer, (void *)p);
  pthread_create(&th[NPROD], NULL, relay, NULL);
  for (int c = 0; c < NCONS; c++)
    pthread_create(&th[NPROD + 1 + c], NULL, consumer, NULL);
  for (int t = 0; t < NPROD + NCONS + 1; t++)
    pthread_join(th[t], NULL);
  assert_int_equal(atomic_load(&S.errors), 0);
  assert_int_equal(atomic_load(&S.consumed), S.per_prod * NPROD);
  for (int p = 0; p < NPROD; p++) {
    for (uint64_t i = 0; i < S.per_prod; i++)
      assert_int_equal(S.seen[p][i], 1);
    free(S.seen[p]);
  }
  lane_del(&S.in);
  lane_del(&S.out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_single_thread_fifo_and_wrap),
      cmocka_unit_test(test_queue_full_lane_claims_nothing),
      cmocka_unit_test(test_queue_multi_consumer_out_of_order_done),
      cmocka_unit_test(test_queue_stop_at_failed_status),
      cmocka_unit_test(test_queue_stress_4_producers_4_consumers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
