/* SPDX-License-Identifier: MIT */
/*
** test_soak.c: the kernel lifecycle over and over on the CPU backend:
** runtime create, launch, traffic, deactivate (messages queue up),
** activate, more traffic, terminate (active or inactive), destroy. Each
** cycle asserts received = handled + unhandled against the sends it made
** and every response it got; run under ASan+LSan for leaks. RK_SOAK_N sets
** the cycles (default 1,000).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdlib.h>

#include "../runtime/kdesc.h"

#define ACTORS 4u

static uint32_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)*s;
}

/* Sends n requests to random actors with per-actor seq; returns how many
** were accepted (a full queue refuses with RK_E_TIMEOUT, nothing else). */
static uint32_t traffic(rk_kernel *k, uint32_t n, uint32_t *seq,
                        uint64_t *s) {
  uint32_t ok = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t a = rnd(s) % ACTORS;
    Req q;
    fill_req(&q, a, seq[a], (uint64_t)a << 32 | seq[a]);
    rk_status st = rk_kernel_send(k, T_REQ, a, &q, sizeof q, 0, NULL);
    assert_true(st == RK_OK || st == RK_E_TIMEOUT);
    if (st == RK_OK) {
      seq[a]++;
      ok++;
    }
  }
  return ok;
}

/* Receives what is there (up to max, a short wait); checks each answer. */
static uint32_t drain(rk_kernel *k, uint32_t max, int64_t tmo) {
  Resp r[64];
  uint32_t got = 0;
  while (got < max) {
    size_t n = 0;
    size_t want = max - got < 64 ? max - got : 64;
    rk_status st = rk_kernel_recv_batch(k, T_RESP, r, sizeof r[0], want, tmo,
                                        NULL, NULL, &n);
    if (st == RK_E_TIMEOUT)
      break;
    assert_int_equal(st, RK_OK);
    for (size_t i = 0; i < n; i++)
      assert_true(r[i].seq != 0xffffffffu && req_ok(&r[i]));
    got += (uint32_t)n;
  }
  return got;
}

static void one_cycle(uint32_t cycle, uint64_t *s) {
  rk_kernel_desc d = bank_desc(ACTORS, 64);
  rk_runtime *rt = make_rt("Bank", 1 + cycle % 2);
  assert_non_null(rt);
  rk_kernel *k = NULL;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  uint32_t seq[ACTORS] = {0};
  uint64_t sent = traffic(k, 1 + rnd(s) % 40, seq, s), got = 0;
  got += drain(k, (uint32_t)sent, 2000000000LL); /* all answered */
  assert_int_equal(got, sent);
  assert_int_equal(rk_kernel_deactivate(k), RK_OK);
  sent += traffic(k, rnd(s) % 40, seq, s); /* queued, not handled */
  if (cycle % 3 != 2) {
    assert_int_equal(rk_kernel_activate(k), RK_OK);
    sent += traffic(k, rnd(s) % 20, seq, s);
    got += drain(k, rnd(s) % 8, 1000000LL); /* some, not all */
    if (cycle % 3 == 1) { /* and once more inactive, with traffic */
      assert_int_equal(rk_kernel_deactivate(k), RK_OK);
      sent += traffic(k, rnd(s) % 10, seq, s);
    }
  }
  rk_kernel_stats f;
  assert_int_equal(rk_kernel_terminate(k, &f), RK_OK);
  assert_int_equal(f.received, sent);
  assert_int_equal(f.received, f.handled + f.unhandled);
  assert_true(f.handled >= got);
  assert_true(f.replied <= f.handled);
  if (cycle % 3 == 0) /* terminated while active: everything handled */
    assert_int_equal(f.unhandled, 0);
  assert_int_equal(rk_kernel_terminate(k, &f), RK_E_TERMINATED);
  assert_int_equal(rk_kernel_activate(k), RK_E_TERMINATED);
  rk_runtime_destroy(rt);
}

static void test_soak_lifecycle_cycles(void **st) {
  const char *env = getenv("RK_SOAK_N");
  uint32_t n = env && *env ? (uint32_t)strtoul(env, NULL, 10) : 1000u;
  uint64_t s = 0x5eed;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (uint32_t c = 0; c < n; c++)
    one_cycle(c, &s);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  print_message("%" PRIu32 " cycles in %.2f s\n", n,
                (double)(t1.tv_sec - t0.tv_sec) +
                    (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_soak_lifecycle_cycles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
