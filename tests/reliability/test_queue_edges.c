/* SPDX-License-Identifier: MIT */
/*
** test_queue_edges.c: the lane edges: every capacity from 2 to 2^16 on
** bare lanes and through rk_kernel_launch, capacities 0 and non-powers of
** two refused, free-running indices that wrap past 2^64, and a full queue
** that times out within its deadline and drops nothing.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>

#include "../runtime/kdesc.h"
#include "lanes.h"

/* Fills the lane (claims of 3), checks it refuses one more, drains it as
** the single consumer, for laps laps; positions start at p0. */
static void lane_laps(uint32_t cap, uint64_t p0, int laps) {
  lane_mem m;
  assert_true(lane_new_at(&m, cap, sizeof(tagged), p0));
  uint64_t next = p0;
  for (int lap = 0; lap < laps; lap++) {
    uint64_t pos;
    for (uint32_t got = 0; got < cap;) {
      uint32_t n = rk__lane_claim(&m.l, 3, &pos);
      assert_true(n >= 1 && n <= 3 && pos == next + got);
      for (uint32_t k = 0; k < n; k++) {
        tagged t;
        tag_make(&t, 0, pos + k - p0);
        memcpy(rk__slot(&m.l, pos + k) + RK_SLOT_HDR, &t, sizeof t);
        rk__slot_publish(&m.l, pos + k);
      }
      got += n;
    }
    assert_int_equal(rk__lane_claim(&m.l, 1, &pos), 0); /* full */
    assert_int_equal(rk__lane_depth(&m.l), cap);
    assert_int_equal(rk__lane_ready_sc(&m.l, next, cap + 1), cap);
    for (uint32_t k = 0; k < cap; k++) {
      tagged t;
      memcpy(&t, rk__slot(&m.l, next + k) + RK_SLOT_HDR, sizeof t);
      assert_true(tag_ok(&t));
      assert_true(t.seq == next + k - p0);
    }
    next += cap;
    rk__lane_release_sc(&m.l, next);
    assert_int_equal(rk__lane_depth(&m.l), 0);
    assert_int_equal(rk__lane_ready_sc(&m.l, next, 1), 0);
  }
  lane_del(&m);
}

static void test_edges_lane_every_capacity(void **st) {
  for (uint32_t cap = 2; cap <= 65536; cap *= 2) {
    lane_laps(cap, 0, 3);
    lane_laps(cap, UINT64_MAX - cap - cap / 2, 3); /* wraps in lap 2 */
  }
}

/* The single producer / many consumer side across the wrap: slot at
** position UINT64_MAX (seq 0) and done marks of 0. */
static void test_edges_output_lane_wraps(void **st) {
  lane_mem m;
  const uint32_t cap = 4;
  uint64_t p0 = UINT64_MAX - 5, prod = p0, hc = p0, seen = 0;
  assert_true(lane_new_at(&m, cap, sizeof(tagged), p0));
  for (int round = 0; round < 6; round++) {
    uint32_t room = rk__lane_space_sp(&m.l, prod, &hc);
    assert_int_equal(room, cap);
    for (uint32_t k = 0; k < room; k++) {
      tagged t;
      tag_make(&t, 1, prod - p0);
      memcpy(rk__slot(&m.l, prod) + RK_SLOT_HDR, &t, sizeof t);
      rk__slot_publish(&m.l, prod++);
    }
    assert_int_equal(rk__lane_space_sp(&m.l, prod, &hc), 0);
    uint64_t a = 0, b = 0;
    assert_int_equal(rk__lane_take_mc(&m.l, 1, 0, &a), 1);
    assert_int_equal(rk__lane_take_mc(&m.l, 8, 0, &b), cap - 1);
    assert_int_equal(rk__lane_take_mc(&m.l, 8, 0, &b), 0); /* empty */
    for (uint64_t p = a; p != a + cap; p++) {
      tagged t;
      memcpy(&t, rk__slot(&m.l, p) + RK_SLOT_HDR, sizeof t);
      assert_true(tag_ok(&t) && t.seq == seen++);
    }
    rk__lane_done_mc(&m.l, a + 1, cap - 1); /* later one first */
    assert_int_equal(rk__lane_space_sp(&m.l, prod, &hc), 0);
    rk__lane_done_mc(&m.l, a, 1);
  }
  assert_true(prod < p0); /* it did wrap */
  lane_del(&m);
}

/* rk__lane_depth is claim - head modulo 2^64: right across the wrap. */
static void test_edges_depth_across_wrap(void **st) {
  lane_mem m;
  assert_true(lane_new_at(&m, 8, 16, UINT64_MAX - 1));
  uint64_t pos;
  assert_int_equal(rk__lane_claim(&m.l, 5, &pos), 5); /* claim wraps to 3 */
  assert_int_equal(rk__lane_depth(&m.l), 5);
  lane_del(&m);
}

static rk_kernel *launch_bank(rk_runtime *rt, uint32_t cap, rk_status *s,
                              rk_kernel_desc *d) {
  rk_kernel *k = NULL;
  *d = bank_desc(1, cap);
  *s = rk_kernel_launch(rt, d, &k);
  return k;
}

static void test_edges_launch_refuses_bad_capacity(void **st) {
  static const uint32_t bad[] = {0, 1, 3, 6, 100, 1000, 65535, 65537,
                                 0x80000001u, 0xffffffffu};
  rk_runtime *rt = make_rt("Bank", 1);
  assert_non_null(rt);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rk_kernel_desc d;
    rk_status s;
    rk_kernel *k = launch_bank(rt, bad[i], &s, &d);
    assert_int_equal(s, RK_E_INVALID);
    assert_null(k);
    assert_non_null(strstr(rk_error_detail(), "power of two"));
  }
  rk_runtime_destroy(rt);
}

static void test_edges_config_refuses_bad_capacity(void **st) {
  rk_config *cfg = NULL;
  assert_int_equal(rk_config_new(&cfg), RK_OK);
  assert_int_equal(rk_config_set(cfg, "kernels.Bank.capacity", "0"),
                   RK_E_CONFIG);
  assert_int_equal(rk_config_set(cfg, "kernels.Bank.capacity", "12"),
                   RK_E_CONFIG);
  rk_config_free(cfg);
}

/* Every capacity through the runtime: a deactivated kernel takes exactly
** capacity messages, refuses the next, then answers all of them in order. */
static void test_edges_launch_every_capacity(void **st) {
  rk_runtime *rt = make_rt("Bank", 1);
  assert_non_null(rt);
  static rk_kernel_desc d[17]; /* each lives as long as its kernel */
  for (uint32_t cap = 2, di = 0; cap <= 65536; cap *= 2, di++) {
    rk_status s;
    rk_kernel *k = launch_bank(rt, cap, &s, &d[di]);
    assert_int_equal(s, RK_OK);
    assert_int_equal(rk_kernel_deactivate(k), RK_OK);
    Req *q = calloc(cap, sizeof *q);
    Resp *r = calloc(cap, sizeof *r);
    assert_true(q && r);
    for (uint32_t i = 0; i < cap; i++)
      fill_req(&q[i], 0, i, i);
    size_t sent = 0, got = 0;
    assert_int_equal(rk_kernel_send_batch(k, T_REQ, NULL, q, sizeof *q, cap,
                                          0, NULL, &sent), RK_OK);
    assert_int_equal(sent, cap);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q[0], sizeof *q, 0, NULL),
                     RK_E_TIMEOUT);
    assert_int_equal(rk_kernel_activate(k), RK_OK);
    while (got < cap) {
      size_t n = 0;
      assert_int_equal(rk_kernel_recv_batch(k, T_RESP, r + got, sizeof *r,
                                            cap - got, 2000000000LL, NULL,
                                            NULL, &n), RK_OK);
      got += n;
    }
    for (uint32_t i = 0; i < cap; i++)
      assert_true(r[i].seq == i && r[i].tag == i && req_ok(&r[i]));
    rk_kernel_stats f;
    assert_int_equal(rk_kernel_terminate(k, &f), RK_OK);
    assert_int_equal(f.received, cap);
    assert_int_equal(f.handled, cap);
    assert_int_equal(f.unhandled, 0);
    free(q);
    free(r);
  }
  rk_runtime_destroy(rt);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A full queue: send waits its timeout (not less, not much more), returns
** RK_E_TIMEOUT, and every message accepted before is still answered. */
static void test_edges_full_queue_times_out_without_dropping(void **st) {
  const uint32_t cap = 16;
  const int64_t tmo = 30000000; /* 30 ms */
  const uint64_t margin = 150000000; /* a loaded 2-core machine */
  rk_runtime *rt = make_rt("Bank", 1);
  rk_kernel_desc d;
  rk_status s;
  rk_kernel *k = launch_bank(rt, cap, &s, &d);
  assert_int_equal(s, RK_OK);
  assert_int_equal(rk_kernel_deactivate(k), RK_OK);
  Req q;
  for (uint32_t i = 0; i < cap; i++) {
    fill_req(&q, 0, i, i);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, 0, NULL),
                     RK_OK);
  }
  fill_req(&q, 0, cap, cap);
  uint64_t t0 = now_ns();
  assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, tmo, NULL),
                   RK_E_TIMEOUT);
  uint64_t dt = now_ns() - t0;
  assert_true(dt >= (uint64_t)tmo && dt < (uint64_t)tmo + margin);
  Req batch[4];
  size_t sent = 99;
  t0 = now_ns();
  assert_int_equal(rk_kernel_send_batch(k, T_REQ, NULL, batch, sizeof(Req),
                                        4, tmo, NULL, &sent), RK_E_TIMEOUT);
  dt = now_ns() - t0;
  assert_int_equal(sent, 0);
  assert_true(dt >= (uint64_t)tmo && dt < (uint64_t)tmo + margin);
  rk_kernel_stats ks;
  assert_int_equal(rk_kernel_stats_get(k, &ks), RK_OK);
  assert_int_equal(ks.received, cap);
  assert_int_equal(ks.queue_depth, cap);
  assert_int_equal(rk_kernel_activate(k), RK_OK);
  for (uint32_t i = 0; i < cap; i++) {
    Resp r;
    assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, 2000000000LL,
                                    NULL), RK_OK);
    assert_true(r.seq == i && req_ok(&r));
  }
  Resp r;
  assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, 0, NULL),
                   RK_E_TIMEOUT);
  rk_kernel_stats f;
  assert_int_equal(rk_kernel_terminate(k, &f), RK_OK);
  assert_int_equal(f.received, cap);
  assert_int_equal(f.handled, cap);
  assert_int_equal(f.replied, cap);
  assert_int_equal(f.unhandled, 0);
  rk_runtime_destroy(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edges_lane_every_capacity),
      cmocka_unit_test(test_edges_output_lane_wraps),
      cmocka_unit_test(test_edges_depth_across_wrap),
      cmocka_unit_test(test_edges_launch_refuses_bad_capacity),
      cmocka_unit_test(test_edges_config_refuses_bad_capacity),
      cmocka_unit_test(test_edges_launch_every_capacity),
      cmocka_unit_test(test_edges_full_queue_times_out_without_dropping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
