// SPDX-License-Identifier: MIT
// probe_async.cu: can a worker read mapped, pinned host memory with the
// asynchronous copies of sm_80/sm_90 (cp.async into shared memory, and the
// bulk copy cp.async.bulk with an mbarrier), which keep many bytes in
// flight without holding registers, and do they see the host's new writes
// (no stale cached line)? The measurements behind a batch read of more
// than the 256 register loads a warp can keep in flight (bench/RESULTS.md).
//   nvcc -arch=sm_90 -o probe_async bench/probe_async.cu && ./probe_async
// Part 1, bandwidth: one block of 32 threads, 500 timed turns of "copy
// B bytes of host memory into shared memory, wait, use every word"; the
// mean turn in microseconds (globaltimer) and the bytes a microsecond.
// Part 2, freshness: an LL ping-pong (the host writes slot i with flag i in
// every word, the device polls it with the copy under test until every
// word carries flag i, then answers with plain stores); a poll that never
// sees the host's write within 2 s reports "stale".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>
#include <time.h>

#define CK(x)                                                            \
  do {                                                                   \
    cudaError_t e_ = (x);                                                \
    if (e_ != cudaSuccess) {                                             \
      fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_));          \
      return 1;                                                          \
    }                                                                    \
  } while (0)

enum { M_VOL = 0, M_ASYNC = 1, M_BULK = 2 };
#define SMEM_BYTES (32 * 1024)

__device__ __forceinline__ uint32_t sa(const void *p) {
  return (uint32_t)__cvta_generic_to_shared(p);
}
__device__ __forceinline__ void cp16(void *dst, const void *src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;"
               :: "r"(sa(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_wait(void) {
  asm volatile("cp.async.commit_group;\n\tcp.async.wait_group 0;"
               ::: "memory");
}
__device__ __forceinline__ void mb_init(uint64_t *mb) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" :: "r"(sa(mb))
               : "memory");
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}
// Thread 0: one bulk copy of n bytes (multiple of 16) into dst, completing
// on mb; every thread then waits for phase `ph` of mb.
__device__ __forceinline__ void bulk(void *dst, const void *src, uint32_t n,
                                     uint64_t *mb) {
  asm volatile(
      "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;"
      :: "r"(sa(mb)), "r"(n) : "memory");
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes "
      "[%0], [%1], %2, [%3];"
      :: "r"(sa(dst)), "l"(src), "r"(n), "r"(sa(mb)) : "memory");
}
__device__ __forceinline__ void mb_wait(uint64_t *mb, uint32_t ph) {
  uint32_t done = 0;
  while (!done)
    asm volatile(
        "{ .reg .pred p;\n\t"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
        "selp.u32 %0, 1, 0, p; }"
        : "=r"(done) : "r"(sa(mb)), "r"(ph) : "memory");
}

// Part 1: bytes = 512 * per (a warp's 16-byte chunks, per a lane).
__global__ void bw(const uint64_t *host, int mode, int per, int turns,
                   unsigned long long *out) {
  extern __shared__ uint64_t sm[];
  __shared__ uint64_t mb;
  const int lane = threadIdx.x;
  const uint32_t bytes = 512u * per;
  if (lane == 0)
    mb_init(&mb);
  __syncwarp();
  uint64_t acc = 0;
  unsigned long long t0 = 0, t1 = 0;
  uint32_t ph = 0;
  for (int t = -10; t < turns; t++) {
    if (t == 0)
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    if (mode == M_VOL) {
      for (int u0 = 0; u0 < per; u0 += 8) {
        uint64_t w[8][2];
#pragma unroll
        for (int u = 0; u < 8; u++)
          if (u0 + u < per)
            asm volatile("ld.volatile.global.v2.u64 {%0,%1}, [%2];"
                         : "=l"(w[u][0]), "=l"(w[u][1])
                         : "l"(host + 2 * (lane + 32 * (u0 + u)))
                         : "memory");
#pragma unroll
        for (int u = 0; u < 8; u++)
          if (u0 + u < per)
            acc += w[u][0] ^ w[u][1];
      }
    } else {
      if (mode == M_ASYNC) {
        for (int u = 0; u < per; u++)
          cp16(sm + 2 * (lane + 32 * u), host + 2 * (lane + 32 * u));
        cp_wait();
      } else {
        if (lane == 0)
          bulk(sm, host, bytes, &mb);
        mb_wait(&mb, ph);
        ph ^= 1u;
      }
      __syncwarp();
      for (int u = 0; u < per; u++)
        acc += sm[2 * (lane + 32 * u)] ^ sm[2 * (lane + 32 * u) + 1];
      __syncwarp();
    }
  }
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
  if (lane == 0)
    out[0] = t1 - t0;
  if (acc == 0x123456789ull)
    out[1] = acc;
}

// Part 1b, stores: one warp writes 512 * per bytes a turn into host memory
// (a ring of 1 MB), st.volatile v2.u64 from registers or one bulk copy from
// shared memory (cp.async.bulk.global.shared::cta, waited for its reads of
// shared memory before the next turn); a system fence at the end drains.
__global__ void sbw(uint64_t *host, int mode, int per, int turns,
                    unsigned long long *out) {
  extern __shared__ uint64_t sm[];
  const int lane = threadIdx.x;
  const uint32_t bytes = 512u * per;
  for (uint32_t i = lane; i < bytes / 8; i += 32)
    sm[i] = i;
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
  __syncwarp();
  unsigned long long t0 = 0, t1 = 0;
  for (int t = -10; t < turns; t++) {
    if (t == 0)
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    uint64_t *dst = host + (size_t)((t + 10) * bytes % (1u << 20)) / 8;
    if (mode == M_VOL) {
      for (int u = 0; u < per; u++)
        asm volatile("st.volatile.global.v2.u64 [%0], {%1,%2};"
                     :: "l"(dst + 2 * (lane + 32 * u)), "l"((uint64_t)t),
                        "l"((uint64_t)u) : "memory");
    } else {
      if (lane == 0) {
        asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;"
                     :: "l"(dst), "r"(sa(sm)), "r"(bytes) : "memory");
        asm volatile("cp.async.bulk.commit_group;" ::: "memory");
        asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
      }
      __syncwarp();
    }
  }
  if (lane == 0)
    asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
  __threadfence_system();
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
  if (lane == 0)
    out[0] = t1 - t0;
}

// Part 2: the LL ping-pong; slot i at in + i * words (a ring walked once).
__global__ void pong(const uint64_t *in, uint64_t *outp, int mode, int words,
                     int n, unsigned long long *res, int bstore) {
  __shared__ __align__(128) uint64_t sm[64];
  __shared__ uint64_t mb;
  const int lane = threadIdx.x;
  if (lane == 0)
    mb_init(&mb);
  __syncwarp();
  uint32_t ph = 0;
  unsigned long long start;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  for (int i = 1; i <= n; i++) {
    const uint64_t *s = in + (size_t)(i - 1) * words;
    const uint32_t f = (uint32_t)i;
    for (uint64_t spins = 0;; spins++) {
      int ok = 1;
      if (mode == M_VOL) {
        if (2 * lane < words) {
          uint64_t w[2];
          asm volatile("ld.volatile.global.v2.u64 {%0,%1}, [%2];"
                       : "=l"(w[0]), "=l"(w[1]) : "l"(s + 2 * lane)
                       : "memory");
          sm[2 * lane] = w[0];
          sm[2 * lane + 1] = w[1];
        }
      } else if (mode == M_ASYNC) {
        if (2 * lane < words)
          cp16(sm + 2 * lane, s + 2 * lane);
        cp_wait();
      } else {
        if (lane == 0)
          bulk(sm, s, 8u * words, &mb);
        mb_wait(&mb, ph);
        ph ^= 1u;
      }
      __syncwarp();
      if (2 * lane < words)
        ok = (uint32_t)(sm[2 * lane] >> 32) == f &&
             (uint32_t)(sm[2 * lane + 1] >> 32) == f;
      __syncwarp();
      if (__all_sync(0xffffffffu, ok))
        break;
      if ((spins & 255u) == 255u) {
        unsigned long long now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        if (now - start > 2000000000ull) { // 2 s: stale
          if (lane == 0)
            res[0] = (unsigned long long)i;
          return;
        }
      }
    }
    if (bstore) { /* the answer written in shared memory, one bulk copy */
      if (2 * lane < words) {
        sm[2 * lane] += 1;
        sm[2 * lane + 1] += 1;
      }
      asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
      __syncwarp();
      if (lane == 0) {
        asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;"
                     :: "l"(outp + (size_t)(i - 1) * words), "r"(sa(sm)),
                        "r"(8u * words) : "memory");
        asm volatile("cp.async.bulk.commit_group;" ::: "memory");
        asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
      }
      __syncwarp();
    } else if (2 * lane < words)
      asm volatile("st.volatile.global.v2.u64 [%0], {%1,%2};"
                   :: "l"(outp + (size_t)(i - 1) * words + 2 * lane),
                      "l"(sm[2 * lane] + 1), "l"(sm[2 * lane + 1] + 1)
                   : "memory");
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  }
  if (lane == 0)
    res[0] = 0;
}

static double now_us() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static const char *mname(int m) {
  return m == M_VOL ? "ld.volatile v2.u64" : m == M_ASYNC ? "cp.async.cg 16 B"
                                                          : "cp.async.bulk";
}

static int run_pong(uint64_t *h, uint64_t *dh, int mode, int words,
                    unsigned long long *res_d, int bstore = 0) {
  const int n = 20000;
  const size_t ring = (size_t)n * words;
  memset(h, 0, 2 * ring * 8 + 4096);
  volatile uint64_t *in = h, *out = h + ring + 512;
  CK(cudaMemset(res_d, 0xff, 8));
  pong<<<1, 32>>>(dh, dh + ring + 512, mode, words, n, res_d, bstore);
  CK(cudaGetLastError());
  static double lat[20000];
  int done = 0;
  for (int i = 1; i <= n; i++) {
    const uint64_t f = (uint64_t)(uint32_t)i << 32;
    volatile uint64_t *si = in + (size_t)(i - 1) * words;
    volatile uint64_t *so = out + (size_t)(i - 1) * words;
    double t0 = now_us();
    for (int k = 0; k < words; k++)
      si[k] = f | (uint32_t)(k + i);
    int ok = 0;
    while (!ok && now_us() - t0 < 3e6) {
      ok = 1;
      for (int k = 0; k < words && ok; k++)
        ok = (uint32_t)(so[k] >> 32) == (uint32_t)i;
    }
    if (!ok)
      break;
    lat[done++] = now_us() - t0;
    for (int k = 0; k < words; k++)
      if ((uint32_t)so[k] != (uint32_t)(k + i) + 1u) {
        fprintf(stderr, "pong %s: wrong answer at %d word %d\n", mname(mode),
                i, k);
        return 1;
      }
  }
  CK(cudaDeviceSynchronize());
  unsigned long long res = 0;
  CK(cudaMemcpy(&res, res_d, 8, cudaMemcpyDeviceToHost));
  if (done < n) {
    printf("LL ping-pong %2d words, %-20s%s STALE: message %d never seen "
           "(device stopped at %llu)\n", words, mname(mode),
           bstore ? " bulk answer" : "", done + 1, res);
    return 0;
  }
  qsort(lat, n, sizeof lat[0], cmpd);
  printf("LL ping-pong %2d words, %-20s%s p50 %6.3f us  p99 %6.3f us  "
         "(%d answers checked)\n", words, mname(mode),
         bstore ? " bulk answer" : "", lat[n / 2],
         lat[n * 99 / 100], n);
  return 0;
}

int main() {
  uint64_t *h, *dh;
  CK(cudaHostAlloc((void **)&h, 64 << 20, cudaHostAllocMapped));
  for (int i = 0; i < (1 << 17); i++)
    h[i] = 0x100000001ull * (uint64_t)i;
  CK(cudaHostGetDevicePointer((void **)&dh, h, 0));
  unsigned long long *out;
  CK(cudaMalloc((void **)&out, 16));
  CK(cudaFuncSetAttribute(bw, cudaFuncAttributeMaxDynamicSharedMemorySize,
                          SMEM_BYTES));
  const int turns = 500, pers[] = {1, 8, 16, 32, 64};
  printf("%-40s %10s %10s\n", "one warp reads host memory", "us/turn",
         "B/us");
  for (int m = 0; m < 3; m++)
    for (int per : pers) {
      bw<<<1, 32, SMEM_BYTES>>>(dh, m, per, turns, out);
      CK(cudaGetLastError());
      CK(cudaDeviceSynchronize());
      unsigned long long ns = 0;
      CK(cudaMemcpy(&ns, out, 8, cudaMemcpyDeviceToHost));
      char name[64];
      snprintf(name, sizeof name, "%s, %6d B", mname(m), 512 * per);
      const double us = ns / 1e3 / turns;
      printf("%-40s %10.3f %10.0f\n", name, us, 512.0 * per / us);
    }
  CK(cudaFuncSetAttribute(sbw, cudaFuncAttributeMaxDynamicSharedMemorySize,
                          SMEM_BYTES));
  printf("%-40s %10s %10s\n", "one warp writes host memory", "us/turn",
         "B/us");
  for (int m = 0; m < 3; m += 2)
    for (int per : pers) {
      sbw<<<1, 32, SMEM_BYTES>>>(dh + (4 << 20) / 8, m, per, 2000, out);
      CK(cudaGetLastError());
      CK(cudaDeviceSynchronize());
      unsigned long long ns = 0;
      CK(cudaMemcpy(&ns, out, 8, cudaMemcpyDeviceToHost));
      char name[64];
      snprintf(name, sizeof name, "%s, %6d B", m ? "bulk store" : "st.volatile v2.u64", 512 * per);
      const double us = ns / 1e3 / 2000;
      printf("%-40s %10.3f %10.0f\n", name, us, 512.0 * per / us);
    }
  int rc = 0;
  rc |= run_pong(h, dh, M_VOL, 22, out, 1);
  rc |= run_pong(h, dh, M_BULK, 22, out, 1);
  for (int m = 0; m < 3; m++) {
    rc |= run_pong(h, dh, m, 22, out);
    rc |= run_pong(h, dh, m, 64, out);
  }
  return rc;
}
