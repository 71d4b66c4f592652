/* SPDX-License-Identifier: MIT */
/*
** speed_ll_host.c (program rk_speed_ll_host, not a test): what the host
** half of the CUDA backend's data path costs, without a GPU. kernel.c runs
** its kernels on the LL stand-in (ll_standin.h: LL lanes as the CUDA
** backend's), and the program times the host thread's part alone:
**   send: 64-byte messages into an empty input lane, the stand-in device
**         deactivated (so nothing else touches the lane meanwhile);
**   recv: the answers of those messages, all of them already written by
**         the stand-in device (its thread idles meanwhile);
** each in batches (rk_kernel_send_batch / _recv_batch of 512) and one at a
** time (rk_kernel_send / _recv). A bench figure of one host thread that
** sends and receives (rk-bench's "1 worker" throughput) cannot exceed
** 1 / (send + recv) of its batch costs, whatever the device does; the GPU
** machine's host has its own costs (answers there arrive by DMA), so the
** figure is this machine's. Every answer is checked against its request:
** the exit status is 1 on a wrong or missing answer.
** Usage: rk_speed_ll_host [rounds]   (default 20; best and median shown)
*/
#include "ll_standin.h"

#define N 16384u  /* messages a round: one input lane of 65536 / 4 */
#define BATCH 512u

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static Req q[N];
static Resp r[N];

/* One round: N sends (batched or not) into the idle lane, then, once the
** stand-in answered all, N receives. ns per message into *send, *recv;
** returns the count of wrong or missing answers. */
static uint64_t round_once(rk_kernel *k, int batched, uint32_t *seq,
                           double *send, double *recv) {
  uint64_t bad = 0;
  for (uint32_t i = 0; i < N; i++)
    fill_req(&q[i], 0, *seq + i, *seq + i);
  rk_kernel_stats s0, s;
  if (rk_kernel_stats_get(k, &s0) != RK_OK ||
      rk_kernel_deactivate(k) != RK_OK)
    return N;
  uint64_t t0 = now_ns();
  if (batched) {
    for (uint32_t i = 0; i < N; i += BATCH) {
      size_t sent = 0;
      if (rk_kernel_send_batch(k, T_REQ, NULL, &q[i], sizeof q[0], BATCH, 0,
                               NULL, &sent) != RK_OK || sent != BATCH)
        return N;
    }
  } else {
    for (uint32_t i = 0; i < N; i++)
      if (rk_kernel_send(k, T_REQ, 0, &q[i], sizeof q[0], 0, NULL) != RK_OK)
        return N;
  }
  uint64_t t1 = now_ns();
  *seq += N;
  if (rk_kernel_activate(k) != RK_OK)
    return N;
  uint64_t give_up = now_ns() + 10000000000u;
  do {
    if (rk_kernel_stats_get(k, &s) != RK_OK || now_ns() > give_up)
      return N;
    sched_yield();
  } while (s.replied < s0.replied + N);
  uint64_t t2 = now_ns();
  uint32_t got = 0;
  if (batched) {
    while (got < N) {
      size_t g = 0;
      uint32_t want = N - got < BATCH ? N - got : BATCH;
      if (rk_kernel_recv_batch(k, T_RESP, &r[got], sizeof r[0], want, 0, NULL,
                               NULL, &g) != RK_OK)
        break;
      got += (uint32_t)g;
    }
  } else {
    while (got < N &&
           rk_kernel_recv(k, T_RESP, &r[got], sizeof r[0], 0, NULL) == RK_OK)
      got++;
  }
  uint64_t t3 = now_ns();
  for (uint32_t i = 0; i < got; i++) /* one actor, one lane: in order */
    bad += memcmp(&q[i], &r[i], sizeof q[0]) != 0;
  *send = (double)(t1 - t0) / N;
  *recv = (double)(t3 - t2) / N;
  return bad + (N - got);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  if (rounds < 1 || rounds > 100000) {
    fprintf(stderr, "usage: %s [rounds (1 to 100000)]\n", argv[0]);
    return 2;
  }
  rk__test_ops = &dev_ops;
  rk_kernel_desc d = bank_desc(1, 65536);
  rk_runtime *rt = make_rt("Bank", 0);
  rk_kernel *k = NULL;
  if (!rt || rk_kernel_launch(rt, &d, &k) != RK_OK) {
    fprintf(stderr, "launch: %s\n", rk_error_detail());
    return 1;
  }
  double *t = calloc(4 * (size_t)rounds, sizeof *t);
  if (!t)
    return 1;
  uint32_t seq = 0;
  uint64_t bad = 0;
  for (int i = 0; i < rounds; i++)
    for (int b = 0; b < 2; b++)
      bad += round_once(k, b, &seq, &t[(2 * b) * rounds + i],
                        &t[(2 * b + 1) * rounds + i]);
  static const char *const what[] = {
      "rk_kernel_send, one message a call",
      "rk_kernel_recv, one message a call",
      "rk_kernel_send_batch, 512 a call",
      "rk_kernel_recv_batch, 512 a call",
  };
  double best[4];
  printf("host half of the LL data path, 64-byte messages, %d rounds of %u"
         "\n%-40s %10s %10s\n", rounds, N, "", "best", "median");
  for (int c = 0; c < 4; c++) {
    qsort(t + c * rounds, (size_t)rounds, sizeof *t, cmp_d);
    best[c] = t[c * rounds];
    printf("%-40s %7.1f ns %7.1f ns\n", what[c], best[c],
           t[c * rounds + rounds / 2]);
  }
  printf("one host thread sending and receiving in batches: at most %.1f M "
         "messages/s (best rounds)\n", 1e3 / (best[2] + best[3]));
  rk_kernel_stats fin;
  if (rk_kernel_terminate(k, &fin) != RK_OK || fin.handled != fin.received)
    bad++;
  rk_runtime_destroy(rt);
  free(t);
  printf("answers checked: %llu, wrong or missing: %llu\n",
         (unsigned long long)(2ull * (unsigned long long)rounds * N),
         (unsigned long long)bad);
  return bad ? 1 : 0;
}
