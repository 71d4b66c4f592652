/* SPDX-License-Identifier: MIT */
/*
** test_runtime_cpu.c: the execution model on the CPU backend: per-actor
** order with 8 sending threads over thousands of actors, state isolation,
** stateless kernels handled by several workers at once, handler failures,
** rk_no_reply, one-way messages and the batch calls.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "kdesc.h"

#define ACTORS 4096u
#define SENDERS 8u

static struct {
  rk_kernel *k;
  uint32_t per_sender;
  _Atomic int errors;
} O;

/* Sender t owns actors a with a % SENDERS == t, so it knows each one's
** sequence; it mixes single sends and batches of 16. */
static void *order_sender(void *arg) {
  uint32_t t = (uint32_t)(uintptr_t)arg, mine = ACTORS / SENDERS;
  uint32_t *seq = calloc(mine, sizeof *seq);
  Req batch[16];
  uint32_t actors[16];
  uint32_t i = 0;
  while (i < O.per_sender) {
    uint32_t n = (i / 16) % 2 ? 16 : 1;
    if (n > O.per_sender - i)
      n = O.per_sender - i;
    for (uint32_t j = 0; j < n; j++) {
      uint32_t slot = (i + j) * 7919u % mine; /* a scattered walk */
      actors[j] = slot * SENDERS + t;
      fill_req(&batch[j], actors[j], seq[slot]++,
               (uint64_t)t << 40 | (i + j));
    }
    size_t sent = 0;
    rk_status s = n == 1 ? rk_kernel_send(O.k, T_REQ, actors[0], &batch[0],
                                          sizeof(Req), -1, NULL)
                         : rk_kernel_send_batch(O.k, T_REQ, actors, batch,
                                                sizeof(Req), n, -1, NULL,
                                                &sent);
    if (s != RK_OK)
      atomic_fetch_add(&O.errors, 1);
    i += n;
  }
  free(seq);
  return NULL;
}

static void test_cpu_per_actor_order_8_senders(void **st) {
  rk_runtime *rt = make_rt("Bank", 4);
  rk_kernel_desc d = bank_desc(ACTORS, 4096);
  assert_int_equal(rk_kernel_launch(rt, &d, &O.k), RK_OK);
  const char *env = getenv("RK_STRESS_N");
  uint32_t total = env ? (uint32_t)strtoul(env, NULL, 10) : 160000u;
  O.per_sender = total / SENDERS;
  pthread_t th[SENDERS];
  for (uintptr_t t = 0; t < SENDERS; t++)
    pthread_create(&th[t], NULL, order_sender, (void *)t);
  uint32_t *next = calloc(ACTORS, sizeof *next);
  uint64_t got = 0, want = (uint64_t)O.per_sender * SENDERS;
  Resp r[64];
  uint64_t corr[64], last_corr[ACTORS] = {0};
  while (got < want) {
    size_t n = 0;
    assert_int_equal(rk_kernel_recv_batch(O.k, T_RESP, r, sizeof(Resp), 64,
                                          2000000000, corr, NULL, &n),
                     RK_OK);
    for (size_t j = 0; j < n; j++) {
      assert_true(r[j].actor < ACTORS);
      assert_int_equal(r[j].seq, next[r[j].actor]); /* in order, none lost */
      assert_true(req_ok(&r[j]));
      assert_true(corr[j] > last_corr[r[j].actor]); /* ids increase */
      last_corr[r[j].actor] = corr[j];
      next[r[j].actor]++;
    }
    got += n;
  }
  for (uint32_t t = 0; t < SENDERS; t++)
    pthread_join(th[t], NULL);
  assert_int_equal(atomic_load(&O.errors), 0);
  rk_kernel_stats s;
  assert_int_equal(rk_kernel_terminate(O.k, &s), RK_OK);
  assert_int_equal(s.grid, 4);
  assert_int_equal(s.received, want);
  assert_int_equal(s.handled, want);
  assert_int_equal(s.unhandled, 0);
  free(next);
  rk_runtime_destroy(rt);
}

/* Two kernels of the same schema and many actors: no state is shared. */
static void test_cpu_state_isolation_between_actors(void **st) {
  rk_runtime *rt = make_rt("Bank", 3);
  rk_kernel_desc d = bank_desc(100, 256);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  for (uint32_t round = 0; round < 5; round++)
    for (uint32_t a = 0; a < 100; a++) {
      OneWay w = {a + 1}; /* actor a's sum becomes 5 * (a + 1) */
      assert_int_equal(rk_kernel_send(k, T_ONEWAY, a, &w, sizeof w, -1,
                                      NULL), RK_OK);
    }
  for (uint32_t a = 0; a < 100; a++) {
    Req q;
    fill_req(&q, a, 0, a);
    assert_int_equal(rk_kernel_send(k, T_REQ, a, &q, sizeof q, -1, NULL),
                     RK_OK);
  }
  for (uint32_t a = 0; a < 100; a++) {
    Resp r;
    assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, -1, NULL),
                     RK_OK);
    assert_int_equal(r.seq, 0); /* each actor's first Req: its own state */
  }
  rk_kernel_stats s;
  assert_int_equal(rk_kernel_terminate(k, &s), RK_OK);
  assert_int_equal(s.handled, 600);
  assert_int_equal(s.replied, 100); /* one-way messages have no reply */
  rk_runtime_destroy(rt);
}

static void test_cpu_stateless_runs_on_several_workers(void **st) {
  rk_runtime *rt = make_rt("Pool", 4);
  rk_kernel_desc d = pool_desc(256);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  atomic_store(&pool_max_running, 0);
  Work w[64];
  for (uint32_t i = 0; i < 64; i++)
    w[i] = (Work){i, 300, 0};
  size_t sent = 0;
  assert_int_equal(rk_kernel_send_batch(k, T_WORK, NULL, w, sizeof(Work), 64,
                                        -1, NULL, &sent), RK_OK);
  assert_int_equal(sent, 64);
  uint32_t workers = 0;
  uint8_t seen[64] = {0};
  for (uint32_t i = 0; i < 64; i++) {
    Done r;
    assert_int_equal(rk_kernel_recv(k, T_DONE, &r, sizeof r, -1, NULL),
                     RK_OK);
    assert_true(r.tag < 64 && r.worker < 4);
    assert_int_equal(seen[r.tag]++, 0);
    workers |= 1u << r.worker;
  }
  assert_true(__builtin_popcount(workers) >= 2);
  assert_true(atomic_load(&pool_max_running) >= 2); /* at the same time */
  rk_kernel_stats s;
  assert_int_equal(rk_kernel_stats_get(k, &s), RK_OK);
  assert_int_equal(s.grid, 4);
  rk_runtime_destroy(rt);
}

static void test_cpu_handler_fail_and_no_reply(void **st) {
  rk_runtime *rt = make_rt("Bank", 0);
  rk_kernel_desc d = bank_desc(1, 64);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  FailReq f = {42, 0};
  Quiet qu = {1, 0};
  Req q;
  Resp r;
  uint64_t cf = 0, cq = 0, rc = 0;
  assert_int_equal(rk_kernel_send(k, T_FAIL, 0, &f, sizeof f, -1, &cf),
                   RK_OK);
  assert_int_equal(rk_kernel_send(k, T_QUIET, 0, &qu, sizeof qu, -1, NULL),
                   RK_OK);
  fill_req(&q, 0, 0, 9);
  assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, &cq),
                   RK_OK);
  assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, -1, &rc),
                   RK_E_HANDLER);
  assert_int_equal(rc, cf);
  assert_non_null(strstr(rk_error_detail(), "handler failed with code 42"));
  assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, -1, &rc), RK_OK);
  assert_int_equal(rc, cq); /* the quiet one produced nothing */
  assert_int_equal(r.tag, 9);
  assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, 0, NULL),
                   RK_E_TIMEOUT);
  rk_kernel_stats s;
  assert_int_equal(rk_kernel_stats_get(k, &s), RK_OK);
  assert_int_equal(s.handled, 3);
  assert_int_equal(s.replied, 2);
  assert_int_equal(s.failed, 1);
  rk_runtime_destroy(rt);
}

static void test_cpu_recv_batch_statuses(void **st) {
  rk_runtime *rt = make_rt("Bank", 0);
  rk_kernel_desc d = bank_desc(1, 64);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  FailReq f = {-7, 0};
  Req q;
  Resp r[4];
  rk_status sts[4];
  size_t got = 0;
  for (int round = 0; round < 2; round++) {
    fill_req(&q, 0, (uint32_t)round * 2, 1);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, NULL),
                     RK_OK);
    assert_int_equal(rk_kernel_send(k, T_FAIL, 0, &f, sizeof f, -1, NULL),
                     RK_OK);
    fill_req(&q, 0, (uint32_t)round * 2 + 1, 2);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, NULL),
                     RK_OK);
  }
  /* wait until all six are answered */
  rk_kernel_stats s;
  do
    assert_int_equal(rk_kernel_stats_get(k, &s), RK_OK);
  while (s.handled < 6);
  assert_int_equal(rk_kernel_recv_batch(k, T_RESP, r, sizeof(Resp), 3, -1,
                                        NULL, sts, &got), RK_OK);
  assert_int_equal(got, 3);
  assert_int_equal(sts[0], RK_OK);
  assert_int_equal(sts[1], RK_E_HANDLER);
  assert_int_equal(sts[2], RK_OK);
  /* without statuses: stops before the failed one, then returns it alone */
  assert_int_equal(rk_kernel_recv_batch(k, T_RESP, r, sizeof(Resp), 4, -1,
                                        NULL, NULL, &got), RK_OK);
  assert_int_equal(got, 1);
  assert_int_equal(rk_kernel_recv_batch(k, T_RESP, r, sizeof(Resp), 4, -1,
                                        NULL, NULL, &got), RK_E_HANDLER);
  assert_int_equal(got, 1);
  assert_non_null(strstr(rk_error_detail(), "code -7"));
  assert_int_equal(rk_kernel_recv_batch(k, T_RESP, r, sizeof(Resp), 4, -1,
                                        NULL, NULL, &got), RK_OK);
  assert_int_equal(got, 1);
  rk_runtime_destroy(rt);
}

/* A receive batch gathers from every worker's lane, and keeps the
** contract without statuses: a failed response comes back alone, never
** after good ones from another lane. Actor 0 (worker 0) answers well;
** actor 1 (worker 1) fails first, then answers well. Four rounds, so the
** receiver's starting lane (it rotates per call) is each lane. */
static void test_cpu_recv_batch_failed_alone_across_lanes(void **st) {
  rk_runtime *rt = make_rt("Bank", 2);
  rk_kernel_desc d = bank_desc(2, 64);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  FailReq f = {-9, 0};
  Req q;
  Resp r[4];
  for (uint32_t round = 0; round < 4; round++) {
    fill_req(&q, 0, round, 1);
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, NULL),
                     RK_OK);
    assert_int_equal(rk_kernel_send(k, T_FAIL, 1, &f, sizeof f, -1, NULL),
                     RK_OK);
    fill_req(&q, 1, round, 1);
    assert_int_equal(rk_kernel_send(k, T_REQ, 1, &q, sizeof q, -1, NULL),
                     RK_OK);
    rk_kernel_stats s;
    do
      assert_int_equal(rk_kernel_stats_get(k, &s), RK_OK);
    while (s.handled < 3 * (round + 1));
    size_t good = 0, failed = 0;
    while (good + failed < 3) {
      size_t got = 0;
      rk_status rs = rk_kernel_recv_batch(k, T_RESP, r, sizeof(Resp), 4, -1,
                                          NULL, NULL, &got);
      if (rs == RK_E_HANDLER) {
        assert_int_equal(got, 1); /* alone */
        failed++;
      } else {
        assert_int_equal(rs, RK_OK);
        assert_true(got >= 1);
        for (size_t i = 0; i < got; i++)
          assert_int_equal(r[i].seq, round);
        good += got;
      }
    }
    assert_int_equal(good, 2);
    assert_int_equal(failed, 1);
  }
  rk_runtime_destroy(rt);
}

static uint64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct waiter { rk_kernel *k; rk_status s; uint64_t t_done; Resp r; };
static void *sleepy_recv(void *arg) {
  struct waiter *w = arg;
  w->s = rk_kernel_recv(w->k, T_RESP, &w->r, sizeof w->r, -1, NULL);
  w->t_done = mono_ns();
  return NULL;
}

/* Worker and receiver both idle long enough to sleep on their futexes;
** one send wakes the worker, whose response wakes the receiver. */
static void test_cpu_sleeping_worker_and_receiver_wake(void **st) {
  rk_runtime *rt = make_rt("Bank", 0);
  rk_kernel_desc d = bank_desc(1, 64);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  for (uint32_t i = 0; i < 20; i++) {
    struct waiter w = {k, RK_E_INVALID, 0, {0}};
    pthread_t th;
    pthread_create(&th, NULL, sleepy_recv, &w);
    struct timespec ts = {0, 2000000}; /* 2 ms: both are asleep */
    nanosleep(&ts, NULL);
    Req q;
    fill_req(&q, 0, i, i);
    uint64_t t0 = mono_ns();
    assert_int_equal(rk_kernel_send(k, T_REQ, 0, &q, sizeof q, -1, NULL),
                     RK_OK);
    pthread_join(th, NULL);
    assert_int_equal(w.s, RK_OK);
    assert_int_equal(w.r.seq, i);
    assert_true(w.t_done - t0 < 1000000000u); /* woken, not timed out */
  }
  rk_runtime_destroy(rt);
}

int main(void) {
  unsetenv("RK_CONFIG");
  unsetenv("RK_BACKEND");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpu_per_actor_order_8_senders),
      cmocka_unit_test(test_cpu_state_isolation_between_actors),
      cmocka_unit_test(test_cpu_stateless_runs_on_several_workers),
      cmocka_unit_test(test_cpu_handler_fail_and_no_reply),
      cmocka_unit_test(test_cpu_recv_batch_statuses),
      cmocka_unit_test(test_cpu_recv_batch_failed_alone_across_lanes),
      cmocka_unit_test(test_cpu_sleeping_worker_and_receiver_wake),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
