/* SPDX-License-Identifier: MIT */
/*
** test_ll_host.c: the host half of the CUDA backend's protocol without a
** GPU. kernel.c (built here with -DRK_TEST_HOOKS) runs its kernels on the
** LL stand-in of ll_standin.h (LL lanes as the CUDA backend's, a host
** thread per lane as the device, answers landing word by word in a
** scrambled order). So send, send_batch, recv and
** recv_batch on LL lanes (claims, LL encoding, readiness of half-written
** answers, status and fail codes, multi-consumer takes, terminate's
** counts) run in CI, under ASan+UBSan and TSan too. Checked: every answer
** once, whole and in each actor's order (the Bank handler checks the order
** against its state), RK_E_HANDLER with the handler's code, statuses of a
** batch, and received = handled at the end.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ll_standin.h"

static int setup(void **st) {
  (void)st;
  rk__test_ops = &dev_ops;
  return 0;
}

#define TMO 2000000000LL

static void test_ll_round_trips_in_actor_order(void **st) {
  (void)st;
  rk_kernel_desc d = bank_desc(16, 256);
  rk_runtime *rt = make_rt("Bank", 0);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  uint32_t seq[16] = {0};
  for (uint32_t i = 0; i < 3000; i++) {
    uint32_t a = (i * 7) % 16;
    Req q, r;
    fill_req(&q, a, seq[a]++, 0x100000ull + i);
    uint64_t c1 = 0, c2 = 0;
    assert_int_equal(rk_kernel_send(k, T_REQ, a, &q, sizeof q, TMO, &c1),
                     RK_OK);
    assert_int_equal(rk_kernel_recv(k, T_RESP, &r, sizeof r, TMO, &c2),
                     RK_OK);
    assert_true(c1 == c2);
    assert_memory_equal(&q, &r, sizeof q); /* seq 0xffffffff: order broken */
  }
  rk_kernel_stats fin;
  assert_int_equal(rk_kernel_terminate(k, &fin), RK_OK);
  assert_int_equal(fin.received, 3000);
  assert_int_equal(fin.handled, 3000);
  assert_int_equal(fin.replied, 3000);
  assert_int_equal(fin.unhandled, 0);
  rk_runtime_destroy(rt);
}

static void test_ll_failures_and_batch_statuses(void **st) {
  (void)st;
  rk_kernel_desc d = bank_desc(4, 64);
  rk_runtime *rt = make_rt("Bank", 0);
  rk_kernel *k;
  assert_int_equal(rk_kernel_launch(rt, &d, &k), RK_OK);
  FailReq f = {-4242, 0};
  assert_int_equal(rk_kernel_send(k, T_FAIL, 1, &f, sizeof f, TMO, NULL),
                   RK_OK);
  Resp r[3];
  assert_int_equal(rk_kernel_recv(k, T_RESP, &r[0], sizeof r[0], TMO, NULL),
                   RK_E_HANDLER);
  assert_non_null(strstr(rk_error_detail(), "-4242"));
  /* one actor: request, failure, request arrive in this order */
  Req q0, q2;
  fill_req(&q0, 2, 0, 77);
  fill_req(&q2, 2, 1, 78);
  f.code = 9;
  assert_int_equal(rk_kernel_send(k, T_REQ, 2, &q0, sizeof q0, TMO, NULL),
                   RK_OK);
  assert_int_equal(rk_kernel_send(k, T_FAIL, 2, &f, sizeof f, TMO, NULL),
                   RK_OK);
  assert_int_equal(rk_kernel_send(k, T_REQ, 2, &q2, sizeof q2, TMO, NULL),
                   RK_OK);
  rk_status sts[3];
  uint64_t corr[3];
  size_t got = 0, all = 0;
  while (all < 3) {
    assert_int_equal(rk_kernel_recv_batch(k, T_RESP, &r[all], sizeof r[0],
                                          3 - all, TMO, corr + all,
                                          sts + all, &got),
                     RK_OK);
    all += got;
  }
  assert_int_equal(sts[0], RK_OK);
  assert_int_equal(sts[1], RK_E_HANDLER);
  assert_int_equal(sts[2], RK_OK);
  assert_true(corr[0] < corr[1] && corr[1] < corr[2]);
  assert_memory_equal(&r[0], &q0, sizeof q0);
  assert_memory_equal(&r[2], &q2, sizeof q2);
  rk_kernel_stats fin;
  assert_int_equal(rk_kernel_terminate(k, &fin), RK_OK);
  assert_int_equal(fin.handled, 4);
  assert_int_equal(fin.failed, 2);
  assert_int_equal(fin.unhandled, 0);
  rk_runtime_destroy(rt);
}

/* ---- two senders with batches, two receivers ---- */

#define MT_ACTORS 64u
#define MT_PER 20000u /* messages per sender */
#define MT_BATCH 50u

static struct {
  rk_kernel *k;
  _Atomic uint32_t got, bad;
  _Atomic uint8_t seen[2 * MT_PER];
} MT;

static void *mt_sender(void *arg) {
  uint32_t s = (uint32_t)(uintptr_t)arg; /* actors with a % 2 == s */
  uint32_t seq[MT_ACTORS] = {0};
  Req q[MT_BATCH];
  uint32_t actors[MT_BATCH];
  for (uint32_t i = 0; i < MT_PER; i += MT_BATCH) {
    for (uint32_t j = 0; j < MT_BATCH; j++) {
      uint32_t a = (2u * ((i + j) * 5u % (MT_ACTORS / 2u)) + s);
      actors[j] = a;
      fill_req(&q[j], a, seq[a]++, (uint64_t)s * MT_PER + i + j);
    }
    size_t sent = 0;
    if (rk_kernel_send_batch(MT.k, T_REQ, actors, q, sizeof q[0], MT_BATCH,
                             TMO, NULL, &sent) != RK_OK ||
        sent != MT_BATCH)
      atomic_fetch_add(&MT.bad, 1);
  }
  return NULL;
}

static void *mt_receiver(void *arg) {
  (void)arg;
  Resp r[32];
  while (atomic_load(&MT.got) < 2 * MT_PER) {
    size_t got = 0;
    rk_status s = rk_kernel_recv_batch(MT.k, T_RESP, r, sizeof r[0], 32,
                                       10000000, NULL, NULL, &got);
    if (s == RK_E_TIMEOUT)
      continue;
    if (s != RK_OK) {
      atomic_fetch_add(&MT.bad, 1);
      break;
    }
    for (size_t j = 0; j < got; j++) {
      uint64_t tag = r[j].tag;
      if (!req_ok(&r[j]) || r[j].seq == 0xffffffffu || tag >= 2 * MT_PER ||
          atomic_exchange(&MT.seen[tag], 1) != 0)
        atomic_fetch_add(&MT.bad, 1);
    }
    atomic_fetch_add(&MT.got, (uint32_t)got);
  }
  return NULL;
}

static void test_ll_batches_two_senders_two_receivers(void **st) {
  (void)st;
  rk_kernel_desc d = bank_desc(MT_ACTORS, 256);
  rk_runtime *rt = make_rt("Bank", 0);
  assert_int_equal(rk_kernel_launch(rt, &d, &MT.k), RK_OK);
  atomic_store(&MT.got, 0);
  atomic_store(&MT.bad, 0);
  pthread_t th[4];
  for (uintptr_t i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, mt_sender, (void *)i), 0);
  for (int i = 2; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, mt_receiver, NULL), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&MT.bad), 0);
  assert_int_equal(atomic_load(&MT.got), 2 * MT_PER);
  for (uint32_t t = 0; t < 2 * MT_PER; t++)
    assert_int_equal(MT.seen[t], 1);
  rk_kernel_stats fin;
  assert_int_equal(rk_kernel_terminate(MT.k, &fin), RK_OK);
  assert_int_equal(fin.received, 2 * MT_PER);
  assert_int_equal(fin.handled, 2 * MT_PER);
  assert_int_equal(fin.unhandled, 0);
  rk_runtime_destroy(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ll_round_trips_in_actor_order),
      cmocka_unit_test(test_ll_failures_and_batch_statuses),
      cmocka_unit_test(test_ll_batches_two_senders_two_receivers),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
