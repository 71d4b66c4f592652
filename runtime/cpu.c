/* SPDX-License-Identifier: MIT */
/*
** cpu.c: the CPU backend. One worker thread per input lane; worker w owns
** the actors a with a % grid == w and handles its lane's messages one at a
** time in lane order, so each actor's messages run in acceptance order on
** its own state. Idle workers spin briefly, then sleep on a futex that
** producers bump only when the worker says it sleeps; host threads waiting
** on a full or empty lane sleep on one kernel event futex the same way.
*/
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

#define CPU_BATCH 256u           /* input slots taken per step */
#define CPU_SPIN_NS 2000u        /* idle: pause-spin this long, */
#define CPU_YIELD_NS 50000u      /* then sched_yield until this, then sleep */

typedef struct cpu_worker {
  _Alignas(128) _Atomic uint32_t wake; /* futex word: producers bump it */
  _Atomic uint32_t sleeping;           /* 1: the worker may be asleep */
  _Alignas(128) rk_kernel *k;
  uint32_t id;
  int started;
  int detached;        /* abandoned by join (still running, maybe) */
  pthread_t th;
  uint64_t *out_pos;   /* per output queue: next position (sole producer) */
  uint64_t *out_head;  /* per output queue: cached cons_head */
  uint32_t *out_size;  /* per output queue: the response type's size */
  uint8_t *resp;       /* resp_max bytes, zeroed per message */
  uint64_t in_done;    /* input slots below it are handled and read no
                       ** more (may be freed) */
  uint64_t dropped;    /* responses dropped while stopping */
} cpu_worker;

typedef struct cpu_impl {
  _Alignas(128) _Atomic uint32_t hev;      /* host event futex word */
  _Alignas(128) _Atomic uint32_t hwaiters; /* threads sleeping on hev */
  _Alignas(128) cpu_worker *w;
  uint32_t n;
} cpu_impl;

static cpu_impl *impl_of(rk_kernel *k) { return k->impl; }

/* ---- futex ---- */

static void futex_wait(_Atomic uint32_t *a, uint32_t v, uint64_t deadline) {
  struct timespec ts, *tp = NULL;
  if (deadline != UINT64_MAX) {
    uint64_t now = rk__now_ns();
    uint64_t rel = deadline > now ? deadline - now : 0;
    ts.tv_sec = (time_t)(rel / 1000000000u);
    ts.tv_nsec = (long)(rel % 1000000000u);
    tp = &ts;
  }
  /* Sleeps only while *a == v (checked by the kernel under its lock). */
  syscall(SYS_futex, (uint32_t *)a, FUTEX_WAIT_PRIVATE, v, tp, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *a, int n) {
  syscall(SYS_futex, (uint32_t *)a, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* ---- ops: memory and plan ---- */

static void *cpu_alloc(rk_kernel *k, size_t bytes) {
  size_t b = (bytes + 127u) & ~(size_t)127u;
  void *p = aligned_alloc(128, b ? b : 128);
  if (p)
    memset(p, 0, b ? b : 128);
  return p;
}

static void cpu_free(rk_kernel *k, void *p, size_t bytes) { free(p); }

/* Workers: cpu_threads when set, else 1 for a stateful kernel with one
** actor and the machine's cores otherwise; never more than the actors of a
** stateful kernel (an actor stays on one worker). */
static rk_status cpu_plan(rk_kernel *k) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  uint32_t g = k->grid;
  if (g == 0)
    g = cores > 0 ? (uint32_t)cores : 1;
  if (k->desc->has_state && g > k->actors)
    g = k->actors;
  if (g > 1024)
    return rk__fail(RK_E_INVALID, "kernel %s: %u cpu_threads is too many",
                    k->desc->name, g);
  k->grid = g;
  k->block = 1;
  return RK_OK;
}

/* ---- host event ---- */

static uint32_t cpu_host_event(rk_kernel *k) {
  /* Acquire: pairs with the bump in cpu_notify_host (which follows the
  ** publication that caused it). */
  return atomic_load_explicit(&impl_of(k)->hev, memory_order_acquire);
}

static uint32_t cpu_host_wait_begin(rk_kernel *k) {
  atomic_fetch_add(&impl_of(k)->hwaiters, 1);
  /* Store-load fence: the registration is ordered before the caller's
  ** re-check of its condition (relaxed loads of lane words and flags);
  ** pairs with the fence in cpu_notify_host (lost wakeup: either the
  ** notifier sees us registered, or we see its publication). The seq_cst
  ** increment alone would not order those relaxed loads after it. */
  rk__fence_sc();
  return atomic_load(&impl_of(k)->hev);
}

static void cpu_host_wait_end(rk_kernel *k) {
  /* Relaxed: only makes notifiers skip the wake syscall sooner. */
  atomic_fetch_sub_explicit(&impl_of(k)->hwaiters, 1, memory_order_relaxed);
}

static void cpu_host_wait(rk_kernel *k, uint32_t seen, uint64_t deadline) {
  futex_wait(&impl_of(k)->hev, seen, deadline);
}

/* Someone made progress (freed a slot or published one): wake the host
** threads (and workers) sleeping on the event, if any. */
static void cpu_notify_host(rk_kernel *k) {
  cpu_impl *m = impl_of(k);
  /* Store-load fence: our publication (slot seq or cons_head) is ordered
  ** before the load of hwaiters; pairs with the seq_cst increment in
  ** cpu_host_wait_begin. */
  rk__fence_sc();
  /* Relaxed: ordered by the fence above. */
  if (atomic_load_explicit(&m->hwaiters, memory_order_relaxed) == 0)
    return;
  atomic_fetch_add(&m->hev, 1); /* futex_wait(seen) now returns at once */
  futex_wake(&m->hev, INT_MAX);
}

/* ---- worker wakeup ---- */

/* A message was published on lane w (or a control word changed). */
static void cpu_wake(rk_kernel *k, uint32_t w) {
  cpu_worker *wk = &impl_of(k)->w[w];
  /* Store-load fence: the slot's seq (or the control word) is ordered
  ** before the load of sleeping; pairs with the fence in worker_sleep. Of
  ** the two, one sees the other's store: the worker sees the message, or
  ** we see it sleeping and bump wake, which its futex_wait compares. */
  rk__fence_sc();
  /* Relaxed: ordered by the fence above. */
  if (!atomic_load_explicit(&wk->sleeping, memory_order_relaxed))
    return;
  atomic_fetch_add_explicit(&wk->wake, 1, memory_order_relaxed);
  futex_wake(&wk->wake, 1);
}

/* ---- the worker ---- */

/* Is there something for the worker to do at input position head? */
static int worker_has_work(rk_kernel *k, rk_lane *in, uint64_t head) {
  /* Relaxed loads of control words: flags publishing nothing (stop's
  ** publication is re-acquired in the main loop before it is acted on). */
  if (rk__ld_rlx32(&k->ctl->abort) || rk__ld_rlx32(&k->ctl->stop))
    return 1;
  return rk__ld_rlx32(&k->ctl->active) && rk__slot_poll(in, head);
}

/* Idle: spin, yield, then sleep until woken (see cpu_wake). */
static void worker_idle(cpu_worker *w, rk_lane *in, uint64_t head) {
  rk_kernel *k = w->k;
  uint64_t t0 = rk__now_ns();
  for (uint32_t i = 1;; i++) {
    if (worker_has_work(k, in, head))
      return;
    if ((i & 31) == 0) {
      uint64_t dt = rk__now_ns() - t0;
      if (dt > CPU_YIELD_NS)
        break;
      if (dt > CPU_SPIN_NS)
        sched_yield();
    }
    rk__cpu_relax();
  }
  /* Relaxed: the futex compares the value; any bump after this load makes
  ** futex_wait return at once. */
  uint32_t v = atomic_load_explicit(&w->wake, memory_order_relaxed);
  atomic_store_explicit(&w->sleeping, 1, memory_order_relaxed);
  /* Store-load fence: sleeping = 1 before the re-check; pairs with the
  ** fence in cpu_wake. */
  rk__fence_sc();
  if (!worker_has_work(k, in, head))
    futex_wait(&w->wake, v, UINT64_MAX);
  atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

/* Waits for room on a full output lane. Returns 1 when there is room, 0
** when the response is to be dropped (stopping: nobody can receive any
** more) or the worker must quit (abort). */
static int wait_output(cpu_worker *w, rk_lane *l, uint32_t t) {
  rk_kernel *k = w->k;
  cpu_impl *m = impl_of(k);
  /* The messages of this batch handled so far, the one being answered
  ** included, are done with: free their input slots now, not at the end
  ** of the batch, or a sender waiting for room would wait on a worker that
  ** waits on a receiver (the batch end may be far off: this wait lasts
  ** until somebody receives). Release: our reads of those slots happen
  ** before a producer's acquire of cons_head lets it refill them. */
  rk__lane_release_sc(&k->in[w->id], w->in_done);
  /* Receivers may sleep while the responses that filled the lane wait to
  ** be announced (that happens after a batch): announce them first; the
  ** notify's fence also orders the release above before its peek. */
  cpu_notify_host(k);
  for (;;) {
    if (rk__lane_space_sp(l, w->out_pos[t], &w->out_head[t]))
      return 1;
    /* Relaxed: flags; a late look costs one more wait round. */
    if (rk__ld_rlx32(&k->ctl->abort) || rk__ld_rlx32(&k->ctl->stop))
      return 0;
    uint32_t seen = cpu_host_wait_begin(k);
    if (!rk__lane_space_sp(l, w->out_pos[t], &w->out_head[t]) &&
        !rk__ld_rlx32(&k->ctl->abort) && !rk__ld_rlx32(&k->ctl->stop))
      futex_wait(&m->hev, seen, UINT64_MAX);
    cpu_host_wait_end(k);
  }
}

/* The output queue of response type id, or -1. */
static int out_of(rk_kernel *k, uint32_t id) {
  for (uint32_t t = 0; t < k->n_out; t++)
    if (k->out_ids[t] == id)
      return (int)t;
  return -1;
}

/* Publishes one response on this worker's lane of queue t. Returns 0 when
** it was dropped (stopping or abort). */
static int publish(cpu_worker *w, uint32_t t, uint64_t corr, uint32_t type,
                   uint32_t status, int32_t code) {
  rk_kernel *k = w->k;
  rk_lane *l = &k->out[t * k->grid + w->id];
  if (!rk__lane_space_sp(l, w->out_pos[t], &w->out_head[t]) &&
      !wait_output(w, l, t)) {
    w->dropped++;
    return 0;
  }
  uint64_t pos = w->out_pos[t]++;
  uint8_t *s = rk__slot(l, pos);
  uint32_t size = w->out_size[t];
  memcpy(s + RK_SLOT_OFF_CORR, &corr, 8);
  memcpy(s + RK_SLOT_OFF_TYPE, &type, 4);
  rk__slot_set_status(l, pos, status);
  memcpy(s + RK_SLOT_OFF_CODE, &code, 4);
  memcpy(s + RK_SLOT_OFF_SIZE, &size, 4);
  memcpy(s + RK_SLOT_HDR, w->resp, size);
  rk__slot_publish(l, pos);
  return 1;
}

typedef struct wcount {
  uint64_t handled, replied, failed, depth_max;
} wcount;

/* Runs the handler of the message at pos and publishes its response. */
static void handle_one(cpu_worker *w, rk_lane *in, uint64_t pos,
                       wcount *c) {
  rk_kernel *k = w->k;
  const rk_kernel_desc *d = k->desc;
  uint8_t *s = rk__slot(in, pos);
  uint64_t corr;
  uint32_t type, actor;
  memcpy(&corr, s + RK_SLOT_OFF_CORR, 8);
  memcpy(&type, s + RK_SLOT_OFF_TYPE, 4);
  memcpy(&actor, s + RK_SLOT_OFF_AUX, 4);
  rk_ctx ctx = {actor, w->id, 0, 0};
  void *state = d->has_state
                    ? (uint8_t *)k->states + (size_t)actor * k->state_stride
                    : NULL;
  if (d->resp_max)
    memset(w->resp, 0, d->resp_max);
  uint32_t rt = d->dispatch(&ctx, type, s + RK_SLOT_HDR, w->resp, state);
  w->in_done = pos + 1; /* its slot is read no more (wait_output frees it) */
  rk_worker_status *ws = &k->wstat[w->id];
  int failed = (ctx.flags & RK_CTX_FAILED) != 0;
  /* Counted before the response is published, so a receiver that got it
  ** sees it counted. Relaxed: statistics with this sole writer; the seq
  ** release of the response orders them before it anyway. */
  rk__st_rlx64(&ws->handled, ++c->handled);
  if (failed)
    rk__st_rlx64(&ws->failed, ++c->failed);
  if (rt == RK_DISPATCH_UNKNOWN) {
    rk__log(RK_LOG_WARN, "kernel %s: no handler for type id %u", d->name,
            type);
    return;
  }
  if (rt == 0 || ((ctx.flags & RK_CTX_NO_REPLY) && !failed))
    return;
  int t = out_of(k, rt);
  if (t < 0) {
    rk__log(RK_LOG_WARN, "kernel %s: handler answered with unknown type "
            "id %u", d->name, rt);
    return;
  }
  rk__st_rlx64(&ws->replied, ++c->replied); /* relaxed: as above */
  if (!publish(w, (uint32_t)t, corr, rt,
               failed ? (uint32_t)RK_E_HANDLER : 0, ctx.fail_code))
    rk__st_rlx64(&ws->replied, --c->replied); /* dropped: not replied */
}

/* Makes the counters visible to stats (each word has this sole writer). */
static void store_counts(cpu_worker *w, const wcount *c) {
  rk_worker_status *ws = &w->k->wstat[w->id];
  /* Relaxed: statistics read with relaxed loads; join orders the last. */
  rk__st_rlx64(&ws->handled, c->handled);
  rk__st_rlx64(&ws->replied, c->replied);
  rk__st_rlx64(&ws->failed, c->failed);
  rk__st_rlx64(&ws->depth_max, c->depth_max);
  rk__st_rlx64(&ws->heartbeat, rk__ld_rlx64(&ws->heartbeat) + 1);
}

static void *worker_main(void *arg) {
  cpu_worker *w = arg;
  rk_kernel *k = w->k;
  rk_lane *in = &k->in[w->id];
  uint64_t head = 0; /* our own position: we are the lane's sole consumer */
  wcount c = {0, 0, 0, 0};
  for (;;) {
    if (rk__ld_rlx32(&k->ctl->abort)) /* relaxed: a flag, see stop */
      break;
    /* Acquire: pairs with the release store of stop in stop_workers: every
    ** message published before it is visible to the check below. */
    uint32_t stop = rk__ld_acq32(&k->ctl->stop);
    uint32_t act = rk__ld_rlx32(&k->ctl->active); /* relaxed: a flag */
    uint32_t n = act ? rk__lane_ready_sc(in, head, CPU_BATCH) : 0;
    if (n == 0) {
      if (stop)
        break;
      worker_idle(w, in, head);
      continue;
    }
    uint32_t i = 0;
    for (; i < n; i++) {
      /* Relaxed: a flag (join's abort): leave now, the rest of the batch
      ** stays unhandled. */
      if (rk__ld_rlx32(&k->ctl->abort))
        break;
      handle_one(w, in, head + i, &c);
      /* Relaxed peek: someone sleeps on the host event (a receiver, or a
      ** sender on a full lane): tell it now, not at the end of the batch.
      ** A waiter registering just after this peek is told by the notify
      ** after the batch, whose fence closes that race. */
      if (atomic_load_explicit(&impl_of(k)->hwaiters, memory_order_relaxed)) {
        rk__lane_release_sc(in, head + i + 1);
        cpu_notify_host(k);
      }
    }
    /* The lane's depth (claim - head), read only for long batches and
    ** after the responses are out: reading the producers' line each time
    ** would cost every sender a cache miss on its next claim. */
    uint64_t depth = n >= 16 ? rk__lane_depth(in) : n;
    c.depth_max = depth > c.depth_max ? depth : c.depth_max;
    head += i; /* i < n only when aborted */
    rk__lane_release_sc(in, head);
    store_counts(w, &c);
    cpu_notify_host(k); /* room in the input lane, responses published */
  }
  store_counts(w, &c);
  return NULL;
}

/* ---- ops: start, join, destroy ---- */

static rk_status cpu_start(rk_kernel *k) {
  cpu_impl *m = cpu_alloc(k, sizeof *m);
  if (!m)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
  k->impl = m;
  m->n = k->grid;
  m->w = cpu_alloc(k, (size_t)k->grid * sizeof *m->w);
  if (!m->w)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
  for (uint32_t i = 0; i < k->grid; i++) {
    cpu_worker *w = &m->w[i];
    w->k = k;
    w->id = i;
    w->out_pos = calloc(k->n_out + 1, sizeof *w->out_pos);
    w->out_head = calloc(k->n_out + 1, sizeof *w->out_head);
    w->resp = calloc(1, k->desc->resp_max + 16u);
    w->out_size = calloc(k->n_out + 1, sizeof *w->out_size);
    if (!w->out_pos || !w->out_head || !w->resp || !w->out_size)
      return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
    for (uint32_t t = 0; t < k->n_out; t++)
      for (uint32_t j = 0; j < k->desc->n_types; j++)
        if (k->desc->types[j].id == k->out_ids[t])
          w->out_size[t] = k->desc->types[j].size;
  }
  for (uint32_t i = 0; i < k->grid; i++) {
    if (pthread_create(&m->w[i].th, NULL, worker_main, &m->w[i]) != 0) {
      /* Relaxed + wake: the started workers see abort and leave. */
      rk__st_rlx32(&k->ctl->abort, 1);
      for (uint32_t j = 0; j < i; j++)
        cpu_wake(k, j);
      return rk__fail(RK_E_NOMEM, "kernel %s: cannot start worker %u",
                      k->desc->name, i);
    }
    m->w[i].started = 1;
    char name[32]; /* the kernel truncates names to 15 characters */
    snprintf(name, sizeof name, "rk-%.6s-%u", k->desc->name, i % 10000u);
    name[15] = '\0';
    pthread_setname_np(m->w[i].th, name);
  }
  return RK_OK;
}

/* What join watches: the heartbeat (moved once a batch) plus the messages
** handled (counted one by one), so a worker running slow handlers through
** a long batch counts as making progress. */
static uint64_t progress(rk_kernel *k) {
  uint64_t p = 0;
  for (uint32_t w = 0; w < k->grid; w++)
    /* Relaxed: statistics, each word only grows. */
    p += rk__ld_rlx64(&k->wstat[w].heartbeat) +
         rk__ld_rlx64(&k->wstat[w].handled);
  return p;
}

/* Joins every worker. A worker making no progress for stall_ns is asked to
** abort; one still there 200 ms later is abandoned (detached): RK_E_TIMEOUT,
** and its memory must then be leaked. */
static rk_status cpu_join(rk_kernel *k, int64_t stall_ns) {
  cpu_impl *m = impl_of(k);
  if (!m)
    return RK_OK;
  uint64_t last = progress(k), t_last = rk__now_ns(), t_abort = 0;
  rk_status s = RK_OK;
  for (uint32_t i = 0; i < m->n; i++) {
    while (m->w[i].started) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 10000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      if (pthread_timedjoin_np(m->w[i].th, NULL, &ts) == 0) {
        m->w[i].started = 0;
        break;
      }
      uint64_t now = rk__now_ns(), p = progress(k);
      if (p != last) {
        last = p;
        t_last = now;
      }
      if (!t_abort && now - t_last > (uint64_t)stall_ns) {
        rk__log(RK_LOG_WARN, "kernel %s: worker %u made no progress for "
                "%lld ms while terminating; aborting it", k->desc->name, i,
                (long long)(stall_ns / 1000000));
        rk__st_rlx32(&k->ctl->abort, 1); /* relaxed: a flag + wakes */
        for (uint32_t j = 0; j < m->n; j++)
          cpu_wake(k, j);
        cpu_notify_host(k);
        t_abort = now;
      }
      if (t_abort && now - t_abort > 200000000u) {
        pthread_detach(m->w[i].th);
        m->w[i].started = 0;
        m->w[i].detached = 1;
        s = RK_E_TIMEOUT;
      }
    }
  }
  uint64_t dropped = 0;
  for (uint32_t i = 0; i < m->n; i++)
    if (!m->w[i].detached) /* still running: its count is not ours to read */
      dropped += m->w[i].dropped; /* joined: plain reads are ordered */
  if (dropped && s == RK_OK)
    rk__log(RK_LOG_INFO, "kernel %s: %llu responses produced while "
            "terminating were dropped", k->desc->name,
            (unsigned long long)dropped);
  return s;
}

static void cpu_destroy(rk_kernel *k) {
  cpu_impl *m = impl_of(k);
  if (!m || k->leaked)
    return; /* abandoned workers may still touch it */
  for (uint32_t i = 0; m->w && i < m->n; i++) {
    if (m->w[i].started) { /* a launch that failed half-way */
      rk__st_rlx32(&k->ctl->abort, 1); /* relaxed: a flag + wake */
      cpu_wake(k, i);
      pthread_join(m->w[i].th, NULL);
    }
    free(m->w[i].out_pos);
    free(m->w[i].out_head);
    free(m->w[i].resp);
    free(m->w[i].out_size);
  }
  free(m->w);
  free(m);
  k->impl = NULL;
}

static rk_status cpu_health(rk_kernel *k) { return RK_OK; }

const rk_backend_ops rk__cpu_ops = {
    .name = "cpu",
    .backend = RK_BACKEND_CPU,
    .plan = cpu_plan,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .start = cpu_start,
    .wake = cpu_wake,
    .notify_host = cpu_notify_host,
    .host_wait = cpu_host_wait,
    .host_event = cpu_host_event,
    .health = cpu_health,
    .join = cpu_join,
    .destroy = cpu_destroy,
    .host_wait_begin = cpu_host_wait_begin,
    .host_wait_end = cpu_host_wait_end,
};
