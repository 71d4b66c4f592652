/* SPDX-License-Identifier: MIT */
/*
** test_runtime_ll.c: the LL slot format of the CUDA backend's lanes
** (runtime/ring.h, queue.h) on the host: a message written with
** rk__ll_put reads back whole with rk__ll_get; a slot is full only when
** every word the producer writes carries this lap's flag (zeroed memory,
** the previous lap and a half-written slot are not); the flag differs
** from the previous lap's at every capacity up to 2^31, also where
** positions cross 2^32 and 2^64; and a producer thread standing in for the device, writing answers
** word by word, feeds two consumer threads through the multi-consumer take
** without losing, repeating or tearing one of 400,000 messages.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "queue.h"

typedef struct ll_lane {
  rk_lane l;
  uint8_t *base;
  uint64_t *done;
} ll_lane;

/* An LL lane of cap slots for messages of up to payload bytes, whose
** producer writes at least min_words words (0: exactly a message's). */
static void ll_new(ll_lane *m, uint32_t cap, uint32_t payload,
                   uint32_t min_words) {
  uint32_t words = RK_LL_WORDS(payload);
  uint32_t sb = 8u * words;
  size_t bytes = (rk__lane_bytes(cap, sb) + 127u) & ~(size_t)127u;
  m->base = aligned_alloc(128, bytes);
  memset(m->base, 0, bytes);
  m->done = calloc(cap, sizeof *m->done);
  rk__lane_init(&m->l, m->base, cap, sb, m->done);
  m->l.ll_words = min_words ? min_words : words;
}

static void ll_del(ll_lane *m) {
  free(m->base);
  free(m->done);
}

static void test_ll_put_get_every_size(void **st) {
  (void)st;
  for (uint32_t size = 0; size <= 70; size++) {
    ll_lane m;
    ll_new(&m, 4, 70, 0);
    uint8_t in[70], out[70];
    for (uint32_t i = 0; i < size; i++)
      in[i] = (uint8_t)(0xa5 ^ (i * 7 + size));
    const uint32_t hdr[RK_LL_HDR_WORDS] = {0x89abcdefu, 0x01234567u, 42u,
                                           7u, 0xfffffff0u, size};
    for (uint64_t pos = 0; pos < 6; pos++) { /* wraps the 4 slots */
      rk__ll_put(&m.l, pos, hdr, in, size);
      assert_true(rk__slot_ready(&m.l, pos));
      assert_true(rk__ll_valid(&m.l, pos, RK_LL_WORDS(size)));
      uint32_t h[RK_LL_HDR_WORDS];
      memset(out, 0xee, sizeof out);
      rk__ll_get(&m.l, pos, h, out, size);
      assert_memory_equal(h, hdr, sizeof h);
      if (size)
        assert_memory_equal(out, in, size);
      assert_int_equal(out[size < 70 ? size : 69], size < 70 ? 0xee : in[69]);
      assert_int_equal(rk__slot_status(&m.l, pos), 7u);
    }
    ll_del(&m);
  }
}

/* A producer writes at least the lane's ll_words (the device's window),
** zero-padded: a short message in a kernel with longer ones is full only
** once those words are written too. */
static void test_ll_window_is_padded(void **st) {
  (void)st;
  ll_lane m;
  ll_new(&m, 8, 200, 40);
  const uint32_t hdr[RK_LL_HDR_WORDS] = {1, 0, 2, 0, 0, 4};
  uint32_t v = 0xdeadbeefu;
  rk__ll_put(&m.l, 3, hdr, &v, 4);
  assert_true(rk__ll_valid(&m.l, 3, 40));
  for (uint32_t i = RK_LL_WORDS(4); i < 40; i++)
    assert_int_equal(rk__ll_data(&m.l, 3, i), 0);
  assert_int_equal(rk__ll_data(&m.l, 3, RK_LL_HDR_WORDS), v);
  assert_false(rk__ll_valid(&m.l, 3, 41)); /* not written beyond */
  ll_del(&m);
}

static void test_ll_not_ready_until_every_word(void **st) {
  (void)st;
  ll_lane m;
  ll_new(&m, 4, 64, 0);
  const uint32_t words = m.l.ll_words;
  assert_false(rk__slot_ready(&m.l, 0)); /* zeroed memory: flag 0 */
  const uint32_t hdr[RK_LL_HDR_WORDS] = {5, 0, 9, 0, 0, 64};
  uint8_t p[64] = {1, 2, 3};
  rk__ll_put(&m.l, 1, hdr, p, 64); /* lap 0 of slot 1 */
  assert_true(rk__slot_ready(&m.l, 1));
  assert_false(rk__slot_ready(&m.l, 5)); /* same slot, next lap: stale */
  /* write lap 1 word by word, as a device writes in any order: not full
  ** until the last word lands, whichever it is */
  uint8_t *s = rk__slot(&m.l, 5);
  const uint64_t f = (uint64_t)RK_LL_FLAG(5) << 32;
  for (uint32_t i = words; i-- > 0;) {
    assert_false(rk__slot_ready(&m.l, 5));
    rk__st_rlx64(s + 8u * i, f | i);
  }
  assert_true(rk__slot_ready(&m.l, 5));
  ll_del(&m);
}

static void test_ll_flags_differ_between_laps(void **st) {
  (void)st;
  const uint64_t caps[] = {2, 4, 1024, 1u << 20, 1u << 31};
  const uint64_t bases[] = {0, 1, 12345, (1ull << 32) - 3, 1ull << 32,
                            UINT64_MAX - 5};
  for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
      for (uint64_t d = 0; d < 8; d++) {
        uint64_t pos = bases[b] + d;
        assert_true(RK_LL_FLAG(pos) != 0);
        /* the slot's previous lap, the only stale content it can hold
        ** (every position is written once) */
        assert_true(RK_LL_FLAG(pos) != RK_LL_FLAG(pos - caps[c]));
        /* in general: positions an even distance below 2^32 apart */
        for (uint64_t lap = 2; lap <= 3; lap++)
          if (lap * caps[c] < (1ull << 32))
            assert_true(RK_LL_FLAG(pos) != RK_LL_FLAG(pos - lap * caps[c]));
        /* and the limit of the argument: 2^32 apart, the flags agree */
        assert_true(RK_LL_FLAG(pos) == RK_LL_FLAG(pos - (1ull << 32)));
      }
}

/* ---- a producer thread standing in for a device worker ---- */

#define LL_N 400000u
#define LL_CONSUMERS 2

static struct {
  ll_lane out;
  uint64_t head_cache;
  _Atomic uint32_t taken;
  _Atomic uint32_t bad;
  _Atomic uint8_t *seen;
} S;

static void *device_like_producer(void *arg) {
  (void)arg;
  uint64_t pos = 0;
  while (pos < LL_N) {
    if (rk__lane_space_sp(&S.out.l, pos, &S.head_cache) == 0) {
      sched_yield();
      continue;
    }
    /* words in reverse order, each one relaxed store: as the device's
    ** answer, whose words may land in any order */
    uint8_t *s = rk__slot(&S.out.l, pos);
    const uint64_t f = (uint64_t)RK_LL_FLAG(pos) << 32;
    const uint32_t words = S.out.l.ll_words;
    for (uint32_t i = words; i-- > 0;) {
      uint32_t d = i == 0 ? (uint32_t)pos : i == 5 ? 64u
                 : (uint32_t)(pos * 2654435761u) ^ i;
      rk__st_rlx64(s + 8u * i, f | d);
    }
    pos++;
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  uint8_t payload[64];
  while (atomic_load(&S.taken) < LL_N) {
    uint64_t pos;
    uint32_t n = rk__lane_take_mc(&S.out.l, 8, 0, &pos);
    if (n == 0) {
      sched_yield();
      continue;
    }
    for (uint32_t j = 0; j < n; j++) {
      uint32_t h[RK_LL_HDR_WORDS];
      rk__ll_get(&S.out.l, pos + j, h, payload, sizeof payload);
      uint32_t p = h[0];
      int ok = p == (uint32_t)(pos + j) && h[5] == 64u;
      for (uint32_t i = 0; ok && i < 16; i++) {
        uint32_t d;
        memcpy(&d, payload + 4 * i, 4);
        ok = d == ((uint32_t)((pos + j) * 2654435761u) ^ (i + 6));
      }
      if (!ok || p >= LL_N || atomic_exchange(&S.seen[p], 1) != 0)
        atomic_fetch_add(&S.bad, 1);
    }
    rk__lane_done_mc(&S.out.l, pos, n);
    atomic_fetch_add(&S.taken, n);
  }
  return NULL;
}

static void test_ll_device_like_producer_two_consumers(void **st) {
  (void)st;
  ll_new(&S.out, 64, 64, 0);
  S.head_cache = 0;
  atomic_store(&S.taken, 0);
  atomic_store(&S.bad, 0);
  S.seen = calloc(LL_N, 1);
  pthread_t th[1 + LL_CONSUMERS];
  assert_int_equal(pthread_create(&th[0], NULL, device_like_producer, NULL),
                   0);
  for (int i = 0; i < LL_CONSUMERS; i++)
    assert_int_equal(pthread_create(&th[1 + i], NULL, consumer, NULL), 0);
  for (int i = 0; i < 1 + LL_CONSUMERS; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&S.taken), LL_N);
  assert_int_equal(atomic_load(&S.bad), 0);
  for (uint32_t p = 0; p < LL_N; p++)
    assert_int_equal(S.seen[p], 1);
  free((void *)S.seen);
  ll_del(&S.out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ll_put_get_every_size),
      cmocka_unit_test(test_ll_window_is_padded),
      cmocka_unit_test(test_ll_not_ready_until_every_word),
      cmocka_unit_test(test_ll_flags_differ_between_laps),
      cmocka_unit_test(test_ll_device_like_producer_two_consumers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
