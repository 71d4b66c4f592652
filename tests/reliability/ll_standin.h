/* SPDX-License-Identifier: MIT */
/*
** ll_standin.h: a stand-in for the CUDA backend whose lanes are LL lanes
** (runtime/ring.h), as the CUDA backend's are, and whose "device" is one
** host thread per lane: it reads each request from its LL slot, runs the
** kernel's own dispatch, and writes the answer word by word in a scrambled
** order with relaxed stores, as the device's I/O warp may land them. For
** programs built with kernel.c and -DRK_TEST_HOOKS: set rk__test_ops =
** &dev_ops before rk_kernel_launch. Used by test_ll_host.c (the protocol's
** host half in CI) and speed_ll_host.c (what that host half costs).
*/
#ifndef RK_LL_STANDIN_H
#define RK_LL_STANDIN_H

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

#endif /* RK_LL_STANDIN_H */
