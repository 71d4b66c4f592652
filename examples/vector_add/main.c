/* SPDX-License-Identifier: MIT */
/*
** main.c: the VectorAdd example. Runs the seed report's test (10, 25 and 100
** elements, one request at a time), a latency run of one-at-a-time round
** trips (p50/p99/p99.9), and a pipelined throughput run through the batch
** API. Every answer is checked element by element; any wrong, missing or
** extra answer makes the program exit 1. --quick shortens both runs.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vecadd.rk.h"

typedef vecadd_VectorAddProcessor proc_t;
typedef vecadd_VectorAddRequest req_t;
typedef vecadd_VectorAddResponse resp_t;

#define TIMEOUT_NS (10LL * 1000 * 1000 * 1000) /* any wait longer is a hang */
#define WINDOW 256u   /* messages per batch call */
#define IN_FLIGHT 1024u /* sent and not yet received, at most */

static unsigned g_errors; /* wrong, missing or extra answers */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reports one failure; only the first few are printed in full. */
static void fail(const char *what, uint64_t index, const char *detail) {
  if (++g_errors <= 10)
    fprintf(stderr, "FAIL %s (request %" PRIu64 "): %s\n", what, index, detail);
}

/* Request number i, a pure function of i (so it can be rebuilt to check the
** answer): values are small integers and halves, exact in float. */
static void make_request(uint64_t i, uint32_t n, req_t *r) {
  vecadd_VectorAddRequest_init(r);
  r->n = n;
  r->op = i % 3 == 0 ? VECADD_OP_SUB : VECADD_OP_ADD;
  for (uint32_t j = 0; j < n; j++) {
    r->a[j] = (float)((i * 7 + j) % 1000);
    r->b[j] = (float)((i + 3u * j) % 977) * 0.5f;
  }
}

/* The element count of request i in the throughput run: 1 to 100. */
static uint32_t count_of(uint64_t i) { return 1u + (uint32_t)(i * 37u % 100u); }

/* Returns 1 if resp is the exact answer to request i of n elements; else
** reports the first wrong element and returns 0. */
static int check_answer(uint64_t i, uint32_t n, const resp_t *resp) {
  char buf[128];
  if (resp->n != n) {
    snprintf(buf, sizeof buf, "n is %" PRIu32 ", expected %" PRIu32, resp->n, n);
    fail("answer", i, buf);
    return 0;
  }
  for (uint32_t j = 0; j < n; j++) {
    float a = (float)((i * 7 + j) % 1000), b = (float)((i + 3u * j) % 977) * 0.5f;
    float want = i % 3 == 0 ? a - b : a + b;
    if (resp->c[j] != want) {
      snprintf(buf, sizeof buf, "c[%" PRIu32 "] = %g, expected %g", j,
               (double)resp->c[j], (double)want);
      fail("answer", i, buf);
      return 0;
    }
  }
  return 1;
}

/* Reports a failed call with its status and detail; returns 0. */
static int call_failed(const char *what, rk_status st) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s: %s", rk_status_str(st), rk_error_detail());
  fail(what, 0, buf);
  return 0;
}

/* One request of n elements, sent and answered alone. Stores the round trip
** in *rtt_ns. Returns 1 when the answer is right. */
static int round_trip(proc_t *k, uint64_t i, uint32_t n, req_t *req,
                      resp_t *resp, uint64_t *rtt_ns) {
  uint64_t corr_sent = 0, corr_got = 0;
  make_request(i, n, req);
  uint64_t t0 = now_ns();
  rk_status st =
      vecadd_VectorAddProcessor_send_VectorAddRequest(k, req, TIMEOUT_NS, &corr_sent);
  if (st != RK_OK)
    return call_failed("send", st);
  st = vecadd_VectorAddProcessor_recv_VectorAddResponse(k, resp, TIMEOUT_NS, &corr_got);
  *rtt_ns = now_ns() - t0;
  if (st != RK_OK)
    return call_failed("recv", st);
  if (corr_got != corr_sent) {
    fail("correlation", i, "the answer carries another request's id");
    return 0;
  }
  return check_answer(i, n, resp);
}

/* The seed report's test: 10, 25 and 100 elements, each checked. */
static int seed_test(proc_t *k, req_t *req, resp_t *resp) {
  static const uint32_t sizes[] = {10, 25, 100};
  int ok = 1;
  printf("seed test (phase2-status.md):\n");
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    uint64_t rtt = 0;
    int good = round_trip(k, s, sizes[s], req, resp, &rtt);
    printf("  %-4s VectorAdd of %3" PRIu32 " elements  round trip %8.2f us\n",
           good ? "PASS" : "FAIL", sizes[s], (double)rtt / 1e3);
    ok &= good;
  }
  return ok;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* count one-at-a-time round trips of 10 elements; prints percentiles. */
static int latency_run(proc_t *k, uint64_t count, req_t *req, resp_t *resp) {
  uint64_t *rtt = malloc(count * sizeof *rtt);
  if (rtt == NULL)
    return call_failed("malloc", RK_E_NOMEM);
  int ok = 1;
  for (uint64_t i = 0; i < count && ok; i++)
    ok = round_trip(k, 1000 + i, 10, req, resp, &rtt[i]);
  if (ok) {
    qsort(rtt, count, sizeof *rtt, cmp_u64);
    printf("latency: %" PRIu64 " round trips of 10 elements: p50 %.2f us  "
           "p99 %.2f us  p99.9 %.2f us  max %.2f us\n", count,
           (double)rtt[(count - 1) / 2] / 1e3,
           (double)rtt[(count - 1) * 99 / 100] / 1e3,
           (double)rtt[(count - 1) * 999 / 1000] / 1e3,
           (double)rtt[count - 1] / 1e3);
  }
  free(rtt);
  return ok;
}

/* The requests in flight, by correlation id: an open-addressing table
** (linear probing, backward-shift deletion) of MAP_SIZE > 2 x IN_FLIGHT
** slots. idx1 is the request number + 1; 0 marks an empty slot. */
#define MAP_SIZE 4096u
_Static_assert(MAP_SIZE >= 2 * IN_FLIGHT, "the map must stay half empty");
typedef struct map_slot {
  uint64_t corr, idx1;
} map_slot;

static uint32_t map_home(uint64_t corr) {
  return (uint32_t)((corr * 0x9e3779b97f4a7c15u) >> 52) & (MAP_SIZE - 1);
}

static void map_put(map_slot *m, uint64_t corr, uint64_t index) {
  uint32_t h = map_home(corr);
  while (m[h].idx1)
    h = (h + 1) & (MAP_SIZE - 1);
  m[h].corr = corr;
  m[h].idx1 = index + 1;
}

/* Removes corr and returns its request number; UINT64_MAX if it is not in
** flight (an unknown id, or a second answer to one request). */
static uint64_t map_take(map_slot *m, uint64_t corr) {
  uint32_t h = map_home(corr);
  while (m[h].idx1 && m[h].corr != corr)
    h = (h + 1) & (MAP_SIZE - 1);
  if (!m[h].idx1)
    return UINT64_MAX;
  uint64_t index = m[h].idx1 - 1;
  /* Backward shift: pull later entries of the probe run into the hole when
  ** their home slot is not cyclically within (hole, entry]. */
  for (uint32_t hole = h, j = h;;) {
    m[hole].idx1 = 0;
    for (;;) {
      j = (j + 1) & (MAP_SIZE - 1);
      if (!m[j].idx1)
        return index;
      uint32_t home = map_home(m[j].corr);
      int stays = hole < j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays)
        break;
    }
    m[hole] = m[j];
    hole = j;
  }
}

/* State of the pipelined run. Correlation ids are only assumed unique: the
** answers of a stateless kernel come back in any order. */
typedef struct pipe {
  uint64_t total, sent, done;
  map_slot *map;
  req_t *reqs;
  resp_t *resps;
  uint64_t corr[WINDOW];
} pipe_t;

/* Sends as many of the next requests as the window and the queue allow,
** without waiting (a full queue would otherwise wait on our own unread
** answers). Returns 0 on a failed call. */
static int pipe_send(proc_t *k, pipe_t *p) {
  uint64_t room = IN_FLIGHT - (p->sent - p->done), left = p->total - p->sent;
  size_t m = (size_t)(room < left ? room : left), sent = 0;
  if (m > WINDOW)
    m = WINDOW;
  if (m == 0)
    return 1;
  for (size_t j = 0; j < m; j++)
    make_request(p->sent + j, count_of(p->sent + j), &p->reqs[j]);
  rk_status st = vecadd_VectorAddProcessor_send_VectorAddRequest_batch(
      k, p->reqs, m, 0, p->corr, &sent);
  if (st != RK_OK && st != RK_E_TIMEOUT)
    return call_failed("send_batch", st);
  for (size_t j = 0; j < sent; j++)
    map_put(p->map, p->corr[j], p->sent + j);
  p->sent += sent;
  return 1;
}

/* Receives what has arrived (waiting up to TIMEOUT_NS when nothing more can
** be sent) and checks each answer. Returns 0 on a failed call or timeout. */
static int pipe_recv(proc_t *k, pipe_t *p) {
  int must_wait = p->sent == p->total || p->sent - p->done >= IN_FLIGHT;
  size_t got = 0;
  rk_status st = vecadd_VectorAddProcessor_recv_VectorAddResponse_batch(
      k, p->resps, WINDOW, must_wait ? TIMEOUT_NS : 0, p->corr, NULL, &got);
  if (st == RK_E_TIMEOUT && !must_wait)
    return 1;
  if (st != RK_OK) {
    fprintf(stderr, "%" PRIu64 " answers missing\n", p->sent - p->done);
    return call_failed("recv_batch", st);
  }
  for (size_t j = 0; j < got; j++) {
    uint64_t i = map_take(p->map, p->corr[j]);
    if (i == UINT64_MAX) {
      char buf[64];
      snprintf(buf, sizeof buf, "id %" PRIu64 " is not in flight", p->corr[j]);
      fail("correlation", p->sent, buf);
      continue;
    }
    check_answer(i, count_of(i), &p->resps[j]);
  }
  p->done += got;
  return 1;
}

/* total requests through the batch API, IN_FLIGHT at most outstanding. */
static int throughput_run(proc_t *k, uint64_t total) {
  pipe_t p = {.total = total};
  p.map = calloc(MAP_SIZE, sizeof *p.map);
  p.reqs = malloc(WINDOW * sizeof *p.reqs);
  p.resps = malloc(WINDOW * sizeof *p.resps);
  int ok = p.map && p.reqs && p.resps;
  if (!ok)
    call_failed("malloc", RK_E_NOMEM);
  uint64_t t0 = now_ns();
  while (ok && p.done < total && g_errors == 0)
    ok = pipe_send(k, &p) && pipe_recv(k, &p);
  double s = (double)(now_ns() - t0) / 1e9;
  if (ok && g_errors == 0)
    printf("throughput: %" PRIu64 " requests of 1-100 elements in %.3f s: "
           "%.0f requests/s (batches of %u, %u in flight)\n",
           total, s, (double)total / s, WINDOW, IN_FLIGHT);
  free(p.map);
  free(p.reqs);
  free(p.resps);
  return ok;
}

/* Terminates the kernel and checks its books: everything handled, nothing
** failed or left behind. */
static int finish(proc_t *k, uint64_t sent) {
  rk_kernel_stats fin;
  rk_status st = vecadd_VectorAddProcessor_terminate(k, &fin);
  if (st != RK_OK)
    return call_failed("terminate", st);
  printf("terminated: received %" PRIu64 ", handled %" PRIu64
         ", failed %" PRIu64 ", unhandled %" PRIu64 "\n",
         fin.received, fin.handled, fin.failed, fin.unhandled);
  if (fin.received != sent || fin.handled != sent || fin.failed != 0 ||
      fin.unhandled != 0) {
    fail("final stats", sent, "received/handled differ from what was sent");
    return 0;
  }
  return 1;
}

static int usage(const char *prog) {
  fprintf(stderr, "usage: %s [--quick] [--requests N] [--round-trips N]\n"
                  "  RK_BACKEND=cpu|cuda|auto and RK_CONFIG=file.yaml are read\n",
          prog);
  return 2;
}

int main(int argc, char **argv) {
  uint64_t total = 1000000, trips = 100000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      total = 20000;
      trips = 5000;
    } else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
      total = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--round-trips") == 0 && i + 1 < argc) {
      trips = strtoull(argv[++i], NULL, 10);
    } else {
      return usage(argv[0]);
    }
  }
  if (total == 0 || trips == 0)
    return usage(argv[0]);

  rk_runtime *rt = NULL;
  proc_t *k = NULL;
  rk_status st = rk_runtime_create(NULL, &rt);
  if (st == RK_OK)
    st = vecadd_VectorAddProcessor_launch(rt, &k);
  if (st != RK_OK) {
    fprintf(stderr, "start: %s: %s\n", rk_status_str(st), rk_error_detail());
    rk_runtime_destroy(rt);
    return 1;
  }
  rk_kernel_stats info;
  if (vecadd_VectorAddProcessor_stats(k, &info) == RK_OK)
    printf("backend: %s (%" PRIu32 " workers x %" PRIu32 " threads)\n",
           rk_backend_name(info.backend), info.grid, info.block);

  req_t *req = malloc(sizeof *req);
  resp_t *resp = malloc(sizeof *resp);
  int ok = req && resp && seed_test(k, req, resp) &&
           latency_run(k, trips, req, resp) && throughput_run(k, total);
  ok = finish(k, 3 + trips + total) && ok;
  free(req);
  free(resp);
  rk_runtime_destroy(rt);
  if (!ok || g_errors) {
    fprintf(stderr, "vector_add: FAILED (%u wrong or missing answers)\n", g_errors);
    return 1;
  }
  printf("vector_add: all answers correct\n");
  return 0;
}
