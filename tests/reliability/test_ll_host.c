/* SPDX-License-Identifier: MIT */
/*
** test_ll_host.c: the host half of the CUDA backend's protocol without a
** GPU. kernel.c (built here with -DRK_TEST_HOOKS) runs its kernels on a
** stand-in backend whose lanes are LL lanes (runtime/ring.h), as the CUDA
** backend's are, and whose "device" is one host thread per lane: it reads
** each request from its LL slot, runs the kernel's own dispatch, and
** writes the answer word by word in a scrambled order with relaxed stores,
** as the device's I/O warp may land them. So send, send_batch, recv and
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

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "../runtime/kdesc.h"
#include "queue.h"

/* kernel.c's hook (RK_TEST_HOOKS). */
extern const rk_backend_ops *rk__test_ops;

#define DEV_GRID 4u
#define DEV_MAX_OUT 4u

typedef struct dev_impl {
  pthread_t th[DEV_GRID];
  _Atomic uint32_t exited[DEV_GRID];
  _Atomic uint32_t ev;
  uint32_t started, joined;
} dev_impl;

typedef struct dev_arg {
  rk_kernel *k;
  uint32_t w;
} dev_arg;
static dev_arg dev_args[DEV_GRID];

/* The answer's word i: header words, then the payload. */
static uint32_t answer_word(uint32_t i, uint64_t corr, uint32_t rt,
                            uint32_t status, int32_t code, uint32_t size,
                            const uint8_t *resp) {
  switch (i) {
  case 0: return (uint32_t)corr;
  case 1: return (uint32_t)(corr >> 32);
  case 2: return rt;
  case 3: return status;
  case 4: return (uint32_t)code;
  case 5: return size;
  }
  uint32_t d = 0, off = 4u * (i - RK_LL_HDR_WORDS);
  if (off < size)
    memcpy(&d, resp + off, size - off < 4u ? size - off : 4u);
  return d;
}

static void *device_main(void *arg) {
  dev_arg *a = arg;
  rk_kernel *k = a->k;
  const rk_kernel_desc *d = k->desc;
  dev_impl *m = k->impl;
  rk_lane *in = &k->in[a->w];
  uint64_t pos = 0, opos[DEV_MAX_OUT] = {0}, ohead[DEV_MAX_OUT] = {0};
  uint64_t handled = 0, replied = 0, failed = 0;
  uint8_t req[256], resp[256];
  rk_worker_status *ws = &k->wstat[a->w];
  for (;;) {
    if (rk__ld_rlx32(&k->ctl->abort)) /* relaxed: a flag */
      break;
    /* acquire: pairs with the release of stop in stop_workers, so a lane
    ** found empty after it is empty for good */
    uint32_t stop = rk__ld_acq32(&k->ctl->stop);
    if (!rk__ld_rlx32(&k->ctl->active) || !rk__slot_ready(in, pos)) {
      if (stop)
        break;
      sched_yield();
      continue;
    }
    uint32_t h[RK_LL_HDR_WORDS];
    uint32_t size = rk__ll_data(in, pos, 5);
    size = size < d->req_max ? size : d->req_max;
    rk__ll_get(in, pos, h, req, size);
    rk_ctx ctx = {h[3], a->w, 0, 0};
    void *state = d->has_state ? (uint8_t *)k->states +
                                     (size_t)h[3] * k->state_stride
                               : NULL;
    memset(resp, 0, sizeof resp);
    uint32_t rt = d->dispatch(&ctx, h[2], req, resp, state);
    int fail = rt == RK_DISPATCH_UNKNOWN || (ctx.flags & RK_CTX_FAILED);
    handled++;
    failed += fail;
    /* relaxed: statistics, counted before the answer can be seen */
    rk__st_rlx64(&ws->handled, handled);
    rk__st_rlx64(&ws->failed, failed);
    uint32_t t = 0;
    while (t < k->n_out && k->out_ids[t] != rt)
      t++;
    if (rt != 0 && rt != RK_DISPATCH_UNKNOWN &&
        !(ctx.flags & RK_CTX_NO_REPLY) && t < k->n_out) {
      rk_lane *o = &k->out[t * k->grid + a->w];
      while (!rk__lane_space_sp(o, opos[t], &ohead[t])) {
        if (rk__ld_rlx32(&k->ctl->abort))
          goto out;
        sched_yield();
      }
      uint64_t corr = (uint64_t)h[0] | (uint64_t)h[1] << 32;
      uint32_t osize = 0;
      for (uint32_t i = 0; i < d->n_types; i++)
        if (d->types[i].id == rt)
          osize = d->types[i].size;
      uint8_t *s = rk__slot(o, opos[t]);
      const uint64_t f = (uint64_t)RK_LL_FLAG(opos[t]) << 32;
      const uint32_t words = o->ll_words;
      /* odd words from the top, then even ones from the bottom: a host
      ** consumer looking meanwhile sees a half-written answer */
      for (uint32_t pass = 0; pass < 2; pass++)
        for (uint32_t j = 0; j < words; j++) {
          uint32_t i = pass == 0 ? words - 1 - j : j;
          if ((i & 1u) != (pass == 0 ? 1u : 0u))
            continue;
          uint32_t v = answer_word(i, corr, rt,
                                   (ctx.flags & RK_CTX_FAILED) ? RK_E_HANDLER
                                                               : 0u,
                                   (ctx.flags & RK_CTX_FAILED) ? ctx.fail_code
                                                               : 0,
                                   osize, resp);
          /* relaxed: the word's flag publishes it (ring.h) */
          rk__st_rlx64(s + 8u * i, f | v);
        }
      opos[t]++;
      replied++;
      rk__st_rlx64(&ws->replied, replied);
    }
    pos++;
    rk__lane_release_sc(in, pos);
    atomic_fetch_add_explicit(&m->ev, 1, memory_order_relaxed);
  }
out:
  rk__lane_release_sc(in, pos);
  rk__st_rlx64(&ws->handled, handled);
  rk__st_rlx64(&ws->replied, replied);
  rk__st_rlx64(&ws->failed, failed);
  /* release: the counters above are final for join's acquire */
  atomic_store_explicit(&m->exited[a->w], 1, memory_order_release);
  return NULL;
}

static rk_status dev_plan(rk_kernel *k) {
  dev_impl *m = calloc(1, sizeof *m);
  if (!m)
    return RK_E_NOMEM;
  k->impl = m;
  k->grid = DEV_GRID;
  return RK_OK;
}
static void *dev_alloc(rk_kernel *k, size_t bytes) {
  (void)k;
  size_t n = (bytes + 127u) & ~(size_t)127u;
  void *p = aligned_alloc(128, n ? n : 128);
  if (p)
    memset(p, 0, n ? n : 128);
  return p;
}
static void dev_free(rk_kernel *k, void *p, size_t bytes) {
  (void)k;
  (void)bytes;
  free(p);
}
static rk_status dev_start(rk_kernel *k) {
  dev_impl *m = k->impl;
  for (uint32_t w = 0; w < k->grid; w++) {
    dev_args[w] = (dev_arg){k, w};
    if (pthread_create(&m->th[w], NULL, device_main, &dev_args[w]) != 0)
      return RK_E_NOMEM;
    m->started++;
  }
  return RK_OK;
}
static void dev_wake(rk_kernel *k, uint32_t w) {
  (void)k;
  (void)w;
}
static void dev_notify_host(rk_kernel *k) {
  dev_impl *m = k->impl;
  if (m) /* relaxed: "look again"; the lanes carry the data */
    atomic_fetch_add_explicit(&m->ev, 1, memory_order_relaxed);
}
static void dev_host_wait(rk_kernel *k, uint32_t seen, uint64_t deadline) {
  (void)deadline;
  dev_impl *m = k->impl;
  for (int i = 0; i < 64 && m &&
                  atomic_load_explicit(&m->ev, memory_order_relaxed) == seen;
       i++)
    sched_yield();
}
static uint32_t dev_host_event(rk_kernel *k) {
  dev_impl *m = k->impl;
  return m ? atomic_load_explicit(&m->ev, memory_order_relaxed) : 0;
}
static rk_status dev_health(rk_kernel *k) {
  (void)k;
  return RK_OK;
}
static rk_status dev_join(rk_kernel *k, int64_t timeout_ns) {
  (void)timeout_ns;
  dev_impl *m = k->impl;
  if (!m || m->joined)
    return RK_OK;
  for (uint32_t w = 0; w < m->started; w++)
    pthread_join(m->th[w], NULL);
  m->joined = 1;
  return RK_OK;
}
static void dev_destroy(rk_kernel *k) {
  (void)dev_join(k, -1);
  free(k->impl);
  k->impl = NULL;
}

static const rk_backend_ops dev_ops = {
    .name = "ll-stand-in",
    .backend = RK_BACKEND_CUDA,
    .ll_lanes = 1,
    .plan = dev_plan,
    .alloc = dev_alloc,
    .free = dev_free,
    .start = dev_start,
    .wake = dev_wake,
    .notify_host = dev_notify_host,
    .host_wait = dev_host_wait,
    .host_event = dev_host_event,
    .health = dev_health,
    .join = dev_join,
    .destroy = dev_destroy,
    .host_wait_begin = NULL,
    .host_wait_end = NULL,
};

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
