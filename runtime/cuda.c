/* SPDX-License-Identifier: MIT */
/*
** cuda.c: the CUDA backend. The driver is opened with dlopen and every entry
** point resolved through cuGetProcAddress; kernels are compiled by NVRTC
** (cache.c), validated, then launched cooperatively as persistent kernels
** (templates/cuda_loop.tmpl), one block per worker, one stream per kernel.
** A watchdog per device reads the workers' heartbeats; once a device faults
** nothing blocking is called on it again and its memory is leaked.
*/
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda_api.h"
#include "nvrtc.h"

/* ------------------------------------------------- device-side mirrors */

/* Mirrors rk_dlane and rk_ddesc of templates/cuda_prelude.tmpl. */
typedef struct rk_dlane_h {
  uint64_t base;
  uint32_t mask, slot_bytes;
} rk_dlane_h;

typedef struct rk_ddesc_h {
  uint64_t in, out, out_ids, out_size;
  uint32_t ll_win, nbuf, buf_off, beat_cycles;
  uint64_t wstat, ctl, exited, states, scratch, state_stride;
  uint32_t grid, n_out, actors, has_state, req_bytes, resp_bytes,
      busy_cycles, max_sleep_ns;
  uint32_t istage_off, ostage_off, poll_gap, istage_msgs;
} rk_ddesc_h;

_Static_assert(sizeof(rk_dlane_h) == 16, "rk_dlane mirror");
_Static_assert(sizeof(rk_ddesc_h) == 144, "rk_ddesc mirror");
_Static_assert(offsetof(rk_ddesc_h, ll_win) == 32, "rk_ddesc.ll_win");
_Static_assert(offsetof(rk_ddesc_h, wstat) == 48, "rk_ddesc.wstat");
_Static_assert(offsetof(rk_ddesc_h, exited) == 64, "rk_ddesc.exited");
_Static_assert(offsetof(rk_ddesc_h, state_stride) == 88, "rk_ddesc.stride");
_Static_assert(offsetof(rk_ddesc_h, grid) == 96, "rk_ddesc.grid");
_Static_assert(offsetof(rk_ddesc_h, req_bytes) == 112, "rk_ddesc.req_bytes");
_Static_assert(offsetof(rk_ddesc_h, max_sleep_ns) == 124, "rk_ddesc.sleep");
_Static_assert(offsetof(rk_ddesc_h, istage_off) == 128, "rk_ddesc.istage");
_Static_assert(offsetof(rk_ddesc_h, istage_msgs) == 140, "rk_ddesc.imsgs");
/* the prelude's RK_WSTAT_* and RK_CTL_* offsets */
_Static_assert(sizeof(rk_worker_status) == 256, "RK_WSTAT_BYTES");
_Static_assert(offsetof(rk_worker_status, heartbeat) == 24, "heartbeat");
_Static_assert(offsetof(rk_worker_status, pad) == 40, "RK_WSTAT_OFF_TRACE");
_Static_assert(offsetof(rk_control, abort) == 8, "RK_CTL_OFF_ABORT");

/* ------------------------------------------------------------ settings */

#define RK_CUDA_MAX_DEV 16
/* Share of each device's co-resident blocks kept free for the program's
** own kernels: a ring kernel that fills the device stops every later kernel
** from starting (cuda-notes.md). */
#define RK_CUDA_RESERVE 0.125
/* grid = auto for a stateless kernel: 16 rings carried > 100 M msg/s
** (performance.md, lesson 5); more idle pollers only slow each other, and
** more busy ones split the same sends into smaller batches: with 8 host
** threads 16 workers carried 47 M msg/s, 32, 64 and 128 carried 36, 31
** and 22 (rk-bench, H200, 2026-12-02, bench/RESULTS.md). */
#define RK_CUDA_STATELESS_GRID 16u
/* A worker whose heartbeat has not moved for this long (and whose kernel
** has not exited) is taken as a fault. The I/O warp beats about every
** 20 us while its handlers make progress or are idle, so only a handler
** that runs longer than this (or a hung one) trips it. RK_CUDA_STALL_MS
** overrides. */
#define RK_CUDA_STALL_MS 50u
#define RK_CUDA_WATCH_NS 1000000u /* the watchdog's period */

/* ---------------------------------------------------------- the driver */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static rk_cu_api cu;          /* valid once g_loaded */
static int g_loaded;          /* under g_lock */
static int g_driver_version;  /* e.g. 13000 */

static const char *cu_name(CUresult r) {
  const char *s = NULL;
  if (!cu.cuGetErrorName || cu.cuGetErrorName(r, &s) != 0 || !s)
    return "CUDA_ERROR_UNKNOWN";
  return s;
}

/* Resolves every entry of RK_CU_ENTRIES through cuGetProcAddress at its own
** version. 0, or -1 with the missing name in *missing. */
static int resolve_entries(void *h, const char **missing) {
  rk_cuGetProcAddress_v2_t gpa2 =
      (rk_cuGetProcAddress_v2_t)(uintptr_t)dlsym(h, "cuGetProcAddress_v2");
  rk_cuGetProcAddress_t gpa1 =
      (rk_cuGetProcAddress_t)(uintptr_t)dlsym(h, "cuGetProcAddress");
  if (!gpa2 && !gpa1) {
    *missing = "cuGetProcAddress";
    return -1;
  }
#define RK__CU_RESOLVE(name, ver, args)                                     \
  {                                                                         \
    void *p = NULL;                                                         \
    int st = 0;                                                             \
    CUresult r = gpa2 ? gpa2(#name, &p, ver, 0, &st) : gpa1(#name, &p, ver, 0); \
    if (r != 0 || !p) {                                                     \
      *missing = #name;                                                     \
      return -1;                                                            \
    }                                                                       \
    *(void **)&cu.name = p;                                                 \
  }
  RK_CU_ENTRIES(RK__CU_RESOLVE)
#undef RK__CU_RESOLVE
  return 0;
}

/* Why cuInit failed, in words. */
static rk_status init_failure(CUresult r, const char *lib) {
  if (r == RK_CU_ERROR_STUB_LIBRARY)
    return rk__fail(RK_E_NO_DEVICE, "%s is the CUDA toolkit's stub library "
                    "(CUDA_ERROR_STUB_LIBRARY): no NVIDIA driver installed",
                    lib);
  if (r == RK_CU_ERROR_NO_DEVICE)
    return rk__fail(RK_E_NO_DEVICE, "the CUDA driver sees no device");
  if (r == RK_CU_ERROR_INSUFFICIENT_DRIVER)
    return rk__fail(RK_E_NO_DEVICE, "the CUDA driver is too old");
  return rk__fail(RK_E_NO_DEVICE, "cuInit failed: %s (%d)", cu_name(r), r);
}

/* Under g_lock: dlopen, resolve, cuInit. A failure closes the library and
** is not remembered, so a later call (another RK_CUDA_DRIVER) tries again. */
static rk_status load_driver_locked(void) {
  const char *env = getenv("RK_CUDA_DRIVER");
  const char *lib = env && *env ? env : "libcuda.so.1";
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return rk__fail(RK_E_NO_DEVICE, "no CUDA driver: %s", dlerror());
  const char *missing = NULL;
  memset(&cu, 0, sizeof cu);
  if (resolve_entries(h, &missing) != 0) {
    /* the stub library may lack entries too: say what it is if we can */
    CUresult (*init)(unsigned) =
        (CUresult(*)(unsigned))(uintptr_t)dlsym(h, "cuInit");
    CUresult r = init ? init(0) : RK_CU_ERROR_NOT_FOUND;
    rk_status s = r == RK_CU_ERROR_STUB_LIBRARY
                      ? init_failure(r, lib)
                      : rk__fail(RK_E_NO_DEVICE, "CUDA driver %s lacks %s",
                                 lib, missing);
    dlclose(h);
    return s;
  }
  /* More streams than ring kernels, or kernels queue behind each other
  ** (cuda-notes.md); must be set before the driver creates a context. */
  setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
  /* Lazy loading (the default since CUDA 12.2) loads a function at its
  ** first launch and may synchronise the context to do it: a deadlock
  ** while a persistent kernel runs. Load modules whole, at load time. */
  setenv("CUDA_MODULE_LOADING", "EAGER", 0);
  CUresult r = cu.cuInit(0);
  if (r != 0) {
    rk_status s = init_failure(r, lib);
    memset(&cu, 0, sizeof cu);
    dlclose(h);
    return s;
  }
  cu.cuDriverGetVersion(&g_driver_version);
  g_loaded = 1; /* never dlclose a working driver */
  return RK_OK;
}

static rk_status load_driver(void) {
  pthread_mutex_lock(&g_lock);
  rk_status s = g_loaded ? RK_OK : load_driver_locked();
  pthread_mutex_unlock(&g_lock);
  return s;
}

/* ------------------------------------------------------------- devices */

typedef struct rk_cuk rk_cuk;

/* Deferred frees: a free may synchronise the device, which would wait for
** ever on a running ring kernel; they are done once none runs. */
typedef struct rk_grave {
  struct rk_grave *next;
  void *host;          /* cuMemFreeHost */
  CUdeviceptr dev;     /* cuMemFree */
  CUstream stream;
} rk_grave;

/* A loaded module, shared by every kernel of one generated source (a
** schema's kernels share one .rk.cu) and never unloaded: loading or
** unloading a module while a persistent kernel runs may wait for the
** device to go idle, i.e. for ever. */
typedef struct rk_cumod {
  struct rk_cumod *next;
  const char *src;           /* the desc's cuda_source (static text) */
  size_t len;
  CUmodule mod;
} rk_cumod;

typedef struct rk_cudev {
  int ready;                 /* context retained, attributes read */
  CUdevice dev;
  CUcontext ctx;
  int arch, sms, smem_optin, clock_khz;
  char name[128];
  _Atomic int faulted;       /* once set, never cleared */
  char fault[512];           /* why (written before faulted is set) */
  pthread_mutex_t lock;      /* the fields below */
  double used;               /* share of the device live ring kernels hold */
  rk_cuk *running;           /* launched, not known to have exited */
  struct rk_cumod *mods;     /* loaded modules, kept for the process */
  rk_grave *graves;
  pthread_t watchdog;
  int wd_on, wd_stop;
} rk_cudev;

static rk_cudev g_dev[RK_CUDA_MAX_DEV];

enum { RK_CUK_NEW, RK_CUK_RUNNING, RK_CUK_EXITED, RK_CUK_ABANDONED };

/* A CUDA kernel's backend state (k->impl). */
struct rk_cuk {
  rk_kernel *k;
  rk_cudev *d;
  CUmodule mod;
  CUfunction fn;
  CUstream stream;
  uint32_t smem;             /* dynamic shared memory per block */
  uint32_t req_bytes, resp_bytes;
  uint32_t nbuf;             /* message buffers per worker */
  uint32_t buf_off;          /* their offset in smem (after the out table) */
  uint32_t istage_off;       /* bulk copies' staging (0: none), prelude */
  uint32_t istage_msgs;      /* windows it holds */
  uint32_t ostage_off;
  uint32_t threads;          /* block + the I/O warp */
  double share;              /* of the device, in the ledger */
  int in_ledger;
  CUdeviceptr dmem;          /* descriptor, lane table, positions, states */
  uint32_t *exited;          /* [grid], mapped */
  int state;                 /* RK_CUK_* (under d->lock once running) */
  uint64_t *beat, *beat_ns;  /* watchdog: last heartbeat seen and when */
  uint64_t last_query_ns;
  _Atomic uint32_t ev;       /* host event counter */
  rk_cuk *next;              /* in d->running */
};

static void ctx_on(rk_cudev *d) { cu.cuCtxSetCurrent(d->ctx); }

static uint32_t env_u32(const char *name, uint32_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v)
    return dflt;
  char *end;
  unsigned long x = strtoul(v, &end, 10);
  return *end || x > 0xffffffffu ? dflt : (uint32_t)x;
}

/* Checks device n's ordinal and attributes (no context). */
static rk_status check_device(uint32_t n, CUdevice *dev, int *arch) {
  int count = 0, coop = 0, map = 0, uva = 0, ma = 0, mi = 0;
  CUresult r = cu.cuDeviceGetCount(&count);
  if (r != 0 || count == 0)
    return rk__fail(RK_E_NO_DEVICE, "the CUDA driver sees no device (%s)",
                    r ? cu_name(r) : "count 0");
  if ((int)n >= count)
    return rk__fail(RK_E_NO_DEVICE, "device %u asked for, %d present", n,
                    count);
  if ((r = cu.cuDeviceGet(dev, (int)n)) != 0)
    return rk__fail(RK_E_NO_DEVICE, "cuDeviceGet(%u): %s", n, cu_name(r));
  cu.cuDeviceGetAttribute(&coop, RK_CU_DEV_COOPERATIVE_LAUNCH, *dev);
  cu.cuDeviceGetAttribute(&map, RK_CU_DEV_CAN_MAP_HOST_MEMORY, *dev);
  cu.cuDeviceGetAttribute(&uva, RK_CU_DEV_UNIFIED_ADDRESSING, *dev);
  cu.cuDeviceGetAttribute(&ma, RK_CU_DEV_CC_MAJOR, *dev);
  cu.cuDeviceGetAttribute(&mi, RK_CU_DEV_CC_MINOR, *dev);
  if (!coop)
    return rk__fail(RK_E_NO_DEVICE, "device %u has no cooperative launch", n);
  if (!map || !uva)
    return rk__fail(RK_E_NO_DEVICE, "device %u cannot map host memory", n);
  if (ma < 7)
    return rk__fail(RK_E_NO_DEVICE, "device %u is sm_%d%d; sm_70 or newer "
                    "is needed", n, ma, mi);
  *arch = ma * 10 + mi;
  return RK_OK;
}

/* NVRTC loads and is not newer than the driver. */
static rk_status check_nvrtc(void) {
  rk_status s = rk__nvrtc_load(g_driver_version / 1000);
  if (s != RK_OK)
    return s;
  int ma, mi;
  rk__nvrtc_version(&ma, &mi);
  if (ma * 1000 + mi * 10 > g_driver_version)
    return rk__fail(RK_E_NO_DEVICE, "NVRTC %d.%d (%s) is newer than the "
                    "driver's CUDA %d.%d", ma, mi, rk__nvrtc_path(),
                    g_driver_version / 1000, g_driver_version % 1000 / 10);
  return RK_OK;
}

rk_status rk__cuda_probe(uint32_t device) {
  CUdevice dev;
  int arch;
  rk_status s = load_driver();
  if (s == RK_OK)
    s = check_device(device, &dev, &arch);
  if (s == RK_OK)
    s = check_nvrtc();
  if (s == RK_OK && device < RK_CUDA_MAX_DEV &&
      atomic_load(&g_dev[device].faulted))
    s = rk__fail(RK_E_NO_DEVICE, "device %u faulted earlier: %s", device,
                 g_dev[device].fault);
  return s;
}

/* Device n ready for use: context retained, attributes read. */
static rk_status device_get(uint32_t n, rk_cudev **out) {
  if (n >= RK_CUDA_MAX_DEV)
    return rk__fail(RK_E_INVALID, "device %u: at most %d devices", n,
                    RK_CUDA_MAX_DEV);
  rk_status s = rk__cuda_probe(n);
  if (s != RK_OK)
    return s;
  rk_cudev *d = &g_dev[n];
  pthread_mutex_lock(&g_lock);
  if (!d->ready) {
    int arch = 0;
    CUresult r;
    if ((s = check_device(n, &d->dev, &arch)) == RK_OK &&
        (r = cu.cuDevicePrimaryCtxRetain(&d->ctx, d->dev)) != 0)
      s = rk__fail(RK_E_CUDA, "cuDevicePrimaryCtxRetain: %s", cu_name(r));
    if (s == RK_OK) {
      d->arch = arch;
      cu.cuDeviceGetAttribute(&d->sms, RK_CU_DEV_SM_COUNT, d->dev);
      if (cu.cuDeviceGetAttribute(&d->clock_khz, RK_CU_DEV_CLOCK_RATE,
                                  d->dev) != 0 || d->clock_khz <= 0)
        d->clock_khz = 2000000; /* 2 GHz: the loop's times stay sane */
      cu.cuDeviceGetAttribute(&d->smem_optin,
                              RK_CU_DEV_MAX_SHARED_PER_BLOCK_OPTIN, d->dev);
      cu.cuDeviceGetName(d->name, sizeof d->name, d->dev);
      pthread_mutex_init(&d->lock, NULL);
      d->ready = 1;
      rk__log(RK_LOG_INFO, "cuda: device %u %s, sm_%d, %d SMs, driver %d",
              n, d->name, arch, d->sms, g_driver_version);
    }
  }
  pthread_mutex_unlock(&g_lock);
  *out = d;
  return s;
}

static rk_status fault_status(rk_cudev *d) {
  return rk__fail(RK_E_DEVICE_FAULT, "the device faulted: %s", d->fault);
}

/* Marks the device faulted (first reason wins). Called with d->lock. */
static void device_fault(rk_cudev *d, const char *why) {
  if (atomic_load(&d->faulted))
    return;
  snprintf(d->fault, sizeof d->fault, "%s", why);
  /* release: the reason is written before anyone sees faulted */
  atomic_store_explicit(&d->faulted, 1, memory_order_release);
  rk__log(RK_LOG_ERROR, "cuda: device %s faulted: %s; its ring kernels are "
          "abandoned and their memory leaked", d->name, why);
}

/* ------------------------------------------------------------ watchdog */

/* One look at a running kernel (d->lock held): heartbeats, exit marks and,
** once all workers exited, the stream's status. Returns 1 when all workers
** exited. */
static int watch_kernel(rk_cuk *c, uint64_t now, uint64_t stall_ns) {
  rk_kernel *k = c->k;
  char why[256];
  uint32_t live = 0;
  for (uint32_t b = 0; b < k->grid; b++) {
    /* acquire: pairs with the block's release of its exit mark */
    if (__atomic_load_n(&c->exited[b], __ATOMIC_ACQUIRE))
      continue;
    live++;
    /* relaxed: the heartbeat is a counter, nothing hangs off it */
    uint64_t hb = __atomic_load_n(&k->wstat[b].heartbeat, __ATOMIC_RELAXED);
    if (hb != c->beat[b]) {
      c->beat[b] = hb;
      c->beat_ns[b] = now;
    } else if (now - c->beat_ns[b] > stall_ns) {
      snprintf(why, sizeof why, "kernel %s: worker %u has not beaten for "
               "%llu ms (a trap, an illegal access, or a handler running "
               "longer than %llu ms)", k->desc->name, b,
               (unsigned long long)((now - c->beat_ns[b]) / 1000000u),
               (unsigned long long)(stall_ns / 1000000u));
      device_fault(c->d, why);
      return 0;
    }
  }
  /* The stream is asked only once every worker has exited, to confirm the
  ** kernel ended cleanly. Never while it runs: after a fault the driver can
  ** take hundreds of ms to answer cuStreamQuery (cuda-notes.md), and this
  ** thread holds d->lock and must keep reading heartbeats meanwhile (seen:
  ** a __trap noticed after over 100 ms while a periodic query blocked). The
  ** heartbeat detects; a stalled kernel is a fault whatever its stream says. */
  if (live == 0) {
    c->last_query_ns = now;
    CUresult r = cu.cuStreamQuery(c->stream);
    if (r != 0 && r != RK_CU_ERROR_NOT_READY) {
      snprintf(why, sizeof why, "kernel %s: %s", k->desc->name, cu_name(r));
      device_fault(c->d, why);
    } else if (r == 0 && live > 0) {
      snprintf(why, sizeof why, "kernel %s ended with %u workers that never "
               "reported their exit", k->desc->name, live);
      device_fault(c->d, why);
    }
  }
  return live == 0;
}

static void *watchdog_main(void *arg) {
  rk_cudev *d = arg;
  uint64_t stall_ns = (uint64_t)env_u32("RK_CUDA_STALL_MS", RK_CUDA_STALL_MS)
                      * 1000000u;
  struct timespec ts = {0, RK_CUDA_WATCH_NS};
  ctx_on(d);
  pthread_mutex_lock(&d->lock);
  while (!d->wd_stop && !atomic_load(&d->faulted)) {
    uint64_t now = rk__now_ns();
    for (rk_cuk *c = d->running; c && !atomic_load(&d->faulted); c = c->next)
      (void)watch_kernel(c, now, stall_ns);
    pthread_mutex_unlock(&d->lock);
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&d->lock);
  }
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

/* With d->lock: starts the watchdog if it is not running. */
static void watchdog_start(rk_cudev *d) {
  if (d->wd_on)
    return;
  d->wd_stop = 0;
  if (pthread_create(&d->watchdog, NULL, watchdog_main, d) == 0)
    d->wd_on = 1;
  else
    rk__log(RK_LOG_WARN, "cuda: no watchdog thread: faults will be seen "
            "late");
}

/* Stops the watchdog once nothing runs (called without d->lock). */
static void watchdog_stop_if_idle(rk_cudev *d) {
  pthread_mutex_lock(&d->lock);
  int stop = d->wd_on && !d->running;
  if (stop)
    d->wd_stop = 1;
  pthread_mutex_unlock(&d->lock);
  if (stop) {
    pthread_join(d->watchdog, NULL);
    pthread_mutex_lock(&d->lock);
    d->wd_on = d->running ? d->wd_on : 0;
    if (d->running && !d->wd_on)
      watchdog_start(d);
    pthread_mutex_unlock(&d->lock);
  }
}

/* ------------------------------------------------------ deferred frees */

static void grave_free(rk_grave *g) {
  if (g->host)
    cu.cuMemFreeHost(g->host);
  if (g->dev)
    cu.cuMemFree(g->dev);
  if (g->stream)
    cu.cuStreamDestroy(g->stream);
  free(g);
}

/* Frees what was deferred, if no ring kernel runs and the device is sound
** (after a fault everything is leaked: no blocking call may be made). */
static void graves_drain(rk_cudev *d) {
  pthread_mutex_lock(&d->lock);
  rk_grave *g = NULL;
  if (!d->running && !atomic_load(&d->faulted)) {
    g = d->graves;
    d->graves = NULL;
  }
  pthread_mutex_unlock(&d->lock);
  if (g)
    ctx_on(d);
  while (g) {
    rk_grave *n = g->next;
    grave_free(g);
    g = n;
  }
}

static void grave_add(rk_cudev *d, void *host, CUdeviceptr dev,
                      CUstream stream) {
  rk_grave *g = calloc(1, sizeof *g);
  if (!g)
    return; /* leaked */
  g->host = host;
  g->dev = dev;
  g->stream = stream;
  pthread_mutex_lock(&d->lock);
  g->next = d->graves;
  d->graves = g;
  pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------- kernels */

static uint32_t round16(uint32_t n) { return (n + 15u) & ~15u; }

static uint32_t kernel_device(const rk_kernel *k) {
  return k->rt ? rk__runtime_settings(k->rt)->device : 0u;
}

/* k->impl, created on first use with its device ready. */
static rk_status impl_get(rk_kernel *k, rk_cuk **out) {
  if (k->impl) {
    *out = k->impl;
    return RK_OK;
  }
  rk_cudev *d = NULL;
  rk_status s = device_get(kernel_device(k), &d);
  if (s != RK_OK)
    return s;
  rk_cuk *c = calloc(1, sizeof *c);
  if (!c)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
  c->k = k;
  c->d = d;
  k->impl = c;
  *out = c;
  return RK_OK;
}

/* The module for the kernel: from the cache or NVRTC, loaded. A cached
** image the driver refuses is deleted and compiled again, once. */
static rk_status load_module_new(rk_cuk *c);

/* c->mod: the device's module for this source, loaded once (under
** g_mod_lock, not the device lock that the watchdog takes every ms). */
static pthread_mutex_t g_mod_lock = PTHREAD_MUTEX_INITIALIZER;

static rk_status load_module(rk_cuk *c) {
  const char *src = c->k->desc->cuda_source;
  size_t len = src ? strlen(src) : 0;
  rk_status s = RK_OK;
  pthread_mutex_lock(&g_mod_lock);
  rk_cumod *m = c->d->mods;
  while (m && !(m->len == len &&
                (m->src == src || memcmp(m->src, src, len) == 0)))
    m = m->next;
  if (m) {
    c->mod = m->mod;
  } else if ((s = load_module_new(c)) == RK_OK) {
    m = calloc(1, sizeof *m);
    if (m) { /* if this fails the module is merely not shared */
      m->src = src;
      m->len = len;
      m->mod = c->mod;
      m->next = c->d->mods;
      c->d->mods = m;
    }
  }
  pthread_mutex_unlock(&g_mod_lock);
  return s;
}

/* Compiles (or takes from the disk cache) and loads a new module. */
static rk_status load_module_new(rk_cuk *c) {
  const rk_kernel_desc *desc = c->k->desc;
  const char *setting = c->k->rt ? rk__runtime_settings(c->k->rt)->cache_dir
                                 : "";
  if (!desc->cuda_source || !desc->cuda_entry)
    return rk__fail(RK_E_INVALID, "kernel %s has no CUDA source",
                    desc->name);
  for (int attempt = 0;; attempt++) {
    rk_image img;
    char key[33], dir[4096];
    int hit = 0;
    rk_status s = rk__image_get(desc->cuda_source, desc->qualified, c->d->arch,
                                attempt ? NULL : setting, &img, &hit, key);
    if (s != RK_OK)
      return s;
    CUresult r = cu.cuModuleLoadData(&c->mod, img.data);
    rk__image_free(&img);
    if (r == 0)
      return RK_OK;
    if (hit && attempt == 0 && rk__cache_dir(setting, dir, sizeof dir) == 0) {
      rk__log(RK_LOG_WARN, "cuda: cached image %s refused (%s); recompiling",
              key, cu_name(r));
      rk__cache_drop(dir, key);
      continue;
    }
    return rk__fail(RK_E_CUDA, "kernel %s: cuModuleLoadData: %s",
                    desc->name, cu_name(r));
  }
}

/* Dynamic shared memory: the worker's output table (the prelude's rk_dout,
** 48 bytes a response type; n_handlers bounds n_out), then its message
** buffers (request + response each): as many as fit RK_CUDA_BUF_SMEM, a
** power of two up to 128 (the I/O warp reads the next messages while the
** handlers run the previous ones), at least 2; then, on sm_90 and later,
** the staging areas of the I/O warp's bulk copies (prelude): the windows
** of a batch read (half the buffers, at most RK_CUDA_ISTAGE bytes; only
** when a request slot is its window, so a run of slots is one copy) and
** 32 answer slots (when a response slot is at most RK_CUDA_OSTAGE_SLOT
** bytes). RK_CUDA_BULK=0 leaves them out (the loads and stores of older
** targets). When that does not fit, the staging goes; when 2 buffers do
** not fit even the opt-in limit, the buffers go to device memory
** (d->scratch). RK_CUDA_BUFFERS (a power of two, 2 to 128) caps the
** buffers, for tuning. */
#define RK_CUDA_BUF_SMEM (32u * 1024u)
#define RK_CUDA_NB_MAX 128u /* the prelude's RK_NB_MAX */
#define RK_CUDA_OSTAGE_SLOT 512u
#define RK_CUDA_ISTAGE (16u * 1024u)
static uint32_t type_size(const rk_kernel_desc *d, uint32_t id);
static int smem_fits(rk_cuk *c, uint32_t want, int stat) {
  if (want + (uint32_t)stat <= 48u * 1024u)
    return 1;
  return want + (uint32_t)stat <= (uint32_t)c->d->smem_optin &&
         cu.cuFuncSetAttribute(c->fn, RK_CU_FUNC_MAX_DYNAMIC_SHARED,
                               (int)want) == 0;
}
static void size_buffers(rk_cuk *c, int staging) {
  int stat = 0;
  const rk_kernel_desc *kd = c->k->desc;
  c->req_bytes = round16(kd->req_max ? kd->req_max : 16u);
  c->resp_bytes = round16(kd->resp_max);
  const uint32_t per = c->req_bytes + c->resp_bytes;
  c->buf_off = round16(48u * (kd->n_handlers ? kd->n_handlers : 1u));
  cu.cuFuncGetAttribute(&stat, RK_CU_FUNC_SHARED_SIZE_BYTES, c->fn);
  c->nbuf = RK_CUDA_NB_MAX;
  const uint32_t nb_env = env_u32("RK_CUDA_BUFFERS", RK_CUDA_NB_MAX);
  while (c->nbuf > 2u && (c->nbuf > nb_env ||
                          c->buf_off + c->nbuf * per > RK_CUDA_BUF_SMEM))
    c->nbuf /= 2u;
  const uint32_t want = c->buf_off + c->nbuf * per;
  c->istage_off = c->istage_msgs = c->ostage_off = 0;
  if (staging && c->d->arch >= 90 && env_u32("RK_CUDA_BULK", 1u)) {
    /* the input window as make_queues sets it, the largest response slot */
    const uint32_t win = RK_LL_WORDS(kd->req_max); /* the slot's words */
    uint32_t ob = 0;
    for (uint32_t i = 0; i < kd->n_handlers; i++) {
      uint32_t id = kd->handlers[i].resp_id;
      uint32_t b = id ? 8u * RK_LL_WORDS(type_size(kd, id)) : 0u;
      ob = b > ob ? b : ob;
    }
    uint32_t in_n = c->nbuf / 2u;
    while (in_n > 1u && in_n * 8u * win > RK_CUDA_ISTAGE)
      in_n /= 2u;
    if (win > RK_LL_WIN_MAX) /* slots longer than the window */
      in_n = 0;
    /* the prelude stages only reads of more than 256 chunks */
    if (in_n * (win / 2u) <= 256u)
      in_n = 0;
    const uint32_t in_b = in_n * 8u * win;
    const uint32_t out_b = ob && ob <= RK_CUDA_OSTAGE_SLOT ? 32u * ob : 0u;
    if (smem_fits(c, want + in_b + out_b, stat)) {
      c->istage_off = in_b ? want : 0u;
      c->istage_msgs = in_n;
      c->ostage_off = out_b ? want + in_b : 0u;
      c->smem = want + in_b + out_b;
      return;
    }
  }
  c->smem = want;
  if (smem_fits(c, want, stat))
    return;
  c->smem = c->buf_off; /* buffers in device memory */
}

static uint32_t pow2_floor(uint32_t v) {
  uint32_t p = 1;
  while (p * 2u <= v && p * 2u != 0)
    p *= 2u;
  return p;
}

/* The grid = auto rule: what is left, at most one worker per actor and per
** SM (idle pollers slow each other), 16 for a stateless kernel, and at
** least 16 slots per lane; a power of two so that lanes split evenly. */
static uint32_t auto_grid(const rk_cuk *c, uint32_t left) {
  const rk_kernel *k = c->k;
  uint32_t g = k->desc->has_state ? k->actors : RK_CUDA_STATELESS_GRID;
  if (g > (uint32_t)c->d->sms)
    g = (uint32_t)c->d->sms;
  if (g > k->capacity / 16u)
    g = k->capacity / 16u;
  if (g > left)
    g = left;
  return g ? pow2_floor(g) : 0;
}

/* Checks block and grid against the function and what the device has left
** (occupancy x SMs, minus other ring kernels, minus the reserve), chooses
** grid = auto, and books the share in the ledger. */
static rk_status size_launch(rk_cuk *c) {
  rk_kernel *k = c->k;
  int maxt = 0, regs = 0, occ = 0;
  if (k->block == 0)
    k->block = 128;
  cu.cuFuncGetAttribute(&maxt, RK_CU_FUNC_MAX_THREADS_PER_BLOCK, c->fn);
  cu.cuFuncGetAttribute(&regs, RK_CU_FUNC_NUM_REGS, c->fn);
  /* the block runs the handler threads after one I/O warp (prelude) */
  if (k->block > 1024u - 32u || (int)(k->block + 32u) > maxt)
    return rk__fail(RK_E_INVALID, "kernel %s: block %u exceeds the %d "
                    "threads its function allows less the I/O warp's 32 "
                    "(%d registers a thread)",
                    k->desc->name, k->block, maxt > 32 ? maxt - 32 : 0, regs);
  c->threads = k->block + 32u;
  CUresult r = cu.cuOccupancyMaxActiveBlocksPerMultiprocessor(
      &occ, c->fn, (int)c->threads, c->smem);
  if (r != 0 || occ <= 0)
    return rk__fail(RK_E_COOPERATIVE, "kernel %s: no block of %u threads "
                    "with %u bytes of shared memory can be resident (%s)",
                    k->desc->name, k->block, c->smem, cu_name(r));
  uint32_t total = (uint32_t)occ * (uint32_t)c->d->sms;
  pthread_mutex_lock(&c->d->lock);
  double free_share = 1.0 - RK_CUDA_RESERVE - c->d->used;
  uint32_t left = free_share > 0 ? (uint32_t)(free_share * total + 1e-9) : 0;
  uint32_t grid = k->grid ? k->grid : auto_grid(c, left);
  if (grid == 0 || grid > left) {
    double used = c->d->used;
    pthread_mutex_unlock(&c->d->lock);
    return rk__fail(RK_E_COOPERATIVE, "kernel %s: grid %u cannot be "
                    "co-resident: %u blocks left of %u (%d per SM x %d SMs "
                    "at block %u, %u B shared), other ring kernels hold "
                    "%.0f%%, %.0f%% is kept for other kernels",
                    k->desc->name, k->grid ? k->grid : grid, left, total, occ,
                    c->d->sms, k->block, c->smem, used * 100.0,
                    RK_CUDA_RESERVE * 100.0);
  }
  k->grid = grid;
  c->share = (double)grid / (double)total;
  c->d->used += c->share;
  c->in_ledger = 1;
  pthread_mutex_unlock(&c->d->lock);
  return RK_OK;
}

static void ledger_release(rk_cuk *c) {
  pthread_mutex_lock(&c->d->lock);
  if (c->in_ledger) {
    c->d->used -= c->share;
    if (c->d->used < 1e-9)
      c->d->used = 0;
    c->in_ledger = 0;
  }
  pthread_mutex_unlock(&c->d->lock);
}

/* ops->plan: module, function, buffers, block and grid. */
static rk_status cuda_plan(rk_kernel *k) {
  rk_cuk *c;
  rk_status s = impl_get(k, &c);
  if (s != RK_OK)
    return s;
  if (atomic_load(&c->d->faulted))
    return fault_status(c->d);
  ctx_on(c->d);
  if ((s = load_module(c)) != RK_OK)
    return s;
  CUresult r = cu.cuModuleGetFunction(&c->fn, c->mod, k->desc->cuda_entry);
  if (r != 0)
    return rk__fail(RK_E_CUDA, "kernel %s: no function %s in its module: %s",
                    k->desc->name, k->desc->cuda_entry, cu_name(r));
  size_buffers(c, 1);
  s = size_launch(c);
  if (s == RK_E_COOPERATIVE && (c->istage_off || c->ostage_off)) {
    /* the staging's shared memory cost the grid its room: without it */
    rk__log(RK_LOG_DEBUG, "cuda: kernel %s: no room with the bulk-copy "
            "staging, trying without", k->desc->name);
    size_buffers(c, 0);
    s = size_launch(c);
  }
  if (s != RK_OK)
    return s;
  if ((r = cu.cuStreamCreate(&c->stream, RK_CU_STREAM_NON_BLOCKING)) != 0)
    return rk__fail(RK_E_CUDA, "cuStreamCreate: %s", cu_name(r));
  return RK_OK;
}

/* ops->alloc: pinned host memory mapped for the device (never
** write-combined: the host reads it). Zeroed; page-aligned. */
static void *cuda_alloc(rk_kernel *k, size_t bytes) {
  rk_cuk *c;
  void *p = NULL;
  if (impl_get(k, &c) != RK_OK || atomic_load(&c->d->faulted))
    return NULL;
  ctx_on(c->d);
  CUresult r = cu.cuMemHostAlloc(
      &p, bytes ? bytes : 1,
      RK_CU_MEMHOSTALLOC_DEVICEMAP | RK_CU_MEMHOSTALLOC_PORTABLE);
  if (r != 0) {
    rk__log(RK_LOG_ERROR, "cuda: cuMemHostAlloc(%zu): %s", bytes, cu_name(r));
    return NULL;
  }
  memset(p, 0, bytes);
  return p;
}

/* ops->free: deferred until no ring kernel of the device runs; leaked when
** the device faulted (destroy sets k->leaked then, so this is not called
** for a kernel whose workers may still run). */
static void cuda_free(rk_kernel *k, void *p, size_t bytes) {
  (void)bytes;
  uint32_t n = kernel_device(k);
  if (!p || n >= RK_CUDA_MAX_DEV || !g_dev[n].ready)
    return;
  grave_add(&g_dev[n], p, 0, NULL);
  graves_drain(&g_dev[n]);
}

/* Device address of mapped host memory p (0 on failure). */
static uint64_t dev_ptr(void *p) {
  CUdeviceptr d = 0;
  if (p && cu.cuMemHostGetDevicePointer(&d, p, 0) != 0)
    d = 0;
  return (uint64_t)d;
}

static uint32_t type_size(const rk_kernel_desc *d, uint32_t id) {
  for (uint32_t i = 0; i < d->n_types; i++)
    if (d->types[i].id == id)
      return d->types[i].size;
  return 0;
}

/* Byte offsets of the parts of the kernel's one device allocation. */
typedef struct rk_dlayout {
  size_t lanes, ids, sizes, states, scratch, total;
} rk_dlayout;

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static void layout(const rk_cuk *c, rk_dlayout *L) {
  const rk_kernel *k = c->k;
  size_t nl = (size_t)k->grid * (1u + k->n_out);
  L->lanes = align_up(sizeof(rk_ddesc_h), 16); /* rk_dlane: 16-byte aligned */
  L->ids = L->lanes + nl * sizeof(rk_dlane_h);
  L->sizes = L->ids + 4u * k->n_out;
  L->states = align_up(L->sizes + 4u * k->n_out, 256);
  L->scratch = align_up(L->states + (k->desc->has_state
                                         ? (size_t)k->state_stride * k->actors
                                         : 0), 256);
  L->total = L->scratch + (c->smem > c->buf_off
                               ? 0
                               : (size_t)k->grid * c->nbuf *
                                     (c->req_bytes + c->resp_bytes));
}

/* SM cycles (clock64 on the device, the loop's clock) in ns at the
** device's clock rate. */
static uint32_t ns_to_cycles(const rk_cudev *d, uint32_t ns) {
  uint64_t c = (uint64_t)ns * (uint64_t)d->clock_khz / 1000000u;
  return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/* Fills the host image of the table part (descriptor .. head). */
static int fill_tables(const rk_cuk *c, const rk_dlayout *L, uint8_t *h,
                       uint64_t base) {
  const rk_kernel *k = c->k;
  rk_ddesc_h *dd = (rk_ddesc_h *)h;
  rk_dlane_h *ln = (rk_dlane_h *)(h + L->lanes);
  uint32_t *ids = (uint32_t *)(h + L->ids), *sz = (uint32_t *)(h + L->sizes);
  for (uint32_t w = 0; w < k->grid; w++)
    ln[w] = (rk_dlane_h){dev_ptr(k->in[w].base), k->in[w].mask,
                         k->in[w].slot_bytes};
  for (uint32_t i = 0; i < k->n_out * k->grid; i++)
    ln[k->grid + i] = (rk_dlane_h){dev_ptr(k->out[i].base), k->out[i].mask,
                                   k->out[i].slot_bytes};
  for (uint32_t t = 0; t < k->n_out; t++) {
    ids[t] = k->out_ids[t];
    sz[t] = type_size(k->desc, k->out_ids[t]);
  }
  for (size_t i = 0; i < (size_t)k->grid * (1u + k->n_out); i++)
    if (!ln[i].base)
      return -1;
  *dd = (rk_ddesc_h){
      .in = base + L->lanes, .out = base + L->lanes + 16u * k->grid,
      .out_ids = base + L->ids, .out_size = base + L->sizes,
      .ll_win = k->in[0].ll_words, .nbuf = c->nbuf, .buf_off = c->buf_off,
      .beat_cycles = ns_to_cycles(c->d, 20000u),
      .wstat = dev_ptr(k->wstat), .ctl = dev_ptr(k->ctl),
      .exited = dev_ptr(c->exited),
      .states = k->desc->has_state ? base + L->states : 0,
      .scratch = c->smem > c->buf_off ? 0 : base + L->scratch,
      .state_stride = k->state_stride, .grid = k->grid, .n_out = k->n_out,
      .actors = k->actors, .has_state = k->desc->has_state,
      .req_bytes = c->req_bytes, .resp_bytes = c->resp_bytes,
      .busy_cycles = ns_to_cycles(c->d, env_u32("RK_CUDA_BUSY_NS", 200000u)),
      .max_sleep_ns = env_u32("RK_CUDA_MAX_SLEEP_NS", 20000u),
      .istage_off = c->istage_off, .ostage_off = c->ostage_off,
      /* a poll's second read (the prelude's rk__io_fetch): 0 turns it off */
      .poll_gap = ns_to_cycles(c->d, env_u32("RK_CUDA_POLL_GAP_NS", 250u)),
      .istage_msgs = c->istage_msgs};
  return dd->wstat && dd->ctl && dd->exited ? 0 : -1;
}

/* Device memory for the kernel: tables, positions, states (copied from
** k->states, which kernel.c initialised on the host), scratch. */
static rk_status make_device_memory(rk_cuk *c) {
  rk_kernel *k = c->k;
  rk_dlayout L;
  layout(c, &L);
  CUresult r = cu.cuMemAlloc(&c->dmem, L.total);
  if (r != 0)
    return rk__fail(RK_E_NOMEM, "kernel %s: cuMemAlloc(%zu): %s",
                    k->desc->name, L.total, cu_name(r));
  uint8_t *h = calloc(1, L.states);
  if (!h)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
  if (fill_tables(c, &L, h, (uint64_t)c->dmem) != 0) {
    free(h);
    return rk__fail(RK_E_CUDA, "kernel %s: lane memory is not mapped for "
                    "the device", k->desc->name);
  }
  /* On the kernel's own stream, before its launch there: ordered with it
  ** and with nothing else (the synchronous copy would use the legacy
  ** stream). Pageable sources are staged before the call returns, so h
  ** may be freed at once; k->states lives until the kernel is freed. */
  r = cu.cuMemcpyHtoDAsync(c->dmem, h, L.states, c->stream);
  free(h);
  if (r == 0 && k->desc->has_state)
    r = cu.cuMemcpyHtoDAsync(c->dmem + L.states, k->states,
                             (size_t)k->state_stride * k->actors, c->stream);
  if (r != 0)
    return rk__fail(RK_E_CUDA, "kernel %s: cuMemcpyHtoDAsync: %s",
                    k->desc->name, cu_name(r));
  return RK_OK;
}

/* ops->start: device memory, watchdog bookkeeping, cooperative launch with
** one argument: kernelParams holds the ADDRESS of the variable that holds
** the descriptor's device pointer. */
static rk_status cuda_start(rk_kernel *k) {
  rk_cuk *c = k->impl;
  if (atomic_load(&c->d->faulted))
    return fault_status(c->d);
  ctx_on(c->d);
  c->exited = cuda_alloc(k, (size_t)k->grid * sizeof *c->exited);
  c->beat = calloc(k->grid, sizeof *c->beat);
  c->beat_ns = calloc(k->grid, sizeof *c->beat_ns);
  if (!c->exited || !c->beat || !c->beat_ns)
    return rk__fail(RK_E_NOMEM, "kernel %s: out of memory", k->desc->name);
  rk_status s = make_device_memory(c);
  if (s != RK_OK)
    return s;
  uint64_t now = rk__now_ns();
  for (uint32_t b = 0; b < k->grid; b++)
    c->beat_ns[b] = now;
  c->last_query_ns = now;
  CUdeviceptr desc = c->dmem;
  void *params[1] = {&desc};
  CUresult r = cu.cuLaunchCooperativeKernel(c->fn, k->grid, 1, 1, c->threads,
                                            1, 1, c->smem, c->stream, params);
  if (r != 0)
    return rk__fail(r == RK_CU_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE
                        ? RK_E_COOPERATIVE
                        : RK_E_CUDA,
                    "kernel %s: cuLaunchCooperativeKernel(grid %u, block "
                    "%u, %u B shared): %s", k->desc->name, k->grid, k->block,
                    c->smem, cu_name(r));
  pthread_mutex_lock(&c->d->lock);
  c->state = RK_CUK_RUNNING;
  c->next = c->d->running;
  c->d->running = c;
  watchdog_start(c->d);
  pthread_mutex_unlock(&c->d->lock);
  rk__log(RK_LOG_DEBUG, "cuda: kernel %s launched: grid %u, block %u, %u B "
          "shared, %u buffers, bulk reads %s, bulk answers %s", k->desc->name,
          k->grid, k->block, c->smem, c->nbuf, c->istage_off ? "on" : "off",
          c->ostage_off ? "on" : "off");
  return RK_OK;
}

static uint32_t count_live(const rk_cuk *c) {
  uint32_t live = 0;
  for (uint32_t b = 0; b < c->k->grid; b++)
    /* acquire: pairs with the block's release of its exit mark, so the
    ** counters it published before are final when we read them after */
    live += !__atomic_load_n(&c->exited[b], __ATOMIC_ACQUIRE);
  return live;
}

static void unlink_running(rk_cuk *c) {
  pthread_mutex_lock(&c->d->lock);
  for (rk_cuk **p = &c->d->running; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  c->state = RK_CUK_EXITED;
  pthread_mutex_unlock(&c->d->lock);
}

static void sleep_ns(long ns) {
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

/* Waits, without any blocking CUDA call, for the stream to be idle once
** every block has left its loop (microseconds). */
static rk_status wait_stream(rk_cuk *c, uint64_t deadline) {
  for (;;) {
    CUresult r = cu.cuStreamQuery(c->stream);
    if (r == 0)
      return RK_OK;
    if (r != RK_CU_ERROR_NOT_READY) {
      char why[200];
      snprintf(why, sizeof why, "kernel %s: %s", c->k->desc->name,
               cu_name(r));
      pthread_mutex_lock(&c->d->lock);
      device_fault(c->d, why);
      pthread_mutex_unlock(&c->d->lock);
      return fault_status(c->d);
    }
    if (rk__now_ns() > deadline)
      return rk__fail(RK_E_TIMEOUT, "kernel %s: workers exited but the "
                      "stream is still busy", c->k->desc->name);
    sleep_ns(10000);
  }
}

/* ops->join: polls the exit marks until every block left (RK_OK), the
** device faults (RK_E_DEVICE_FAULT) or timeout_ns passes (RK_E_TIMEOUT: the
** kernel is abandoned, its blocks stay booked and its memory leaks). */
static rk_status cuda_join(rk_kernel *k, int64_t timeout_ns) {
  rk_cuk *c = k->impl;
  if (!c || c->state != RK_CUK_RUNNING)
    return c && atomic_load(&c->d->faulted) ? fault_status(c->d) : RK_OK;
  uint64_t deadline = timeout_ns < 0 ? UINT64_MAX
                                     : rk__now_ns() + (uint64_t)timeout_ns;
  while (count_live(c) > 0) {
    if (atomic_load(&c->d->faulted))
      return fault_status(c->d);
    if (rk__now_ns() > deadline) {
      c->state = RK_CUK_ABANDONED;
      return rk__fail(RK_E_TIMEOUT, "kernel %s: %u of %u workers did not "
                      "stop; abandoned (its memory is leaked)", k->desc->name,
                      count_live(c), k->grid);
    }
    sleep_ns(20000);
  }
  ctx_on(c->d);
  rk_status s = wait_stream(c, rk__now_ns() + 1000000000u);
  if (s != RK_OK)
    return s;
  const int traced = rk__nvrtc_traced();
  for (uint32_t b = 0; traced && b < k->grid && b < 4; b++) {
    /* the prelude's RK_TRACE words, final after the exit mark (acquired
    ** by count_live) */
    const uint64_t *t = k->wstat[b].pad;
    const double us = c->d->clock_khz / 1e3; /* cycles a microsecond */
    /* per batch read (t[9]), bulk read (t[14]), batch handed over (t[22])
    ** and answer run (t[15]), as the prelude counts them */
    const double br = t[9] ? (double)t[9] : 1.0;
    const double bb = t[14] ? (double)t[14] : 1.0;
    const double bh = t[22] ? (double)t[22] : 1.0;
    const double bn = t[15] ? (double)t[15] : 1.0;
    rk__log(RK_LOG_INFO, "cuda trace %s worker %u: lone message read to "
            "answered %.3f us x %llu (read to hand-over %.3f, answer %.3f), "
            "poll %.3f us x %llu, "
            "next message found by the first read %llu, the next poll %llu; "
            "batch read %.3f us x %llu (%.1f messages; by bulk copy x %llu: "
            "issue %.3f us, landing %.3f us, check and decode %.3f us); "
            "batches handed over x %llu: setup %.3f us, hand-over %.3f us, "
            "answer %.3f us (%.2f runs: waits for copies out %.3f us, "
            "stores %.3f us a run); in all: waited for handlers %.3f ms, "
            "answered batches %.3f ms, read batches %.3f ms; lone messages "
            "in the I/O warp x %llu: read to answered %.3f us; polls whose "
            "first read found nothing x %llu, their second read found a "
            "message x %llu",
            k->desc->name, b,
            t[1] ? t[0] / us / t[1] : 0.0, (unsigned long long)t[1],
            t[1] ? t[5] / us / t[1] : 0.0, t[1] ? t[4] / us / t[1] : 0.0,
            t[3] ? t[2] / us / t[3] : 0.0, (unsigned long long)t[3],
            (unsigned long long)t[6], (unsigned long long)t[7],
            t[8] / us / br, (unsigned long long)t[9], t[13] / br,
            (unsigned long long)t[14], t[18] / us / bb, t[12] / us / bb,
            t[19] / us / bb, (unsigned long long)t[22], t[16] / us / bh,
            t[17] / us / bh, t[11] / us / bh, t[15] / bh, t[20] / us / bn,
            t[21] / us / bn, t[10] / us / 1e3, t[11] / us / 1e3,
            t[8] / us / 1e3, (unsigned long long)t[26],
            t[26] ? t[25] / us / t[26] : 0.0, (unsigned long long)t[23],
            (unsigned long long)t[24]);
  }
  unlink_running(c);
  ledger_release(c);
  watchdog_stop_if_idle(c->d);
  graves_drain(c->d);
  return RK_OK;
}

/* ops->destroy: frees (or defers) what the kernel holds. A kernel that may
** still run (faulted device, abandoned) leaks everything and sets
** k->leaked, so kernel.c frees none of its mapped memory either. */
static void cuda_destroy(rk_kernel *k) {
  rk_cuk *c = k->impl;
  if (!c)
    return;
  if (c->state == RK_CUK_RUNNING && !atomic_load(&c->d->faulted)) {
    /* destroyed without a stop: abort it (host-only word, release: pairs
    ** with the leader's load of the control words) */
    __atomic_store_n(&k->ctl->abort, 1u, __ATOMIC_RELEASE);
    if (cuda_join(k, 1000000000) != RK_OK)
      c->state = RK_CUK_ABANDONED;
  }
  if (atomic_load(&c->d->faulted) || c->state == RK_CUK_ABANDONED) {
    k->leaked = 1;
    k->impl = NULL; /* c stays: the watchdog may still look at it */
    rk__log(RK_LOG_WARN, "cuda: kernel %s leaked (device faulted or workers "
            "abandoned)", k->desc->name);
    return;
  }
  ledger_release(c);
  grave_add(c->d, c->exited, c->dmem, c->stream);
  graves_drain(c->d);
  free(c->beat);
  free(c->beat_ns);
  free(c);
  k->impl = NULL;
}

static rk_status cuda_health(rk_kernel *k) {
  rk_cuk *c = k->impl;
  if (c && atomic_load_explicit(&c->d->faulted, memory_order_acquire))
    return fault_status(c->d);
  return RK_OK;
}

/* ---- host-side waiting: the device cannot wake a host thread, so waiters
** poll. A wait spins (5 us per call) for its first 2 ms, then sleeps 50 us
** per call so that a long wait burns no core. */
static _Thread_local uint64_t tl_wait_start, tl_wait_last;

static void cuda_host_wait(rk_kernel *k, uint32_t seen, uint64_t deadline) {
  rk_cuk *c = k->impl;
  uint64_t now = rk__now_ns();
  if (now - tl_wait_last > 200000u)
    tl_wait_start = now; /* a new wait */
  tl_wait_last = now;
  if (now - tl_wait_start > 2000000u) {
    sleep_ns(50000);
    return;
  }
  uint64_t end = now + 5000u < deadline ? now + 5000u : deadline;
  while (rk__now_ns() < end &&
         (!c || atomic_load_explicit(&c->ev, memory_order_relaxed) == seen))
    __builtin_ia32_pause();
}

static uint32_t cuda_host_event(rk_kernel *k) {
  rk_cuk *c = k->impl;
  /* relaxed: the counter only says "look again"; the rings carry the data */
  return c ? atomic_load_explicit(&c->ev, memory_order_relaxed) : 0;
}

static void cuda_notify_host(rk_kernel *k) {
  rk_cuk *c = k->impl;
  if (c)
    atomic_fetch_add_explicit(&c->ev, 1, memory_order_relaxed);
}

/* The device polls its lanes: nothing to wake. */
static void cuda_wake(rk_kernel *k, uint32_t w) {
  (void)k;
  (void)w;
}

const rk_backend_ops rk__cuda_ops = {
    .name = "cuda",
    .backend = RK_BACKEND_CUDA,
    .ll_lanes = 1,
    /* longer than a round trip's p99.9 (bench/RESULTS.md): a waiter that
    ** yields meanwhile adds the system call to the trip */
    .host_pause_ns = 20000u,
    .plan = cuda_plan,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .start = cuda_start,
    .wake = cuda_wake,
    .notify_host = cuda_notify_host,
    .host_wait = cuda_host_wait,
    .host_event = cuda_host_event,
    .health = cuda_health,
    .join = cuda_join,
    .destroy = cuda_destroy,
    .host_wait_begin = NULL,
    .host_wait_end = NULL,
};
