// SPDX-License-Identifier: MIT
// probe_sysmem.cu: what one warp's loads of mapped, pinned host memory cost
// on this GPU, by access kind and shape: the measurements behind the LL
// reads of templates/cuda_prelude.tmpl (docs/performance.md cites them).
// Each case: one block of 32 threads, 2000 timed turns of "issue the loads,
// use every result"; the mean turn in microseconds (globaltimer).
//   nvcc -arch=sm_90 -o probe bench/probe_sysmem.cu && ./probe
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <cuda_runtime.h>

#define CK(x)                                                            \
  do {                                                                   \
    cudaError_t e_ = (x);                                                \
    if (e_ != cudaSuccess) {                                             \
      fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_));          \
      return 1;                                                          \
    }                                                                    \
  } while (0)

enum { K_VOL = 0, K_RLX = 1, K_CV = 2, K_VOL8 = 3, K_ACQ8 = 4 };

__device__ __forceinline__ void ld2(int kind, const uint64_t *p, uint64_t *w) {
  if (kind == K_VOL)
    asm volatile("ld.volatile.global.v2.u64 {%0,%1}, [%2];"
                 : "=l"(w[0]), "=l"(w[1]) : "l"(p) : "memory");
  else if (kind == K_RLX)
    asm volatile("ld.relaxed.sys.global.v2.u64 {%0,%1}, [%2];"
                 : "=l"(w[0]), "=l"(w[1]) : "l"(p) : "memory");
  else if (kind == K_CV)
    asm volatile("ld.global.cv.v2.u64 {%0,%1}, [%2];"
                 : "=l"(w[0]), "=l"(w[1]) : "l"(p) : "memory");
  else if (kind == K_VOL8) {
    asm volatile("ld.volatile.global.u64 %0, [%1];"
                 : "=l"(w[0]) : "l"(p) : "memory");
    w[1] = 0;
  } else {
    asm volatile("ld.acquire.sys.global.u64 %0, [%1];"
                 : "=l"(w[0]) : "l"(p) : "memory");
    w[1] = 0;
  }
}

// lanes: how many lanes load; per: loads each lane keeps in flight;
// stride: bytes between a lane's consecutive loads.
__global__ void probe(const uint64_t *host, int kind, int lanes, int per,
                      int stride, int turns, unsigned long long *out) {
  const int lane = threadIdx.x;
  uint64_t acc = 0;
  unsigned long long t0 = 0, t1 = 0;
  for (int t = -10; t < turns; t++) {
    if (t == 0)
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    if (lane < lanes) {
      uint64_t w[8][2];
#pragma unroll
      for (int u = 0; u < 8; u++)
        if (u < per)
          ld2(kind, host + (lane * 16 + u * stride) / 8, w[u]);
#pragma unroll
      for (int u = 0; u < 8; u++)
        if (u < per)
          acc += w[u][0] ^ w[u][1];
    }
    __syncwarp();
  }
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
  if (lane == 0)
    out[0] = t1 - t0;
  if (acc == 0x123456789ull)
    out[1] = acc;
}

// LL ping-pong: the device polls an input slot of `chunks` 16-byte chunks
// (one lane each) until every word carries flag i, then answers into the
// output slot the same way; the host writes slot i and spins on answer i.
// Variants: spin: a second warp polls a shared word meanwhile (as handler
// threads wait); fence: fence.acq_rel.cta after each answer (as the I/O
// warp's acquire of S.done).
__global__ void llpong(uint64_t *in, uint64_t *outp, int chunks, int n,
                       int spin, int fence, int adv) {
  __shared__ uint32_t quit;
  const int lane = threadIdx.x;
  if (threadIdx.x == 0)
    quit = 0;
  __syncthreads();
  if (threadIdx.x >= 32) {
    uint32_t a = (uint32_t)__cvta_generic_to_shared(&quit), v = 0;
    for (uint32_t spins = 0;; spins++) {
      asm volatile("ld.relaxed.cta.shared.u32 %0, [%1];" : "=r"(v) : "r"(a) : "memory");
      if (v)
        break;
      if (spins >= 256u)
        __nanosleep(32);
    }
    return;
  }
  for (int i = 1; i <= n; i++) {
    const uint32_t f = (uint32_t)i;
    uint64_t w[2] = {0, 0};
    if (adv && i > 1) { /* the next slot of a ring of 176-byte slots */
      in += adv / 8;
      outp += adv / 8;
    }
    for (;;) {
      int ok = 1;
      if (lane < chunks) {
        asm volatile("ld.volatile.global.v2.u64 {%0,%1}, [%2];"
                     : "=l"(w[0]), "=l"(w[1]) : "l"(in + 2 * lane) : "memory");
        ok = (uint32_t)(w[0] >> 32) == f && (uint32_t)(w[1] >> 32) == f;
      }
      if (__all_sync(0xffffffffu, ok))
        break;
      if (fence & 2) { /* a timer read every poll */
        uint64_t t;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
        if (t == 1) outp[63] = t;
      }
      if (fence & 4) {
        long long t = clock64();
        if (t == 1) outp[63] = t;
      }
    }
    if (lane < chunks)
      asm volatile("st.volatile.global.v2.u64 [%0], {%1,%2};"
                   :: "l"(outp + 2 * lane), "l"(w[0] + 1), "l"(w[1] + 1)
                   : "memory");
    if (fence & 1)
      asm volatile("fence.acq_rel.cta;" ::: "memory");
  }
  if (lane == 0)
    *(volatile uint32_t *)&quit = 1;
}

#include <time.h>
static double now_us() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static int run_pong(uint64_t *h, uint64_t *dh, int chunks, int in_off,
                    int out_off, int spin = 0, int fence = 0, int adv = 0) {
  const int n = 20000;
  volatile uint64_t *in = h + in_off / 8, *out = h + out_off / 8;
  for (int i = 0; i < 64; i++) { in[i] = 0; out[i] = 0; }
  if (adv)
    memset(h, 0, (size_t)2 * n * adv + 8192);
  llpong<<<1, spin ? 64 : 32>>>(dh + in_off / 8, dh + out_off / 8, chunks, n,
                                spin, fence, adv);
  static double lat[20000];
  for (int i = 1; i <= n; i++) {
    const uint64_t f = (uint64_t)(uint32_t)i << 32;
    if (adv && i > 1) {
      in += adv / 8;
      out += adv / 8;
    }
    double t0 = now_us();
    for (int k = 0; k < 2 * chunks; k++)
      in[k] = f | (uint32_t)(k + i);
    for (;;) {
      int ok = 1;
      for (int k = 0; k < 2 * chunks && ok; k++)
        ok = (uint32_t)(out[k] >> 32) == (uint32_t)i;
      if (ok)
        break;
    }
    lat[i - 1] = now_us() - t0;
    for (int k = 0; k < 2 * chunks; k++)
      if ((uint32_t)out[k] != (uint32_t)(k + i) + 1u) {
        fprintf(stderr, "pong: wrong answer at %d word %d\n", i, k);
        return 1;
      }
  }
  CK(cudaDeviceSynchronize());
  qsort(lat, n, sizeof lat[0], cmpd);
  printf("LL ping-pong %2d chunks (in +%4d, out +%8d)%s%s%s  p50 %6.3f us  "
         "p99 %6.3f us\n", chunks, in_off, out_off, spin ? " spin" : "",
         (fence & 1) ? " fence" : (fence & 2) ? " globaltimer" : (fence & 4) ? " clock64" : "", adv ? " ring" : "", lat[n / 2],
         lat[n * 99 / 100]);
  return 0;
}

int main() {
  uint64_t *h;
  CK(cudaHostAlloc((void **)&h, 16 << 20, cudaHostAllocMapped));
  for (int i = 0; i < (1 << 17); i++)
    h[i] = 0x100000001ull * (uint64_t)i;
  uint64_t *dh;
  CK(cudaHostGetDevicePointer((void **)&dh, h, 0));
  unsigned long long *out;
  CK(cudaMalloc((void **)&out, 16));
  struct {
    const char *name;
    int kind, lanes, per, stride, off;
  } cases[] = {
      {"1 lane, ld.volatile.u64", K_VOL8, 1, 1, 0, 0},
      {"1 lane, ld.acquire.sys.u64", K_ACQ8, 1, 1, 0, 0},
      {"1 lane, ld.volatile.v2.u64", K_VOL, 1, 1, 0, 0},
      {"8 lanes (128 B, aligned), volatile v2.u64", K_VOL, 8, 1, 0, 0},
      {"8 lanes (128 B, aligned), relaxed.sys v2.u64", K_RLX, 8, 1, 0, 0},
      {"8 lanes (128 B, aligned), cv v2.u64", K_CV, 8, 1, 0, 0},
      {"11 lanes (176 B, aligned), volatile v2.u64", K_VOL, 11, 1, 0, 0},
      {"11 lanes (176 B, aligned), relaxed.sys v2.u64", K_RLX, 11, 1, 0, 0},
      {"11 lanes (176 B, aligned), cv v2.u64", K_CV, 11, 1, 0, 0},
      {"11 lanes (176 B, +64 B), volatile v2.u64", K_VOL, 11, 1, 0, 64},
      {"32 lanes (512 B), volatile v2.u64", K_VOL, 32, 1, 0, 0},
      {"32 lanes (512 B), relaxed.sys v2.u64", K_RLX, 32, 1, 0, 0},
      {"32 lanes (512 B), cv v2.u64", K_CV, 32, 1, 0, 0},
      {"32 lanes x 8 (4 KB), volatile v2.u64", K_VOL, 32, 8, 512, 0},
      {"32 lanes x 8 (4 KB), relaxed.sys v2.u64", K_RLX, 32, 8, 512, 0},
      {"32 lanes x 8 (4 KB), cv v2.u64", K_CV, 32, 8, 512, 0},
      {"1 lane x 8 (128 B), volatile v2.u64", K_VOL, 1, 8, 16, 0},
      {"1 lane x 8 (128 B), cv v2.u64", K_CV, 1, 8, 16, 0},
  };
  const int turns = 2000;
  printf("%-48s %10s\n", "loads of mapped host memory, one warp", "us/turn");
  for (const auto &c : cases) {
    probe<<<1, 32>>>(dh + c.off / 8, c.kind, c.lanes, c.per, c.stride, turns,
                     out);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    unsigned long long ns = 0;
    CK(cudaMemcpy(&ns, out, 8, cudaMemcpyDeviceToHost));
    printf("%-48s %10.3f\n", c.name, ns / 1e3 / turns);
  }
  int rc = 0;
  rc |= run_pong(h, dh, 1, 0, 4096);
  rc |= run_pong(h, dh, 8, 0, 4096);
  rc |= run_pong(h, dh, 11, 0, 4096);
  rc |= run_pong(h, dh, 11, 512 + 176, 8192 + 176);
  rc |= run_pong(h, dh, 32, 0, 4096);
  rc |= run_pong(h, dh, 11, 0, 4096, 1, 0);
  rc |= run_pong(h, dh, 11, 0, 4096, 0, 1);
  rc |= run_pong(h, dh, 11, 0, 4096, 1, 1);
  rc |= run_pong(h, dh, 11, 512, 512 + 20000 * 176 + 4096, 0, 0, 176);
  rc |= run_pong(h, dh, 11, 512, 512 + 20000 * 176 + 4096, 1, 1, 176);
  rc |= run_pong(h, dh, 11, 0, 4096, 0, 2);
  rc |= run_pong(h, dh, 11, 0, 4096, 0, 4);
  return rc;
}
