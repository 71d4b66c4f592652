// SPDX-License-Identifier: MIT
// refs.cu: the GPU references of performance.md, measured in rk-bench's run:
// the floor (one thread polls a word of pinned mapped host memory and writes
// it back to a second), launch + sync of an empty kernel, graph launch +
// sync, 64-byte copy in + launch + copy out + sync, and the hand-written
// rings (one per block, a tail index polled by one thread, up to blockDim
// messages a step). Every CUDA call's result is checked; every kernel gives
// up by itself after RKB_IDLE_NS without news, so nothing can hang.
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RKB_STOP UINT64_MAX                 // "leave the loop" in a poll word
#define RKB_IDLE_NS 5000000000ull           // device: no news this long: leave
#define RKB_HOST_WAIT_NS 2000000000ull      // host: an answer this late: fail
#define RING_BLOCK 256                      // threads per ring block
#define RING_CAP 2048                       // 64-byte slots per ring
#define RING_SEND 256                       // messages the host adds at once
#define RING_HOST_THREADS RKB_GPU_HOST_THREADS // host threads feeding them
#define RING_MAX 256                        // rings at most

extern "C" int rkb_gpu_refs_built(void) { return 1; }

// Reports a failed CUDA call as a note; returns 1 when it failed.
static int failed(rkb_run *r, cudaError_t e, const char *call, int line) {
  if (e == cudaSuccess)
    return 0;
  rkb_note(r, "GPU reference: refs.cu:%d: %s: %s (%s)", line, call,
           cudaGetErrorName(e), cudaGetErrorString(e));
  return 1;
}
#define CK(r, call) failed((r), (call), #call, __LINE__)

// The device's global nanosecond clock.
__device__ __forceinline__ uint64_t gtime(void) {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// ------------------------------------------------------------ the floor

// One thread: polls *in with volatile loads; each new value is written back
// to *out with a plain volatile store. RKB_STOP, or no news for
// RKB_IDLE_NS, ends it.
__global__ void floor_kernel(volatile uint64_t *in, volatile uint64_t *out) {
  uint64_t last = 0, since = gtime();
  for (uint32_t spins = 0;; spins++) {
    uint64_t v = *in;
    if (v != last) {
      if (v == RKB_STOP)
        return;
      *out = v;
      last = v;
      since = gtime();
    } else if ((spins & 1023) == 0 && gtime() - since > RKB_IDLE_NS) {
      return;
    }
  }
}

// Mapped, pinned host memory (never write-combined: the host reads it),
// zeroed; *dev gets its device address. 0 on success.
static int host_mapped(rkb_run *r, size_t bytes, void **host, void **dev) {
  *host = NULL;
  if (CK(r, cudaHostAlloc(host, bytes, cudaHostAllocMapped)))
    return -1;
  memset(*host, 0, bytes);
  if (CK(r, cudaHostGetDevicePointer(dev, *host, 0))) {
    cudaFreeHost(*host);
    *host = NULL;
    return -1;
  }
  return 0;
}

// The host's side of one floor round trip: writes i, spins until the
// device wrote it back. 0 on success, -1 after RKB_HOST_WAIT_NS.
static int floor_trip(volatile uint64_t *in, volatile uint64_t *out,
                      uint64_t i) {
  uint64_t t0 = rkb_now_ns();
  *in = i;
  for (uint32_t spins = 0; *out != i; spins++) {
    rkb_relax();
    if ((spins & 4095) == 0 && rkb_now_ns() - t0 > RKB_HOST_WAIT_NS)
      return -1;
  }
  return 0;
}

static int gpu_floor(const rkb_opts *o, rkb_run *r, cudaStream_t s) {
  void *h = NULL, *d = NULL;
  if (host_mapped(r, 256, &h, &d))
    return -1;
  // in and out on separate 128-byte lines
  volatile uint64_t *in = (volatile uint64_t *)h, *out = in + 16;
  uint64_t *dev = (uint64_t *)d;
  size_t total = o->warmup + o->trips;
  uint64_t *t = (uint64_t *)malloc(o->trips * sizeof *t);
  int rc = t ? 0 : -1;
  floor_kernel<<<1, 1, 0, s>>>(dev, dev + 16);
  if (rc == 0 && CK(r, cudaGetLastError()))
    rc = -1;
  for (size_t i = 0; rc == 0 && i < total; i++) {
    uint64_t t0 = rkb_now_ns();
    if (floor_trip(in, out, i + 1) != 0) {
      rkb_note(r, "GPU floor: no answer to round trip %zu within 2 s", i);
      rc = -1;
      break;
    }
    uint64_t dt = rkb_now_ns() - t0;
    if (i >= o->warmup)
      t[i - o->warmup] = dt;
    if ((i & 4095) == 0)
      rkb_progress(o, "GPU floor (mapped-memory ping-pong)",
                   (double)i / (double)total);
  }
  *in = RKB_STOP;
  if (CK(r, cudaStreamSynchronize(s)))
    rc = -1;
  if (rc == 0)
    rkb_add_lat(r, "gpu.floor", "GPU floor: mapped-memory ping-pong", t,
                o->trips);
  else
    free(t);
  cudaFreeHost(h);
  return rc;
}

// ------------------------------------------------- launch, graph, copy

__global__ void empty_kernel(void) {}

// Eight threads: out[i] = ~in[i], 64 bytes.
__global__ void not_kernel(const uint64_t *in, uint64_t *out) {
  out[threadIdx.x] = ~in[threadIdx.x];
}

// Launch + synchronize of an empty kernel, per message.
static int gpu_launch(const rkb_opts *o, rkb_run *r, cudaStream_t s) {
  size_t trips = o->trips / 10 ? o->trips / 10 : 1, total = o->warmup / 10 + trips;
  uint64_t *t = (uint64_t *)malloc(trips * sizeof *t);
  if (!t)
    return -1;
  for (size_t i = 0; i < total; i++) {
    uint64_t t0 = rkb_now_ns();
    empty_kernel<<<1, 1, 0, s>>>();
    cudaError_t e = cudaStreamSynchronize(s);
    uint64_t dt = rkb_now_ns() - t0;
    if (CK(r, cudaGetLastError()) || CK(r, e)) {
      free(t);
      return -1;
    }
    if (i >= total - trips)
      t[i - (total - trips)] = dt;
    if ((i & 255) == 0)
      rkb_progress(o, "GPU launch + sync", (double)i / (double)total);
  }
  rkb_add_lat(r, "gpu.launch", "GPU launch + sync (empty kernel)", t, trips);
  return 0;
}

// A graph of one empty kernel, launched + synchronized per message.
static int gpu_graph(const rkb_opts *o, rkb_run *r, cudaStream_t s) {
  cudaGraph_t g = NULL;
  cudaGraphExec_t ge = NULL;
  if (CK(r, cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal)))
    return -1;
  empty_kernel<<<1, 1, 0, s>>>();
  cudaError_t launch = cudaGetLastError();
  if (CK(r, cudaStreamEndCapture(s, &g)) || CK(r, launch) ||
      CK(r, cudaGraphInstantiate(&ge, g, 0))) {
    if (g)
      cudaGraphDestroy(g);
    return -1;
  }
  size_t trips = o->trips / 10 ? o->trips / 10 : 1, total = o->warmup / 10 + trips;
  uint64_t *t = (uint64_t *)malloc(trips * sizeof *t);
  int rc = t ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < total; i++) {
    uint64_t t0 = rkb_now_ns();
    cudaError_t e1 = cudaGraphLaunch(ge, s);
    cudaError_t e2 = cudaStreamSynchronize(s);
    uint64_t dt = rkb_now_ns() - t0;
    if (CK(r, e1) || CK(r, e2))
      rc = -1;
    else if (i >= total - trips)
      t[i - (total - trips)] = dt;
    if ((i & 255) == 0)
      rkb_progress(o, "GPU graph launch + sync", (double)i / (double)total);
  }
  if (rc == 0)
    rkb_add_lat(r, "gpu.graph", "GPU graph launch + sync", t, trips);
  else
    free(t);
  cudaGraphExecDestroy(ge);
  cudaGraphDestroy(g);
  return rc;
}

// 64 bytes copied in, ~ by a kernel, copied out, synchronized; each answer
// checked.
static int gpu_copy(const rkb_opts *o, rkb_run *r, cudaStream_t s) {
  uint64_t *hin = NULL, *hout = NULL, *din = NULL, *dout = NULL;
  size_t trips = o->trips / 10 ? o->trips / 10 : 1, total = o->warmup / 10 + trips;
  uint64_t *t = (uint64_t *)malloc(trips * sizeof *t);
  int rc = t ? 0 : -1;
  if (rc == 0 && (CK(r, cudaHostAlloc((void **)&hin, 64, cudaHostAllocDefault)) ||
                  CK(r, cudaHostAlloc((void **)&hout, 64, cudaHostAllocDefault)) ||
                  CK(r, cudaMalloc((void **)&din, 64)) ||
                  CK(r, cudaMalloc((void **)&dout, 64))))
    rc = -1;
  for (size_t i = 0; rc == 0 && i < total; i++) {
    for (unsigned w = 0; w < 8; w++)
      hin[w] = rkb_word(i, w);
    uint64_t t0 = rkb_now_ns();
    cudaError_t e1 = cudaMemcpyAsync(din, hin, 64, cudaMemcpyHostToDevice, s);
    not_kernel<<<1, 8, 0, s>>>(din, dout);
    cudaError_t e2 = cudaGetLastError();
    cudaError_t e3 = cudaMemcpyAsync(hout, dout, 64, cudaMemcpyDeviceToHost, s);
    cudaError_t e4 = cudaStreamSynchronize(s);
    uint64_t dt = rkb_now_ns() - t0;
    if (CK(r, e1) || CK(r, e2) || CK(r, e3) || CK(r, e4)) {
      rc = -1;
      break;
    }
    r->checked++;
    for (unsigned w = 0; w < 8; w++)
      if (hout[w] != ~rkb_word(i, w)) {
        rkb_wrong(r, "GPU copy reference: message %zu word %u wrong", i, w);
        break;
      }
    if (i >= total - trips)
      t[i - (total - trips)] = dt;
    if ((i & 255) == 0)
      rkb_progress(o, "GPU copy + launch + copy + sync", (double)i / (double)total);
  }
  if (rc == 0)
    rkb_add_lat(r, "gpu.copy", "GPU copy in + launch + copy out + sync", t,
                trips);
  else
    free(t);
  cudaFreeHost(hin);
  cudaFreeHost(hout);
  cudaFree(din);
  cudaFree(dout);
  return rc;
}

// ------------------------------------------------- the hand-written rings
//
// Ring b (one per block) in mapped host memory: RING_CAP request slots and
// RING_CAP answer slots of 64 bytes, and a control block with two indices
// on their own 128-byte lines, each written by one side only:
//   req_tail   written by the host: requests [0, req_tail) are in the slots
//   resp_tail  written by the device: answers [0, resp_tail) are in theirs
// Message m lives in slot m % RING_CAP of both arrays. The host sends only
// while m - resp_tail < RING_CAP, so a slot is never rewritten before its
// answer was read. Publication: the host writes the slots, then req_tail
// with a release store (x86: plain stores in order). Thread 0 polls
// req_tail with volatile loads (relaxed, system scope) and, seeing it move,
// runs __threadfence_system(): relaxed load + fence.sc.sys is an acquire at
// system scope, and __syncthreads() passes it to the block, which then reads
// the slots with ld.cv (no stale cached line). Answers: each thread stores
// the chunks it read, __syncthreads() orders them before thread 0's
// __threadfence_system() (fences are cumulative), which orders them before
// its volatile store of resp_tail; the host reads resp_tail with an acquire
// load and then the answers. RKB_STOP in req_tail ends the kernel.

struct ring_ctl {
  uint64_t req_tail;   // host writes
  uint64_t pad0[15];
  uint64_t resp_tail;  // device writes
  uint64_t pad1[15];
};

__global__ void ring_kernel(ring_ctl *ctl, const ulonglong2 *req,
                            ulonglong2 *resp) {
  __shared__ uint64_t s_tail;
  volatile uint64_t *req_tail = &ctl[blockIdx.x].req_tail;
  volatile uint64_t *resp_tail = &ctl[blockIdx.x].resp_tail;
  const ulonglong2 *rq = req + (size_t)blockIdx.x * RING_CAP * 4;
  ulonglong2 *rs = resp + (size_t)blockIdx.x * RING_CAP * 4;
  uint64_t head = 0;
  for (;;) {
    if (threadIdx.x == 0) {
      uint64_t t = *req_tail, since = gtime();
      for (uint32_t spins = 1; t == head; spins++) {
        if ((spins & 1023) == 0 && gtime() - since > RKB_IDLE_NS) {
          t = RKB_STOP;
          break;
        }
        t = *req_tail;
      }
      __threadfence_system(); // acquire: see the comment above
      s_tail = t;
    }
    __syncthreads();
    uint64_t tail = s_tail;
    if (tail == RKB_STOP)
      return;
    uint64_t n = tail - head < RING_BLOCK ? tail - head : RING_BLOCK;
    // 16-byte chunk c of the step is chunk c % 4 of message head + c / 4:
    // a warp reads and writes 512 contiguous bytes (whole 128-byte lines).
    for (uint32_t c = threadIdx.x; c < n * 4; c += blockDim.x) {
      size_t at = (size_t)((head + c / 4) % RING_CAP) * 4 + c % 4;
      ulonglong2 v = __ldcv(&rq[at]);
      v.x = ~v.x;
      v.y = ~v.y;
      rs[at] = v;
    }
    __syncthreads(); // the block's answers, then the tail
    if (threadIdx.x == 0) {
      __threadfence_system(); // release: answers before resp_tail
      *resp_tail = head + n;
    }
    head += n;
  }
}

// What the host threads of one ring run share.
typedef struct ring_run {
  ring_ctl *ctl;         // host addresses
  uint64_t *req, *resp;  // 8 words a slot
  uint32_t rings, threads;
  int stop;              // 1: send no more, drain what is outstanding
  uint64_t answered[RING_HOST_THREADS * 16]; // per thread, own line
  uint64_t wrong[RING_HOST_THREADS];
  uint64_t left[RING_HOST_THREADS];          // sent, never answered
} ring_run;

typedef struct ring_thread {
  ring_run *run;
  uint32_t id;
} ring_thread;

// Checks the answers [from, to) of ring b; returns how many were wrong.
static uint64_t ring_check(ring_run *rr, uint32_t b, uint64_t from,
                           uint64_t to) {
  uint64_t bad = 0;
  for (uint64_t m = from; m < to; m++) {
    const uint64_t *a = rr->resp + ((size_t)b * RING_CAP + m % RING_CAP) * 8;
    for (unsigned w = 0; w < 8; w++)
      if (a[w] != ~rkb_word(m, w)) {
        bad++;
        break;
      }
  }
  return bad;
}

// Sends RING_SEND more messages on ring b when there is room for them
// (whole steps: the block then takes up to blockDim at once).
static void ring_send(ring_run *rr, uint32_t b, uint64_t *sent,
                      uint64_t got) {
  uint64_t room = RING_CAP - (*sent - got), k = RING_SEND;
  if (room < k)
    return;
  for (uint64_t m = *sent; m < *sent + k; m++) {
    uint64_t *s = rr->req + ((size_t)b * RING_CAP + m % RING_CAP) * 8;
    for (unsigned w = 0; w < 8; w++)
      s[w] = rkb_word(m, w);
  }
  *sent += k;
  // Release: the slots above before the index; pairs with the device's
  // volatile load + __threadfence_system().
  __atomic_store_n(&rr->ctl[b].req_tail, *sent, __ATOMIC_RELEASE);
}

// One host thread: feeds and drains rings id, id + threads, ...
static void *ring_host(void *arg) {
  ring_thread *th = (ring_thread *)arg;
  ring_run *rr = th->run;
  // per ring of this thread (at most 132 / 1 in theory; 17 in practice)
  uint64_t sent[RING_MAX] = {0}, got[RING_MAX] = {0}, total = 0;
  uint64_t idle_since = 0;
  for (;;) {
    // Relaxed: a flag set by the main thread; it publishes nothing.
    int stop = __atomic_load_n(&rr->stop, __ATOMIC_RELAXED), busy = 0;
    uint64_t outstanding = 0;
    for (uint32_t b = th->id, i = 0; b < rr->rings; b += rr->threads, i++) {
      // Acquire: pairs with the device's fence + store of resp_tail.
      uint64_t t = __atomic_load_n(&rr->ctl[b].resp_tail, __ATOMIC_ACQUIRE);
      if (t != got[i]) {
        rr->wrong[th->id] += ring_check(rr, b, got[i], t);
        total += t - got[i];
        got[i] = t;
        busy = 1;
      }
      if (!stop)
        ring_send(rr, b, &sent[i], got[i]);
      outstanding += sent[i] - got[i];
    }
    __atomic_store_n(&rr->answered[th->id * 16], total, __ATOMIC_RELAXED);
    if (stop && outstanding == 0)
      break;
    if (busy || !stop) {
      idle_since = 0;
    } else if (!idle_since) {
      idle_since = rkb_now_ns();
    } else if (rkb_now_ns() - idle_since > RKB_HOST_WAIT_NS) {
      rr->left[th->id] = outstanding; // lost: the device stopped answering
      break;
    }
  }
  return NULL;
}

// Sum of the answers the host threads have counted so far.
static uint64_t ring_answered(ring_run *rr) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < rr->threads; i++)
    n += __atomic_load_n(&rr->answered[i * 16], __ATOMIC_RELAXED);
  return n;
}

static void sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  nanosleep(&ts, NULL);
}

// The timed window: a tenth of o->thr_secs to warm up, then o->thr_secs;
// *msgs gets the answers counted within it, *secs its length.
static void ring_window(const rkb_opts *o, ring_run *rr, const char *label,
                        uint64_t *msgs, double *secs) {
  uint64_t warm = (uint64_t)(o->thr_secs * 1e8), run = (uint64_t)(o->thr_secs * 1e9);
  rkb_progress(o, label, 0.0);
  sleep_ns(warm);
  uint64_t a0 = ring_answered(rr), t0 = rkb_now_ns();
  for (int i = 1; i <= 10; i++) {
    sleep_ns(run / 10);
    rkb_progress(o, label, i / 10.0);
  }
  *msgs = ring_answered(rr) - a0;
  *secs = (double)(rkb_now_ns() - t0) / 1e9;
}

// Adds the host threads' books to r: answers checked, wrong, lost.
static void ring_books(rkb_run *r, ring_run *rr, const char *label) {
  r->checked += ring_answered(rr);
  for (uint32_t i = 0; i < rr->threads; i++) {
    r->lost += rr->left[i];
    if (rr->wrong[i])
      rkb_wrong(r, "%s: %llu wrong answers", label,
                (unsigned long long)rr->wrong[i]);
    if (rr->left[i])
      rkb_wrong(r, "%s: %llu messages never answered", label,
                (unsigned long long)rr->left[i]);
  }
}

// Runs `rings` rings for o->thr_secs (after a tenth of it as warm-up) and
// adds the figure gpu.ringN.
static int gpu_ring(const rkb_opts *o, rkb_run *r, cudaStream_t s,
                    uint32_t rings) {
  size_t slots = (size_t)rings * RING_CAP * 64;
  void *hc, *dc, *hq, *dq, *ha, *da;
  if (host_mapped(r, rings * sizeof(ring_ctl), &hc, &dc))
    return -1;
  if (host_mapped(r, slots, &hq, &dq)) {
    cudaFreeHost(hc);
    return -1;
  }
  if (host_mapped(r, slots, &ha, &da)) {
    cudaFreeHost(hc);
    cudaFreeHost(hq);
    return -1;
  }
  ring_run *rr = (ring_run *)calloc(1, sizeof *rr);
  ring_thread th[RING_HOST_THREADS];
  pthread_t tid[RING_HOST_THREADS];
  uint32_t started = 0;
  int rc = rr ? 0 : -1;
  if (rr) {
    rr->ctl = (ring_ctl *)hc;
    rr->req = (uint64_t *)hq;
    rr->resp = (uint64_t *)ha;
    rr->rings = rings;
    rr->threads = rings < RING_HOST_THREADS ? rings : RING_HOST_THREADS;
  }
  if (rc == 0) {
    ring_kernel<<<rings, RING_BLOCK, 0, s>>>((ring_ctl *)dc,
                                            (const ulonglong2 *)dq,
                                            (ulonglong2 *)da);
    rc = CK(r, cudaGetLastError()) ? -1 : 0;
  }
  for (uint32_t i = 0; rc == 0 && i < rr->threads; i++) {
    th[i].run = rr;
    th[i].id = i;
    if (pthread_create(&tid[i], NULL, ring_host, &th[i]) != 0)
      break;
    started++;
  }
  char label[RKB_NAME];
  snprintf(label, sizeof label, "GPU hand-written rings x%u", rings);
  uint64_t msgs = 0;
  double secs = 0;
  if (started)
    ring_window(o, rr, label, &msgs, &secs);
  if (rr)
    __atomic_store_n(&rr->stop, 1, __ATOMIC_RELAXED); // a flag, see ring_host
  for (uint32_t i = 0; i < started; i++)
    pthread_join(tid[i], NULL);
  // Every thread has left: tell each block to leave.
  for (uint32_t b = 0; rr && b < rings; b++)
    __atomic_store_n(&rr->ctl[b].req_tail, RKB_STOP, __ATOMIC_RELEASE);
  if (CK(r, cudaStreamSynchronize(s)))
    rc = -1;
  if (rr)
    ring_books(r, rr, label);
  if (rc == 0 && started == (rr ? rr->threads : 0) && secs > 0) {
    char key[RKB_NAME];
    snprintf(key, sizeof key, "gpu.ring%u", rings);
    rkb_thr *f = rkb_add_thr(r, key, label, msgs, secs, rings);
    if (f)
      f->host_threads = rr->threads;
  } else if (rc == 0) {
    rkb_note(r, "%s: could not start its host threads", label);
    rc = -1;
  }
  free(rr);
  cudaFreeHost(hc);
  cudaFreeHost(hq);
  cudaFreeHost(ha);
  return rc;
}

// ---------------------------------------------------------------- entry

// Device 0 when one is usable; else a note saying why, and -1.
static int gpu_open(rkb_run *r) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    rkb_note(r, "GPU references skipped: no GPU (%s)",
             e != cudaSuccess ? cudaGetErrorString(e) : "no device");
    cudaGetLastError(); // clear it
    return -1;
  }
  cudaDeviceProp p;
  if (CK(r, cudaSetDevice(0)) || CK(r, cudaGetDeviceProperties(&p, 0)))
    return -1;
  snprintf(r->gpu_name, sizeof r->gpu_name, "%.90s (sm_%d%d, %d SMs)", p.name,
           p.major, p.minor, p.multiProcessorCount);
  if (!p.canMapHostMemory) {
    rkb_note(r, "GPU references skipped: %s cannot map host memory", p.name);
    return -1;
  }
  fprintf(stderr, "rk-bench: GPU references on %s\n", r->gpu_name);
  return 0;
}

extern "C" int rkb_gpu_refs(const rkb_opts *o, rkb_run *r) {
  cudaStream_t s;
  if (gpu_open(r) != 0)
    return -1;
  if (CK(r, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)))
    return -1;
  int bad = 0;
  bad |= gpu_floor(o, r, s);
  bad |= gpu_launch(o, r, s);
  bad |= gpu_graph(o, r, s);
  bad |= gpu_copy(o, r, s);
  static const uint32_t all[] = {16, 32, 64, 132}, quick[] = {16, 132};
  const uint32_t *set = o->quick ? quick : all;
  size_t n = o->quick ? 2 : 4;
  for (size_t i = 0; i < n; i++)
    bad |= gpu_ring(o, r, s, set[i]);
  cudaStreamDestroy(s);
  return bad ? -1 : 0;
}
