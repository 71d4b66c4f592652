/* SPDX-License-Identifier: MIT */
/*
** kernel.c: the runtime and the backend-neutral kernel object: settings
** and backend choice, launch (lane sizing, states), send/recv over the
** lanes in host-visible memory, stats and the lifecycle state machine
** ACTIVE <-> INACTIVE -> TERMINATED. Invariants: a terminated kernel
** answers RK_E_TERMINATED to everything; its memory lives until
** rk_runtime_destroy; received = handled + unhandled in its final stats.
*/
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "queue.h"

/* A terminating kernel whose workers make no progress for this long is
** given up (see rk_backend_ops.join). */
#define RK_TERM_STALL_NS 1000000000LL
/* Host threads spin on a full or empty lane: RK_HOST_PAUSE_NS (or the
** backend's host_pause_ns) with the pause instruction, then with
** sched_yield (a worker sharing our core gets it) until RK_HOST_SPIN_NS
** past the pause phase, then sleep on the host event. */
#define RK_HOST_PAUSE_NS 2000u
#define RK_HOST_SPIN_NS 30000u

/* Test hook (tests/reliability/test_bounded_wait.c compiles this file with
** -DRK_TEST_HOOKS): called by a sender after it claimed n slots from pos on
** lane and before it fills and publishes them, so a test can stall a
** sender mid-operation. Production builds compile it to nothing. */
#ifdef RK_TEST_HOOKS
void (*rk__test_hook_claimed)(rk_kernel *k, uint32_t lane, uint64_t pos,
                              uint32_t n);
#define RK__HOOK_CLAIMED(k, lane, pos, n)                                   \
  do {                                                                     \
    if (rk__test_hook_claimed)                                             \
      rk__test_hook_claimed(k, lane, pos, n);                              \
  } while (0)
/* Test hook (tests/reliability/test_ll_host.c): when set, every kernel
** runs on these backend ops, so the host half of a backend's protocol
** (the LL lanes of the CUDA backend) can be driven by a stand-in. */
const rk_backend_ops *rk__test_ops;
#define RK__OPS(k) (rk__test_ops ? rk__test_ops : RK__OPS_OF(k))
#else
#define RK__HOOK_CLAIMED(k, lane, pos, n) ((void)0)
#define RK__OPS(k) RK__OPS_OF(k)
#endif
#define RK__OPS_OF(k) \
  ((k)->backend == RK_BACKEND_CUDA ? &rk__cuda_ops : &rk__cpu_ops)

struct rk_runtime {
  rk_config *cfg;             /* our copy (NULL: defaults) */
  rk_settings set;
  pthread_mutex_t lock;       /* kernels list, auto choice */
  rk_kernel *kernels;
  int auto_done;              /* the auto backend was decided */
  rk_backend auto_backend;
};

uint64_t rk__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const rk_settings *rk__runtime_settings(const rk_runtime *rt) {
  return &rt->set;
}

const char *rk_backend_name(rk_backend b) {
  switch (b) {
  case RK_BACKEND_AUTO: return "auto";
  case RK_BACKEND_CPU: return "cpu";
  case RK_BACKEND_CUDA: return "cuda";
  }
  return "unknown";
}

/* ---------------------------------------------------------------- runtime */

/* Parses RK_BACKEND's value; returns 0 when it names no backend. */
static int parse_backend(const char *v, rk_backend *out) {
  static const rk_backend all[] = {RK_BACKEND_AUTO, RK_BACKEND_CPU,
                                   RK_BACKEND_CUDA};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (strcasecmp(v, rk_backend_name(all[i])) == 0) {
      *out = all[i];
      return 1;
    }
  return 0;
}

/* Reads RK_CONFIG (when cfg is NULL) and copies the config; RK_E_CONFIG
** or RK_E_IO as the loader reports it, the detail naming RK_CONFIG (the
** program may not know the path came from there). */
static rk_status runtime_config(rk_runtime *r, const rk_config *cfg) {
  const char *path = getenv("RK_CONFIG");
  if (!cfg && path && *path) {
    rk_config *loaded = NULL;
    rk_status s = rk_config_load_yaml(path, &loaded);
    if (s != RK_OK) {
      char why[512];
      snprintf(why, sizeof why, "%s", rk_error_detail());
      return rk__fail(s, "RK_CONFIG: %s", why);
    }
    r->cfg = loaded;
    return RK_OK;
  }
  if (!cfg)
    return RK_OK;
  return rk__config_clone(cfg, &r->cfg);
}

rk_status rk_runtime_create(const rk_config *cfg, rk_runtime **rt) {
  if (!rt)
    return rk__fail(RK_E_INVALID, "rk_runtime_create: rt is NULL");
  *rt = NULL;
  rk_runtime *r = calloc(1, sizeof *r);
  if (!r)
    return rk__fail(RK_E_NOMEM, "rk_runtime_create: out of memory");
  rk_status s = runtime_config(r, cfg);
  if (s != RK_OK) {
    free(r);
    return s;
  }
  rk__config_settings(r->cfg, &r->set);
  const char *env = getenv("RK_BACKEND");
  if (env && *env && !r->set.backend_from_program) {
    if (!parse_backend(env, &r->set.backend)) {
      rk_config_free(r->cfg);
      free(r);
      return rk__fail(RK_E_CONFIG,
                      "RK_BACKEND=%s: expected auto, cpu or cuda", env);
    }
    r->set.backend_from_config = 1;
  }
  rk__log_hold_level(r->set.log_level, 1); /* released by destroy */
  pthread_mutex_init(&r->lock, NULL);
  *rt = r;
  rk__clear_detail();
  return RK_OK;
}

static void kernel_free(rk_kernel *k);

void rk_runtime_destroy(rk_runtime *rt) {
  if (!rt)
    return;
  rk_kernel *k = rt->kernels;
  while (k) {
    rk_kernel *next = k->next_in_rt;
    (void)rk_kernel_terminate(k, NULL);
    kernel_free(k);
    k = next;
  }
  pthread_mutex_destroy(&rt->lock);
  rk__log_hold_level(rt->set.log_level, 0);
  rk_config_free(rt->cfg);
  free(rt);
}

/* The backend auto means in this runtime: probed once, said once. */
static rk_backend auto_backend(rk_runtime *rt) {
  pthread_mutex_lock(&rt->lock);
  if (!rt->auto_done) {
    if (rk__cuda_probe(rt->set.device) == RK_OK) {
      rt->auto_backend = RK_BACKEND_CUDA;
      rk__log(RK_LOG_INFO, "backend auto: cuda (device %u is usable)",
              rt->set.device);
    } else {
      rt->auto_backend = RK_BACKEND_CPU;
      rk__log(RK_LOG_INFO, "backend auto: cpu (%s)", rk_error_detail());
    }
    rt->auto_done = 1;
  }
  rk_backend b = rt->auto_backend;
  pthread_mutex_unlock(&rt->lock);
  return b;
}

rk_backend rk_runtime_backend(rk_runtime *rt) {
  if (!rt)
    return RK_BACKEND_CPU;
  if (rt->set.backend != RK_BACKEND_AUTO)
    return rt->set.backend;
  return auto_backend(rt);
}

/* ----------------------------------------------------------------- launch */

/* Which backend a kernel gets, in rising priority: the schema, the config
** (top level, then the kernel's own entry), RK_BACKEND, the program. */
static rk_status choose_backend(rk_runtime *rt, const rk_kernel_desc *d,
                                const rk_kernel_cfg *kc, rk_backend *out) {
  rk_backend b = d->backend;
  const char *env = getenv("RK_BACKEND");
  int env_set = env && *env && !rt->set.backend_from_program;
  if (rt->set.backend_from_config && !env_set)
    b = rt->set.backend;
  if (kc->has_backend && !env_set)
    b = kc->backend;
  if (env_set)
    b = rt->set.backend; /* runtime_create parsed RK_BACKEND into it */
  if (rt->set.backend_from_program)
    b = rt->set.backend;
  if (kc->has_backend && kc->backend_from_program)
    b = kc->backend;
  if (b == RK_BACKEND_AUTO)
    b = auto_backend(rt);
  if (b == RK_BACKEND_CUDA) {
    rk_status s = rk__cuda_probe(rt->set.device);
    if (s != RK_OK)
      return rk__fail(RK_E_NO_DEVICE, "kernel %s: backend cuda: %s", d->name,
                      rk_error_detail());
  }
  *out = b;
  return RK_OK;
}

static const rk_msg_type *find_type(const rk_kernel_desc *d, uint32_t id) {
  for (uint32_t i = 0; i < d->n_types; i++)
    if (d->types[i].id == id)
      return &d->types[i];
  return NULL;
}

static int is_pow2(uint32_t v) { return v >= 2 && (v & (v - 1)) == 0; }

/* Checks what rkc generated; RK_E_INVALID with the reason. */
static rk_status check_desc(const rk_kernel_desc *d) {
  if (!d)
    return rk__fail(RK_E_INVALID, "rk_kernel_launch: desc is NULL");
  if (d->abi != RK_GEN_ABI)
    return rk__fail(RK_E_INVALID,
                    "kernel descriptor has ABI %u, librk expects %u: "
                    "regenerate with this version of rkc",
                    d->abi, RK_GEN_ABI);
  if (!d->name || !d->dispatch || !d->handlers || d->n_handlers == 0 ||
      !d->types || d->n_types == 0)
    return rk__fail(RK_E_INVALID, "kernel descriptor is incomplete");
  if (d->actors == 0 || (d->has_state && (!d->state_size || !d->state_init)))
    return rk__fail(RK_E_INVALID, "kernel %s: bad actors or state", d->name);
  for (uint32_t i = 0; i < d->n_handlers; i++) {
    const rk_msg_type *q = find_type(d, d->handlers[i].req_id);
    const rk_msg_type *p = find_type(d, d->handlers[i].resp_id);
    if (!q || q->size > d->req_max || (d->handlers[i].resp_id && !p) ||
        (p && p->size > d->resp_max))
      return rk__fail(RK_E_INVALID, "kernel %s: handler %u names a type "
                      "not described", d->name, i);
  }
  return RK_OK;
}

/* The response types of the handlers, each once, into k->out_ids. */
static rk_status collect_outputs(rk_kernel *k) {
  const rk_kernel_desc *d = k->desc;
  k->out_ids = calloc(d->n_handlers, sizeof *k->out_ids);
  k->out_slot_bytes = calloc(d->n_handlers, sizeof *k->out_slot_bytes);
  if (!k->out_ids || !k->out_slot_bytes)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", d->name);
  for (uint32_t i = 0; i < d->n_handlers; i++) {
    uint32_t id = d->handlers[i].resp_id, t;
    if (id == 0)
      continue;
    for (t = 0; t < k->n_out && k->out_ids[t] != id; t++)
      ;
    if (t == k->n_out) {
      k->out_ids[k->n_out] = id;
      uint32_t size = find_type(d, id)->size;
      k->out_slot_bytes[k->n_out++] =
          k->ops->ll_lanes ? 8u * RK_LL_WORDS(size) : RK_SLOT_BYTES(size);
    }
  }
  return RK_OK;
}

/* One lane of k->lane_cap slots from the backend's memory. */
static rk_status make_lane(rk_kernel *k, rk_lane *l, uint32_t slot_bytes,
                           uint32_t ll_words, int host_consumed) {
  size_t bytes = rk__lane_bytes(k->lane_cap, slot_bytes);
  uint8_t *base = k->ops->alloc(k, bytes);
  uint64_t *done = host_consumed ? calloc(k->lane_cap, sizeof *done) : NULL;
  if (!base || (host_consumed && !done)) {
    if (base)
      k->ops->free(k, base, bytes);
    free(done);
    return rk__fail(RK_E_NOMEM, "kernel %s: no memory for a lane of %zu "
                    "bytes", k->desc->name, bytes);
  }
  rk__lane_init(l, base, k->lane_cap, slot_bytes, done);
  l->ll_words = ll_words;
  k->queue_bytes += bytes;
  return RK_OK;
}

/* Lane sizing: the kernel's capacity is shared among its grid input lanes,
** lane_cap = capacity / grid rounded down to a power of two, at least 2;
** every output lane has the same lane_cap (a worker cannot have more
** responses outstanding than it had requests queued plus lane_cap). */
static rk_status make_queues(rk_kernel *k) {
  uint32_t per = k->capacity / k->grid;
  k->lane_cap = 2;
  while (k->lane_cap * 2 <= per)
    k->lane_cap *= 2;
  /* LL input lanes: the device reads the first in_ll words of a slot in
  ** one round trip (a request that fits, or the head of a larger one) and
  ** producers always write at least those (ring.h). */
  uint32_t in_ll = 0;
  if (k->ops->ll_lanes) {
    uint32_t all = RK_LL_WORDS(k->desc->req_max);
    in_ll = all < RK_LL_WIN_MAX ? all : RK_LL_WIN_MAX;
    k->in_slot_bytes = 8u * all;
  } else {
    k->in_slot_bytes = RK_SLOT_BYTES(k->desc->req_max);
  }
  rk_status s = collect_outputs(k);
  if (s != RK_OK)
    return s;
  k->in = calloc(k->grid, sizeof *k->in);
  k->out = calloc((size_t)k->grid * (k->n_out ? k->n_out : 1),
                  sizeof *k->out);
  if (!k->in || !k->out)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
  for (uint32_t w = 0; w < k->grid; w++)
    if ((s = make_lane(k, &k->in[w], k->in_slot_bytes, in_ll, 0)) != RK_OK)
      return s;
  for (uint32_t t = 0; t < k->n_out; t++)
    for (uint32_t w = 0; w < k->grid; w++)
      if ((s = make_lane(k, &k->out[t * k->grid + w], k->out_slot_bytes[t],
                         k->ops->ll_lanes ? k->out_slot_bytes[t] / 8u : 0u,
                         1)) != RK_OK)
        return s;
  return RK_OK;
}

/* Worker status, control words and actor states (each initialised). */
static rk_status make_control(rk_kernel *k) {
  const rk_kernel_desc *d = k->desc;
  k->wstat = k->ops->alloc(k, (size_t)k->grid * sizeof *k->wstat);
  k->ctl = k->ops->alloc(k, sizeof *k->ctl);
  if (!k->wstat || !k->ctl)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", d->name);
  if (d->has_state) {
    uint32_t a = d->state_align ? d->state_align : 1;
    k->state_stride = (d->state_size + a - 1) / a * a;
    k->states = k->ops->alloc(k, (size_t)k->state_stride * k->actors);
    if (!k->states)
      return rk__fail(RK_E_NOMEM, "kernel %s: no memory for %u states",
                      d->name, k->actors);
    for (uint32_t i = 0; i < k->actors; i++)
      d->state_init((uint8_t *)k->states + (size_t)i * k->state_stride);
  }
  /* Relaxed: the workers are not started yet; start() publishes. */
  rk__st_rlx32(&k->ctl->active, 1);
  return RK_OK;
}

/* The kernel's settings: the schema, then the config's kernel entry. */
static rk_status kernel_settings(rk_kernel *k, const rk_kernel_cfg *kc) {
  const rk_kernel_desc *d = k->desc;
  k->capacity = kc->capacity ? kc->capacity : d->capacity;
  k->block = k->backend == RK_BACKEND_CPU ? 1
             : kc->block                 ? kc->block
                                         : d->block;
  k->actors = d->has_state ? d->actors : 1;
  if (k->backend == RK_BACKEND_CPU)
    k->grid = kc->cpu_threads; /* 0: the backend's default */
  else
    k->grid = kc->grid ? kc->grid : kc->grid_auto ? 0 : d->grid;
  if (!is_pow2(k->capacity))
    return rk__fail(RK_E_INVALID, "kernel %s: capacity %u is not a power "
                    "of two >= 2", d->name, k->capacity);
  return RK_OK;
}

static rk_status launch_parts(rk_runtime *rt, rk_kernel *k) {
  rk_kernel_cfg kc;
  rk__config_kernel(rt->cfg, k->desc->name, &kc);
  rk_status s = choose_backend(rt, k->desc, &kc, &k->backend);
  if (s != RK_OK)
    return s;
  k->ops = RK__OPS(k);
  if ((s = kernel_settings(k, &kc)) != RK_OK)
    return s;
  if ((s = k->ops->plan(k)) != RK_OK)
    return s;
  if (k->grid == 0)
    return rk__fail(RK_E_INVALID, "kernel %s: no workers", k->desc->name);
  if ((s = make_queues(k)) != RK_OK || (s = make_control(k)) != RK_OK)
    return s;
  k->t_launch = rk__now_ns();
  atomic_store(&k->lifecycle, RK__K_ACTIVE);
  return k->ops->start(k);
}

rk_status rk_kernel_launch(rk_runtime *rt, const rk_kernel_desc *d,
                           rk_kernel **out) {
  if (!rt || !out)
    return rk__fail(RK_E_INVALID, "rk_kernel_launch: NULL argument");
  *out = NULL;
  rk_status s = check_desc(d);
  if (s != RK_OK)
    return s;
  rk_kernel *k = calloc(1, sizeof *k);
  pthread_mutex_t *m = malloc(sizeof *m);
  if (!k || !m) {
    free(k);
    free(m);
    return rk__fail(RK_E_NOMEM, "rk_kernel_launch: out of memory");
  }
  pthread_mutex_init(m, NULL);
  k->life_lock = m;
  k->desc = d;
  k->rt = rt;
  if ((s = launch_parts(rt, k)) != RK_OK) {
    kernel_free(k);
    return s;
  }
  pthread_mutex_lock(&rt->lock);
  k->next_in_rt = rt->kernels;
  rt->kernels = k;
  pthread_mutex_unlock(&rt->lock);
  *out = k;
  rk__clear_detail();
  return RK_OK;
}

/* Kernels whose workers were abandoned (k->leaked: a CPU worker in a
** handler that did not return, a GPU kernel that faulted or ignored
** terminate): kept with everything they point to for the rest of the
** process, since an abandoned worker may still touch any of it (the lane
** table, the kernel itself, its control words). Listed here so that the
** memory stays reachable: leaked on purpose, not lost. */
static pthread_mutex_t g_leaked_lock = PTHREAD_MUTEX_INITIALIZER;
static rk_kernel *g_leaked;

/* Frees a kernel whose workers are gone (or were never started); one whose
** workers were abandoned goes to g_leaked instead. */
static void kernel_free(rk_kernel *k) {
  if (k->ops && k->ops->destroy)
    k->ops->destroy(k);
  if (k->leaked) {
    pthread_mutex_lock(&g_leaked_lock);
    k->next_in_rt = g_leaked; /* the runtime's list is done with it */
    g_leaked = k;
    pthread_mutex_unlock(&g_leaked_lock);
    return;
  }
  if (k->ops) {
    for (uint32_t w = 0; k->in && w < k->grid; w++)
      if (k->in[w].base)
        k->ops->free(k, k->in[w].base,
                     rk__lane_bytes(k->lane_cap, k->in_slot_bytes));
    for (uint32_t i = 0; k->out && i < k->n_out * k->grid; i++)
      if (k->out[i].base)
        k->ops->free(k, k->out[i].base,
                     rk__lane_bytes(k->lane_cap, k->out[i].slot_bytes));
    if (k->wstat)
      k->ops->free(k, k->wstat, (size_t)k->grid * sizeof *k->wstat);
    if (k->ctl)
      k->ops->free(k, k->ctl, sizeof *k->ctl);
    if (k->states)
      k->ops->free(k, k->states, (size_t)k->state_stride * k->actors);
  }
  for (uint32_t i = 0; k->out && i < k->n_out * k->grid; i++)
    free(k->out[i].done);
  free(k->in);
  free(k->out);
  free(k->out_ids);
  free(k->out_slot_bytes);
  pthread_mutex_destroy(k->life_lock);
  free(k->life_lock);
  free(k);
}

/* ------------------------------------------------------- calls and waits */

/* Why a call or a wait must end now: RK_E_TIMEOUT at or past deadline,
** RK_E_TERMINATED once terminate has begun, or the backend's health failure
** (RK_E_DEVICE_FAULT); RK_OK to go on. */
static rk_status must_end(rk_kernel *k, uint64_t now, uint64_t deadline) {
  if (now >= deadline)
    return rk__fail(RK_E_TIMEOUT, "kernel %s: timed out", k->desc->name);
  if (atomic_load(&k->lifecycle) == RK__K_TERMINATED)
    return rk__fail(RK_E_TERMINATED, "kernel %s is terminated",
                    k->desc->name);
  return k->ops->health(k);
}

/* Enters a send/recv call: RK_E_TERMINATED once terminate has begun. The
** seq_cst increment and load pair with terminate's seq_cst store of the
** lifecycle and load of inflight: either terminate waits for us, or we see
** TERMINATED (the store-load order release/acquire would not give). */
static rk_status enter(rk_kernel *k) {
  atomic_fetch_add(&k->inflight, 1);
  /* A faulted device answers every call at once, also a send that would
  ** find room in its lane (runtime.md: every later call on every kernel
  ** of that device returns RK_E_DEVICE_FAULT): must_end checks health. */
  rk_status s = must_end(k, 0, UINT64_MAX);
  if (s != RK_OK)
    atomic_fetch_sub(&k->inflight, 1);
  return s;
}

static rk_status leave(rk_kernel *k, rk_status s) {
  /* Release: our last accesses to the lanes happen before terminate (which
  ** reads inflight with seq_cst, an acquire) proceeds. */
  atomic_fetch_sub_explicit(&k->inflight, 1, memory_order_release);
  if (s == RK_OK)
    rk__clear_detail();
  return s;
}

/* A call's deadline, read off the clock only when the call first waits:
** one that finds room or a response at once reads no clock (a round trip
** made two clock reads on its path for nothing). The timeout therefore
** counts from the call's first wait, which begins at most one claim or
** take after the call did. */
typedef struct rk_deadline {
  int64_t timeout_ns; /* < 0: none */
  int set;
  uint64_t at;
} rk_deadline;

static uint64_t deadline_at(rk_deadline *dl, uint64_t now) {
  if (!dl->set) {
    dl->at = dl->timeout_ns < 0 ? UINT64_MAX : now + (uint64_t)dl->timeout_ns;
    dl->set = 1;
  }
  return dl->at;
}

typedef int (*ready_fn)(rk_kernel *k, void *arg);

/* Waits until ready(k, arg) holds: spins RK_HOST_SPIN_NS, then sleeps on
** the backend's host event. RK_E_TIMEOUT past deadline, RK_E_TERMINATED
** once terminate began, or the backend's health failure. */
static rk_status wait_ready(rk_kernel *k, ready_fn ready, void *arg,
                            rk_deadline *dl) {
  uint64_t t0 = rk__now_ns();
  const uint64_t deadline = deadline_at(dl, t0);
  const uint64_t pause_ns =
      k->ops->host_pause_ns ? k->ops->host_pause_ns : RK_HOST_PAUSE_NS;
  for (uint32_t i = 0;; i++) {
    if (ready(k, arg))
      return RK_OK;
    if ((i & 63) == 0) {
      uint64_t now = rk__now_ns();
      rk_status s = must_end(k, now, deadline);
      if (s != RK_OK)
        return s;
      if (now - t0 > pause_ns + RK_HOST_SPIN_NS)
        break;
      if (now - t0 > pause_ns)
        sched_yield();
    }
    rk__cpu_relax();
  }
  for (;;) {
    int done;
    if (k->ops->host_wait_begin) {
      uint32_t seen = k->ops->host_wait_begin(k);
      done = ready(k, arg) || atomic_load(&k->lifecycle) == RK__K_TERMINATED;
      if (!done)
        k->ops->host_wait(k, seen, deadline);
      k->ops->host_wait_end(k);
    } else {
      uint32_t seen = k->ops->host_event(k);
      done = ready(k, arg);
      uint64_t slice = rk__now_ns() + 100000u;
      if (!done)
        k->ops->host_wait(k, seen, slice < deadline ? slice : deadline);
    }
    if (done || ready(k, arg))
      return RK_OK;
    rk_status s = must_end(k, rk__now_ns(), deadline);
    if (s != RK_OK)
      return s;
  }
}

/* ------------------------------------------------------------------ send */

/* Type check for send: the handler's request size. */
static rk_status check_send(rk_kernel *k, uint32_t type_id, size_t size) {
  const rk_kernel_desc *d = k->desc;
  for (uint32_t i = 0; i < d->n_handlers; i++)
    if (d->handlers[i].req_id == type_id) {
      const rk_msg_type *t = find_type(d, type_id);
      if (size != t->size)
        return rk__fail(RK_E_INVALID, "kernel %s: %s is %u bytes, not %zu",
                        d->name, t->name, t->size, size);
      return RK_OK;
    }
  return rk__fail(RK_E_INVALID, "kernel %s has no handler for type id %u",
                  d->name, type_id);
}

/* The input lane of actor (RK_ACTOR_ANY: none fixed, returns grid). */
static rk_status lane_of(rk_kernel *k, uint32_t actor, uint32_t *lane) {
  if (actor == RK_ACTOR_ANY && !k->desc->has_state) {
    *lane = k->grid;
    return RK_OK;
  }
  if (actor == RK_ACTOR_ANY) /* and the kernel has state */
    return rk__fail(RK_E_INVALID, "kernel %s has state: every message is "
                    "addressed to one of its %u actors (RK_ACTOR_ANY is for "
                    "stateless kernels)", k->desc->name, k->actors);
  if (actor >= k->actors)
    return rk__fail(RK_E_INVALID, "kernel %s: actor %u out of range "
                    "(%u actors)", k->desc->name, actor, k->actors);
  *lane = k->desc->has_state ? actor % k->grid : k->grid;
  return RK_OK;
}

/* Writes one request into its claimed slot and publishes it, with the
** correlation id corr taken with the claim (rk__lane_claim_id: unique,
** increasing along each lane, hence in each actor's acceptance order, and
** for each sending thread). Returns the id. */
static uint64_t put_request(rk_kernel *k, uint32_t lane, uint64_t pos,
                            uint64_t corr, uint32_t type_id, uint32_t actor,
                            const void *msg, uint32_t size) {
  rk_lane *l = &k->in[lane];
  if (l->ll_words) {
    const uint32_t hdr[RK_LL_HDR_WORDS] = {(uint32_t)corr,
                                           (uint32_t)(corr >> 32),
                                           type_id, actor, 0, size};
    rk__ll_put(l, pos, hdr, msg, size);
    return corr;
  }
  uint8_t *s = rk__slot(l, pos);
  int32_t code = 0;
  memcpy(s + RK_SLOT_OFF_CORR, &corr, 8);
  memcpy(s + RK_SLOT_OFF_TYPE, &type_id, 4);
  memcpy(s + RK_SLOT_OFF_AUX, &actor, 4);
  memcpy(s + RK_SLOT_OFF_CODE, &code, 4);
  memcpy(s + RK_SLOT_OFF_SIZE, &size, 4);
  memcpy(s + RK_SLOT_HDR, msg, size);
  rk__slot_publish(l, pos);
  return corr;
}

struct lane_arg { uint32_t lane; };

/* ready_fn: the lane (or, for grid, any lane) has a free slot. */
static int lane_has_room(rk_kernel *k, void *arg) {
  uint32_t lane = ((struct lane_arg *)arg)->lane;
  uint32_t lo = lane == k->grid ? 0 : lane;
  uint32_t hi = lane == k->grid ? k->grid : lane + 1;
  for (uint32_t w = lo; w < hi; w++) {
    rk_lane *l = &k->in[w];
    /* Relaxed: a hint only; the claim re-checks with acquire. */
    uint64_t c = rk__ld_rlx64(rk__lane_word(l, RK_RING_OFF_PROD_CLAIM));
    uint64_t h = rk__ld_rlx64(rk__lane_word(l, RK_RING_OFF_CONS_HEAD));
    if (c - h < l->cap)
      return 1;
  }
  return 0;
}

/* Claims up to n slots on lane (grid: any lane, round robin, trying every
** lane before giving up). Returns the count, the lane and the position. */
static uint32_t claim_some(rk_kernel *k, uint32_t lane, uint32_t n,
                           uint32_t *got_lane, uint64_t *pos, uint64_t *id) {
  if (lane != k->grid) {
    *got_lane = lane;
    return rk__lane_claim_id(&k->in[lane], n, pos, &k->next_corr, id);
  }
  /* Sticky round robin: stay on the current lane while its worker has
  ** caught up (the lane is empty), so one sender's round trips keep one
  ** worker hot and leave the others asleep instead of making cores + 1
  ** threads spin; move on as soon as it lags, so load spreads over all
  ** workers. Relaxed: rr only spreads the load; any value is correct. */
  uint32_t start = atomic_load_explicit(&k->rr, memory_order_relaxed);
  /* One worker: no choice to make, and the depth read below would pull
  ** the line the worker writes on every message into this core. */
  if (k->grid > 1 && rk__lane_depth(&k->in[start % k->grid]) != 0)
    start = atomic_fetch_add_explicit(&k->rr, 1, memory_order_relaxed) + 1;
  for (uint32_t i = 0; i < k->grid; i++) {
    uint32_t w = (start + i) % k->grid;
    uint32_t c = rk__lane_claim_id(&k->in[w], n, pos, &k->next_corr, id);
    if (c) {
      *got_lane = w;
      return c;
    }
  }
  return 0;
}

/* Sends n messages of one run to one lane (or any), waiting for room as
** the timeout says; message i goes to actors[i] (actors NULL: actor 0).
** *sent counts the accepted ones, in order. */
static rk_status send_run(rk_kernel *k, uint32_t lane, uint32_t type_id,
                          const uint32_t *actors, const uint8_t *msgs,
                          uint32_t size,
                          size_t n, rk_deadline *dl, int once,
                          uint64_t *corrs, size_t *sent) {
  size_t done = 0;
  while (done < n) {
    uint32_t want = n - done > 4096 ? 4096 : (uint32_t)(n - done), w;
    if (lane == k->grid && k->grid > 1) { /* stateless: spread a batch */
      size_t share = n / k->grid + (n % k->grid != 0); /* no overflow */
      want = want < share ? want : (uint32_t)share;
    }
    uint64_t pos = 0, id = 0;
    uint32_t got = claim_some(k, lane, want, &w, &pos, &id);
    if (got == 0) {
      if (once) {
        *sent = done;
        return rk__fail(RK_E_TIMEOUT, "kernel %s: queue full",
                        k->desc->name);
      }
      struct lane_arg a = {lane};
      rk_status s = wait_ready(k, lane_has_room, &a, dl);
      if (s != RK_OK) {
        *sent = done;
        return s;
      }
      continue;
    }
    RK__HOOK_CLAIMED(k, w, pos, got);
    for (uint32_t i = 0; i < got; i++) {
      uint32_t a = actors && k->desc->has_state ? actors[done + i] : 0;
      uint64_t c = put_request(k, w, pos + i, id + i + 1, type_id, a,
                               msgs + (done + i) * size, size);
      if (corrs)
        corrs[done + i] = c;
    }
    k->ops->wake(k, w); /* (received is the sum of the lanes' claims) */
    done += got;
    *sent = done;
  }
  return RK_OK;
}

rk_status rk_kernel_send(rk_kernel *k, uint32_t type_id, uint32_t actor,
                         const void *msg, size_t size, int64_t timeout_ns,
                         uint64_t *correlation) {
  if (!k || !msg)
    return rk__fail(RK_E_INVALID, "rk_kernel_send: NULL argument");
  rk_status s = enter(k);
  if (s != RK_OK)
    return s;
  uint32_t lane;
  if ((s = check_send(k, type_id, size)) != RK_OK ||
      (s = lane_of(k, actor, &lane)) != RK_OK)
    return leave(k, s);
  size_t sent = 0;
  uint64_t corr = 0;
  rk_deadline dl = {timeout_ns, 0, 0};
  s = send_run(k, lane, type_id, &actor, msg, (uint32_t)size, 1, &dl,
               timeout_ns == 0, &corr, &sent);
  if (s == RK_OK && correlation)
    *correlation = corr;
  return leave(k, s);
}

rk_status rk_kernel_send_batch(rk_kernel *k, uint32_t type_id,
                               const uint32_t *actors, const void *msgs,
                               size_t size, size_t n, int64_t timeout_ns,
                               uint64_t *correlations, size_t *sent) {
  size_t dummy;
  sent = sent ? sent : &dummy;
  *sent = 0;
  if (!k || (!msgs && n))
    return rk__fail(RK_E_INVALID, "rk_kernel_send_batch: NULL argument");
  rk_status s = enter(k);
  if (s != RK_OK)
    return s;
  if ((s = check_send(k, type_id, size)) != RK_OK)
    return leave(k, s);
  rk_deadline dl = {timeout_ns, 0, 0};
  const uint8_t *p = msgs;
  size_t i = 0;
  while (i < n && s == RK_OK) {
    uint32_t a = actors ? actors[i] : k->desc->has_state ? 0 : RK_ACTOR_ANY;
    uint32_t lane;
    if ((s = lane_of(k, a, &lane)) != RK_OK)
      break;
    size_t j = actors ? i + 1 : n; /* a run of messages for the same lane */
    while (j < n && (k->desc->has_state
                         ? actors[j] < k->actors && actors[j] % k->grid == lane
                         : actors[j] == RK_ACTOR_ANY || actors[j] < k->actors))
      j++;
    size_t got = 0;
    s = send_run(k, lane, type_id, actors ? actors + i : NULL, p + i * size,
                 (uint32_t)size, j - i, &dl, timeout_ns == 0,
                 correlations ? correlations + i : NULL, &got);
    i += got;
  }
  *sent = i;
  return leave(k, s);
}

/* ------------------------------------------------------------------ recv */

/* The output queue index of response type_id, checking size; -1 with the
** detail set when the kernel sends no such type. */
static int out_index(rk_kernel *k, uint32_t type_id, size_t size) {
  for (uint32_t t = 0; t < k->n_out; t++)
    if (k->out_ids[t] == type_id) {
      const rk_msg_type *ty = find_type(k->desc, type_id);
      if (size != ty->size) {
        (void)rk__fail(RK_E_INVALID, "kernel %s: %s is %u bytes, not %zu",
                       k->desc->name, ty->name, ty->size, size);
        return -1;
      }
      return (int)t;
    }
  (void)rk__fail(RK_E_INVALID, "kernel %s sends no type id %u",
                 k->desc->name, type_id);
  return -1;
}

/* Where this thread starts looking among a queue's lanes, so that many
** receivers do not all hammer lane 0. */
static _Thread_local uint32_t rk_recv_rotor;

struct out_arg { uint32_t t; };

/* ready_fn: some lane of output queue t has a full slot at cons_claim. */
static int out_has_msg(rk_kernel *k, void *arg) {
  uint32_t t = ((struct out_arg *)arg)->t;
  for (uint32_t w = 0; w < k->grid; w++) {
    rk_lane *l = &k->out[t * k->grid + w];
    /* Relaxed: a hint; the take re-checks each seq with acquire. */
    uint64_t c = rk__ld_rlx64(rk__lane_word(l, RK_RING_OFF_CONS_CLAIM));
    if (rk__slot_poll(l, c))
      return 1;
  }
  return 0;
}

/* Copies up to max responses out of queue t without waiting, from each of
** its lanes in turn (starting at this thread's rotor) until max are taken
** or every lane was looked at once; returns how many. A batch of many
** workers' answers thus comes back in one call, not one lane's run a call.
** With stop_at_fail a failed response is taken only as the first and only
** one (rk_kernel_recv_batch's contract: the call stops before a failed
** response, and returns it alone when it comes first). */
static uint32_t take_some(rk_kernel *k, uint32_t t, uint8_t *msgs,
                          uint32_t size, uint32_t max, int stop_at_fail,
                          uint64_t *corrs, rk_status *sts, int32_t *code,
                          int *failed) {
  uint32_t start = rk_recv_rotor++, total = 0;
  for (uint32_t i = 0; i < k->grid && total < max; i++) {
    rk_lane *l = &k->out[t * k->grid + (start + i) % k->grid];
    uint64_t pos = 0;
    uint32_t n = rk__lane_take_mc(
        l, max - total,
        stop_at_fail ? (total ? RK_TAKE_NO_FAILED : 1) : 0, &pos);
    for (uint32_t j = 0; j < n; j++) {
      uint64_t corr;
      uint32_t st;
      int32_t c;
      uint8_t *m = msgs + (size_t)(total + j) * size;
      if (l->ll_words) { /* every word validated by the take */
        uint32_t h[RK_LL_HDR_WORDS];
        rk__ll_get(l, pos + j, h, m, size);
        corr = (uint64_t)h[0] | (uint64_t)h[1] << 32;
        st = h[3];
        c = (int32_t)h[4];
      } else {
        uint8_t *s = rk__slot(l, pos + j);
        st = rk__slot_status(l, pos + j); /* owned: see take */
        memcpy(m, s + RK_SLOT_HDR, size);
        memcpy(&corr, s + RK_SLOT_OFF_CORR, 8);
        memcpy(&c, s + RK_SLOT_OFF_CODE, 4);
      }
      if (corrs)
        corrs[total + j] = corr;
      if (sts)
        sts[total + j] = st ? RK_E_HANDLER : RK_OK;
      if (st) {
        *code = c;
        *failed = 1;
      }
    }
    if (n) {
      rk__lane_done_mc(l, pos, n);
      k->ops->notify_host(k); /* room for a worker waiting to publish */
      total += n;
      if (stop_at_fail && *failed)
        break; /* the failed one, alone (total == 1) */
    }
  }
  return total;
}

/* Receives up to max (at least one, waiting as the timeout says). */
static rk_status recv_core(rk_kernel *k, uint32_t type_id, void *msgs,
                           size_t size, size_t max, int64_t timeout_ns,
                           uint64_t *corrs, rk_status *sts, size_t *got) {
  int t = out_index(k, type_id, size);
  if (t < 0)
    return RK_E_INVALID;
  rk_deadline dl = {timeout_ns, 0, 0};
  uint32_t cap = max > 65536 ? 65536 : (uint32_t)max;
  int32_t code = 0;
  int failed = 0;
  for (;;) {
    uint32_t n = take_some(k, (uint32_t)t, msgs, (uint32_t)size, cap,
                           sts == NULL, corrs, sts, &code, &failed);
    if (n) {
      *got = n;
      if (sts == NULL && failed)
        return rk__fail(RK_E_HANDLER, "handler failed with code %d", code);
      return RK_OK;
    }
    if (timeout_ns == 0)
      return rk__fail(RK_E_TIMEOUT, "kernel %s: no response waiting",
                      k->desc->name);
    struct out_arg a = {(uint32_t)t};
    rk_status s = wait_ready(k, out_has_msg, &a, &dl);
    if (s != RK_OK)
      return s;
  }
}

rk_status rk_kernel_recv(rk_kernel *k, uint32_t type_id, void *msg,
                         size_t size, int64_t timeout_ns,
                         uint64_t *correlation) {
  if (!k || !msg)
    return rk__fail(RK_E_INVALID, "rk_kernel_recv: NULL argument");
  rk_status s = enter(k);
  if (s != RK_OK)
    return s;
  size_t got = 0;
  uint64_t corr = 0;
  s = recv_core(k, type_id, msg, size, 1, timeout_ns, &corr, NULL, &got);
  if (got && correlation)
    *correlation = corr;
  return leave(k, s);
}

rk_status rk_kernel_recv_batch(rk_kernel *k, uint32_t type_id, void *msgs,
                               size_t size, size_t max, int64_t timeout_ns,
                               uint64_t *correlations, rk_status *statuses,
                               size_t *got) {
  size_t dummy;
  got = got ? got : &dummy;
  *got = 0;
  if (!k || !msgs || max == 0)
    return rk__fail(RK_E_INVALID, "rk_kernel_recv_batch: bad argument");
  rk_status s = enter(k);
  if (s != RK_OK)
    return s;
  s = recv_core(k, type_id, msgs, size, max, timeout_ns, correlations,
                statuses, got);
  return leave(k, s);
}

/* -------------------------------------------------------------- lifecycle */

/* Moves ACTIVE <-> INACTIVE and tells the workers. */
static rk_status set_active(rk_kernel *k, int on) {
  if (!k)
    return rk__fail(RK_E_INVALID, "NULL kernel");
  pthread_mutex_lock(k->life_lock);
  if (atomic_load(&k->lifecycle) == RK__K_TERMINATED) {
    pthread_mutex_unlock(k->life_lock);
    return rk__fail(RK_E_TERMINATED, "kernel %s is terminated",
                    k->desc->name);
  }
  atomic_store(&k->lifecycle, on ? RK__K_ACTIVE : RK__K_INACTIVE);
  /* Relaxed: a flag that publishes nothing; the wake below makes a
  ** sleeping worker look at it (its fence pairs with the wake's). */
  rk__st_rlx32(&k->ctl->active, (uint32_t)on);
  for (uint32_t w = 0; w < k->grid; w++)
    k->ops->wake(k, w);
  pthread_mutex_unlock(k->life_lock);
  rk__clear_detail();
  return RK_OK;
}

rk_status rk_kernel_activate(rk_kernel *k) { return set_active(k, 1); }
rk_status rk_kernel_deactivate(rk_kernel *k) { return set_active(k, 0); }

const char *rk_kernel_name(const rk_kernel *k) {
  return k ? k->desc->name : "";
}

/* Sends accepted: every claimed slot is published (nothing fails between
** claim and publish), so the sum of the input lanes' claims counts them
** without a shared counter on the send path. Exact once no send runs. */
static uint64_t accepted(rk_kernel *k) {
  uint64_t n = 0;
  for (uint32_t w = 0; w < k->grid; w++)
    /* Relaxed: a statistic; terminate reads it after inflight drops. */
    n += rk__ld_rlx64(rk__lane_word(&k->in[w], RK_RING_OFF_PROD_CLAIM));
  return n;
}

/* Live figures from the workers' counters. */
static void live_stats(rk_kernel *k, rk_kernel_stats *o) {
  memset(o, 0, sizeof *o);
  uint64_t dmax = 0;
  for (uint32_t w = 0; w < k->grid; w++) {
    rk_worker_status *ws = &k->wstat[w];
    /* Relaxed: statistics, each word written by its worker alone. */
    o->handled += rk__ld_rlx64(&ws->handled);
    o->replied += rk__ld_rlx64(&ws->replied);
    o->failed += rk__ld_rlx64(&ws->failed);
    dmax += rk__ld_rlx64(&ws->depth_max);
  }
  /* Read after the workers' counters, so handled <= received holds
  ** unless a send raced us; clamped below. */
  o->received = accepted(k);
  if (o->handled > o->received)
    o->received = o->handled;
  o->queue_depth = o->received - o->handled;
  uint64_t m = atomic_load_explicit(&k->depth_max, memory_order_relaxed);
  m = m > dmax ? m : dmax;
  m = m > o->queue_depth ? m : o->queue_depth;
  m = m < o->received ? m : o->received;
  /* Relaxed: a statistic; a lost race only loses a smaller maximum. */
  atomic_store_explicit(&k->depth_max, m, memory_order_relaxed);
  o->queue_depth_max = m;
  o->queue_bytes = k->queue_bytes;
  o->uptime_ns = rk__now_ns() - k->t_launch;
  o->grid = k->grid;
  o->block = k->block;
  o->backend = k->backend;
}

rk_status rk_kernel_stats_get(rk_kernel *k, rk_kernel_stats *out) {
  if (!k || !out)
    return rk__fail(RK_E_INVALID, "rk_kernel_stats_get: NULL argument");
  if (atomic_load(&k->lifecycle) == RK__K_TERMINATED)
    return rk__fail(RK_E_TERMINATED, "kernel %s is terminated",
                    k->desc->name);
  live_stats(k, out);
  rk__clear_detail();
  return RK_OK;
}

/* Stops the workers of a kernel whose lifecycle is already TERMINATED and
** in which no send or recv is running; fills k->final. */
static rk_status stop_workers(rk_kernel *k) {
  /* Release: every slot published before (all sends have left, see
  ** enter/leave) happens before the worker's acquire of stop, so a worker
  ** that sees stop and then an empty lane has handled them all. */
  rk__st_rel32(&k->ctl->stop, 1);
  for (uint32_t w = 0; w < k->grid; w++)
    k->ops->wake(k, w);
  k->ops->notify_host(k); /* workers waiting for room in an output lane */
  rk_status s = k->ops->join(k, RK_TERM_STALL_NS);
  if (s != RK_OK) {
    k->leaked = 1;
    rk__log(RK_LOG_WARN, "kernel %s: workers did not stop; abandoned",
            k->desc->name);
  }
  live_stats(k, &k->final);
  k->final.received = accepted(k);
  k->final.unhandled = k->final.received - k->final.handled;
  k->final.queue_depth = 0;
  k->t_end = rk__now_ns();
  k->final.uptime_ns = k->t_end - k->t_launch;
  return s;
}

rk_status rk_kernel_terminate(rk_kernel *k, rk_kernel_stats *final) {
  if (!k)
    return rk__fail(RK_E_INVALID, "rk_kernel_terminate: NULL kernel");
  pthread_mutex_lock(k->life_lock);
  if (atomic_load(&k->lifecycle) == RK__K_TERMINATED) {
    if (final)
      *final = k->final;
    pthread_mutex_unlock(k->life_lock);
    return rk__fail(RK_E_TERMINATED, "kernel %s is terminated",
                    k->desc->name);
  }
  /* seq_cst: pairs with enter() (see there). */
  atomic_store(&k->lifecycle, RK__K_TERMINATED);
  k->ops->notify_host(k); /* waiting senders and receivers leave */
  /* Waiting callers leave at once; a call stalled inside (its thread
  ** descheduled or stopped between claim and publish) is waited for
  ** RK_TERM_STALL_NS at most: its claimed slot then counts as unhandled. */
  uint64_t t0 = rk__now_ns();
  uint32_t stuck = 0;
  while ((stuck = atomic_load(&k->inflight)) != 0 &&
         rk__now_ns() - t0 < (uint64_t)RK_TERM_STALL_NS) {
    k->ops->notify_host(k);
    sched_yield();
  }
  rk_status s = stop_workers(k);
  if (final)
    *final = k->final;
  pthread_mutex_unlock(k->life_lock);
  if (s == RK_OK && stuck == 0)
    rk__clear_detail();
  else if (s == RK_OK)
    s = rk__fail(RK_E_TIMEOUT, "kernel %s: %u send/recv calls did not "
                 "leave within %lld ms; stopped without them",
                 k->desc->name, stuck, RK_TERM_STALL_NS / 1000000);
  else
    s = rk__fail(RK_E_TIMEOUT, "kernel %s: workers did not stop within "
                 "%lld ms; abandoned", k->desc->name,
                 RK_TERM_STALL_NS / 1000000);
  return s;
}
