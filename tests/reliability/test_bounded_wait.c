/* SPDX-License-Identifier: MIT */
/*
** test_bounded_wait.c: every wait is bounded. A test hook in kernel.c
** (built here with -DRK_TEST_HOOKS) stops one sender after it claimed a
** slot and before it published it; the worker then waits at that slot.
** Every other sender and receiver must get RK_E_TIMEOUT within its
** deadline (plus a margin), terminate must return within its bound with
** received = handled + unhandled, and a released sender lets all flow.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>

#include "../runtime/kdesc.h"

/* kernel.c's hook (RK_TEST_HOOKS). */
extern void (*rk__test_hook_claimed)(rk_kernel *k, uint32_t lane,
                                     uint64_t pos, uint32_t n);

#define CAP 8u
#define TMO_NS 50000000LL        /* the waiters' timeout: 50 ms */
#define MARGIN_NS 200000000ull   /* scheduling on a loaded 2-core box */
#define TERM_BOUND_NS 1000000000ull /* RK_TERM_STALL_NS in kernel.c */

static _Thread_local int is_victim;
static sem_t stalled, resume;

static void stall_hook(rk_kernel *k, uint32_t lane, uint64_t pos,
                       uint32_t n) {
  if (!is_victim)
    return;
  sem_post(&stalled);
  while (sem_wait(&resume) != 0)
    ;
}

typedef struct victim_arg {
  rk_kernel *k;
  uint32_t seq;
  rk_status s;
} victim_arg;

static void *victim(void *p) {
  victim_arg *a = p;
  Req q;
  fill_req(&q, 0, a->seq, a->seq);
  is_victim = 1;
  a->s = rk_kernel_send(a->k, T_REQ, 0, &q, sizeof q, -1, NULL);
  return NULL;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

typedef struct waiter {
  rk_kernel *k;
  int recv;           /* 1: receive, 0: send */
  rk_status s;
  uint64_t took_ns;
} waiter;

static void *wait_one(void *p) {
  waiter *w = p;
  uint64_t t0 = now_ns();
  if (w->recv) {
    Resp r;
    w->s = rk_kernel_recv(w->k, T_RESP, &r, sizeof r, TMO_NS, NULL);
  } else {
    Req q;
    fill_req(&q, 0, 999, 999);
    w->s = rk_kernel_send(w->k, T_REQ, 0, &q, sizeof q, TMO_NS, NULL);
  }
  w->took_ns = now_ns() - t0;
  return NULL;
}

/* Launches Bank (1 actor, CAP slots), has 3 messages handled and answered,
** stalls a victim on the 4th, then fills the rest of the lane (CAP - 1). */
static rk_kernel *stall_setup(rk_runtime **rt, pthread_t *vt,
                              victim_arg *va) {
  static rk_kernel_desc d;
  rk_kernel *k = NULL;
  d = bank_desc(1, CAP);
  *rt = make_rt("Bank", 1);
  assert_non_null(*rt);
  assert_int_equal(rk_kernel_launch(*rt, &d, &k), RK_OK);
  Req q;
  Resp r;
  for (uint32_t i = 0; i < 3; i++) {
    fill_req(&q, 0, i, i);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, NULL),
                     RK_OK);
    assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, 2000000000LL,
                                    NULL), RK_OK);
    assert_int_equal(r.seq, i);
  }
  sem_init(&stalled, 0, 0);
  sem_init(&resume, 0, 0);
  rk__test_hook_claimed = stall_hook;
  va->k = k;
  va->seq = 3;
  assert_int_equal(pthread_create(vt, NULL, victim, va), 0);
  while (sem_wait(&stalled) != 0)
    ;
  for (uint32_t i = 4; i < 4 + CAP - 1; i++) {
    fill_req(&q, 0, i, i);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, 0, NULL),
                     RK_OK);
  }
  return k;
}

/* Two senders and two receivers wait at once; each must time out. */
static void expect_waiters_time_out(rk_kernel *k) {
  waiter w[4] = {{k, 0, 0, 0}, {k, 0, 0, 0}, {k, 1, 0, 0}, {k, 1, 0, 0}};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, wait_one, &w[i]), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    print_message("%s: %s after %.1f ms\n", w[i].recv ? "recv" : "send",
                  rk_status_str(w[i].s), (double)w[i].took_ns / 1e6);
    assert_int_equal(w[i].s, RK_E_TIMEOUT);
    assert_true(w[i].took_ns >= (uint64_t)TMO_NS);
    assert_true(w[i].took_ns < (uint64_t)TMO_NS + MARGIN_NS);
  }
}

static void test_bounded_wait_stalled_sender_then_terminate(void **st) {
  rk_runtime *rt;
  pthread_t vt;
  victim_arg va;
  rk_kernel *k = stall_setup(&rt, &vt, &va);
  expect_waiters_time_out(k);
  rk_kernel_stats ks;
  assert_int_equal(rk_kernel_stats_get(k, &ks), RK_OK);
  assert_int_equal(ks.received, 3 + CAP);
  assert_int_equal(ks.handled, 3);
  assert_int_equal(ks.queue_depth, CAP);

  uint64_t t0 = now_ns();
  rk_kernel_stats f;
  rk_status s = rk_kernel_terminate(k, &f);
  uint64_t took = now_ns() - t0;
  print_message("terminate: %s after %.1f ms (%s)\n", rk_status_str(s),
                (double)took / 1e6, rk_error_detail());
  /* The stalled call is reported, not waited on for ever. */
  assert_int_equal(s, RK_E_TIMEOUT);
  assert_true(took < TERM_BOUND_NS + MARGIN_NS);
  assert_int_equal(f.received, 3 + CAP);
  assert_int_equal(f.handled, 3);
  assert_int_equal(f.unhandled, CAP);
  assert_int_equal(f.received, f.handled + f.unhandled);
  /* Later calls answer at once. */
  Req q;
  fill_req(&q, 0, 0, 0);
  assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, NULL),
                   RK_E_TERMINATED);
  /* The victim finishes its send (accepted before terminate: counted as
  ** unhandled above); it must leave before the runtime is destroyed. */
  sem_post(&resume);
  pthread_join(vt, NULL);
  assert_int_equal(va.s, RK_OK);
  rk__test_hook_claimed = NULL;
  sem_destroy(&stalled);
  sem_destroy(&resume);
  rk_runtime_destroy(rt);
}

static void test_bounded_wait_stalled_sender_resumes(void **st) {
  rk_runtime *rt;
  pthread_t vt;
  victim_arg va;
  rk_kernel *k = stall_setup(&rt, &vt, &va);
  expect_waiters_time_out(k);
  sem_post(&resume); /* the gap is filled: everything behind it flows */
  pthread_join(vt, NULL);
  assert_int_equal(va.s, RK_OK);
  rk__test_hook_claimed = NULL;
  sem_destroy(&stalled);
  sem_destroy(&resume);
  for (uint32_t i = 3; i < 3 + CAP; i++) {
    Resp r;
    assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, 2000000000LL,
                                    NULL), RK_OK);
    assert_int_equal(r.seq, i); /* in order, none lost, state intact */
    assert_true(req_ok(&r));
  }
  rk_kernel_stats f;
  assert_int_equal(rk_kernel_terminate(k, &f), RK_OK);
  assert_int_equal(f.received, 3 + CAP);
  assert_int_equal(f.handled, 3 + CAP);
  assert_int_equal(f.unhandled, 0);
  rk_runtime_destroy(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bounded_wait_stalled_sender_then_terminate),
      cmocka_unit_test(test_bounded_wait_stalled_sender_resumes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
