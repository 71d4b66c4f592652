/* SPDX-License-Identifier: MIT */
/*
** rk_runs.c: ringkernel measured as a user's program uses it, through the
** API that rkc generated from bench.rk and vecadd.rk: the round trip of one
** 64-byte message (one outstanding), batched throughput with one worker and
** with all workers (stateless and many actors), and VectorAdd of 10, 25 and
** 100 elements. Every answer is checked; what never comes back is lost.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench.rk.h"
#include "vecadd.rk.h"

#define TIMEOUT_NS (10LL * 1000 * 1000 * 1000) /* longer is a hang */
#define BATCH 512u          /* messages per batch call */
#define IN_FLIGHT 8192u     /* sent and not yet answered, per host thread */
#define MAX_IN_FLIGHT 32768u /* ... and in all (half the schema capacity) */
#define N_ACTORS BENCH_ACTORS

typedef bench_Ping64 ping_t;
typedef bench_Pong64 pong_t;

/* ------------------------------------------------------------ messages */

static void make_ping(uint64_t idx, ping_t *p) {
  for (unsigned w = 0; w < 8; w++)
    p->v[w] = rkb_word(idx, w);
}

/* 1 when q answers message idx: every word complemented, except v[7] of an
** actor's answer, which is the actor's count before it (want7). */
static int pong_ok(const pong_t *q, uint64_t idx, int actors, uint64_t want7) {
  for (unsigned w = 0; w < 7; w++)
    if (q->v[w] != ~rkb_word(idx, w))
      return 0;
  return actors ? q->v[7] == want7 : q->v[7] == ~rkb_word(idx, 7);
}

/* ------------------------------------------- the two echo kernels alike */

typedef struct echo {
  int actors;               /* 1: EchoActors, 0: EchoStateless */
  void *k;
  uint64_t next;            /* next message number (actors: all of them) */
} echo;

static rk_status e_launch(rk_runtime *rt, echo *e) {
  return e->actors ? bench_EchoActors_launch(rt, (bench_EchoActors **)&e->k)
                   : bench_EchoStateless_launch(rt, (bench_EchoStateless **)&e->k);
}

/* Sends n pings numbered from first (actors: message i to actor i % A)
** without waiting; *sent gets how many were accepted, in order. */
static rk_status e_send(echo *e, const ping_t *ps, const uint32_t *actors,
                        size_t n, int64_t to, size_t *sent) {
  if (e->actors)
    return bench_EchoActors_send_Ping64_to_batch(e->k, actors, ps, n, to, NULL,
                                                 sent);
  return bench_EchoStateless_send_Ping64_batch(e->k, ps, n, to, NULL, sent);
}

static rk_status e_recv(echo *e, pong_t *qs, size_t max, int64_t to,
                        size_t *got) {
  if (e->actors)
    return bench_EchoActors_recv_Pong64_batch(e->k, qs, max, to, NULL, NULL,
                                              got);
  return bench_EchoStateless_recv_Pong64_batch(e->k, qs, max, to, NULL, NULL,
                                               got);
}

static rk_status e_stats(echo *e, rk_kernel_stats *s) {
  return e->actors ? bench_EchoActors_stats(e->k, s)
                   : bench_EchoStateless_stats(e->k, s);
}

static rk_status e_terminate(echo *e, rk_kernel_stats *s) {
  return e->actors ? bench_EchoActors_terminate(e->k, s)
                   : bench_EchoStateless_terminate(e->k, s);
}

/* Checks a kernel's final books: everything accepted was handled. */
static void check_final(rkb_run *r, const char *what, rk_status st,
                        const rk_kernel_stats *f) {
  if (st != RK_OK) {
    rkb_wrong(r, "%s: terminate: %s: %s", what, rk_status_str(st),
              rk_error_detail());
    return;
  }
  if (f->unhandled || f->handled != f->received) {
    r->lost += f->unhandled ? f->unhandled : f->received - f->handled;
    rkb_wrong(r, "%s: received %" PRIu64 ", handled %" PRIu64
              ", unhandled %" PRIu64, what, f->received, f->handled,
              f->unhandled);
  }
}

/* --------------------------------------------------------- round trips */

/* warmup + trips round trips of one ping on the stateless echo; adds the
** series key. Returns 0, or -1 after a failed call (counted). */
static int echo_rtt(const rkb_opts *o, rkb_run *r, echo *e, const char *key,
                    const char *label) {
  size_t total = o->warmup + o->trips;
  uint64_t *t = malloc(o->trips * sizeof *t);
  if (!t)
    return -1;
  for (size_t i = 0; i < total; i++) {
    ping_t p;
    pong_t q;
    uint64_t c1 = 0, c2 = 0, idx = e->next++;
    make_ping(idx, &p);
    uint64_t t0 = rkb_now_ns();
    rk_status st =
        bench_EchoStateless_send_Ping64(e->k, &p, TIMEOUT_NS, &c1);
    if (st == RK_OK)
      st = bench_EchoStateless_recv_Pong64(e->k, &q, TIMEOUT_NS, &c2);
    uint64_t dt = rkb_now_ns() - t0;
    if (st != RK_OK) {
      r->lost++;
      rkb_wrong(r, "%s: round trip %zu: %s: %s", key, i, rk_status_str(st),
                rk_error_detail());
      free(t);
      return -1;
    }
    r->checked++;
    if (c1 != c2 || !pong_ok(&q, idx, 0, 0))
      rkb_wrong(r, "%s: round trip %zu: wrong answer (correlation %" PRIu64
                " for %" PRIu64 ")", key, i, c2, c1);
    if (i >= o->warmup)
      t[i - o->warmup] = dt;
    if ((i & 1023) == 0)
      rkb_progress(o, label, (double)i / (double)total);
  }
  rkb_add_lat(r, key, label, t, o->trips);
  return 0;
}

/* ---------------------------------------------------------- throughput */

/* T host threads send and receive at once. Thread t's j-th message is
** number idx = j * T + t; on the actor kernel it goes to actor
** t + T * (j % (A / T)), so each actor hears from one thread only, in
** order, and its count at that message is j / (A / T). An answer may be
** received by any thread: each checks the payload of what it receives and
** adds idx to a sum and a hash sum; at the end the counts and both sums of
** what was sent and what came back must agree (a lost, repeated or unknown
** answer cannot keep all three equal). */

typedef struct thr_shared {
  echo *e;
  rkb_run *r;
  const char *key;
  uint32_t n_threads;
  uint64_t window;              /* sent and not yet answered, at most */
  _Atomic uint64_t sent, got;   /* all threads' totals */
  _Atomic uint32_t stop;        /* 1: send no more, drain */
  _Atomic uint32_t stopped;     /* threads that have sent their last */
  _Atomic int failed;           /* a call failed: every thread leaves */
} thr_shared;

typedef struct thr_worker {
  thr_shared *sh;
  uint32_t t;
  uint32_t *order;              /* grouped: the x of this thread's actors,
                                ** ordered by worker; NULL: in turn */
  uint64_t j;                   /* this thread's next message */
  uint64_t sum_sent, hash_sent; /* over the idx this thread sent */
  uint64_t sum_got, hash_got;   /* over the idx this thread received */
  uint64_t wrong;
  ping_t ps[BATCH];
  pong_t qs[BATCH];
  uint32_t actors[BATCH];
} thr_worker;

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdu;
  return x ^ (x >> 29);
}

/* Checks the answers just received by w. */
static void thr_check(thr_worker *w, size_t got) {
  thr_shared *sh = w->sh;
  uint64_t per = N_ACTORS / sh->n_threads;
  for (size_t i = 0; i < got; i++) {
    uint64_t idx = ~w->qs[i].v[0], j = idx / sh->n_threads;
    if (!pong_ok(&w->qs[i], idx, sh->e->actors, j / per))
      w->wrong++;
    w->sum_got += idx;
    w->hash_got += mix(idx);
  }
}

/* Sends what the window allows, never waiting (a full queue would wait on
** answers that no one reads). -1 on a failed call. */
static int thr_send(thr_worker *w) {
  thr_shared *sh = w->sh;
  uint64_t per = N_ACTORS / sh->n_threads;
  /* Relaxed: counters that only size the window; any value is safe. */
  uint64_t out = atomic_load_explicit(&sh->sent, memory_order_relaxed) -
                 atomic_load_explicit(&sh->got, memory_order_relaxed);
  size_t m = out >= sh->window ? 0 : BATCH, sent = 0;
  if (m == 0)
    return 0;
  for (size_t i = 0; i < m; i++) {
    uint64_t j = w->j + i;
    make_ping(j * sh->n_threads + w->t, &w->ps[i]);
    uint64_t x = w->order ? w->order[j % per] : j % per;
    w->actors[i] = (uint32_t)(w->t + sh->n_threads * x);
  }
  rk_status st = e_send(sh->e, w->ps, w->actors, m, 0, &sent);
  if (st != RK_OK && st != RK_E_TIMEOUT) {
    rkb_wrong(sh->r, "%s: send: %s: %s", sh->key, rk_status_str(st),
              rk_error_detail());
    return -1;
  }
  for (size_t i = 0; i < sent; i++) {
    uint64_t idx = (w->j + i) * sh->n_threads + w->t;
    w->sum_sent += idx;
    w->hash_sent += mix(idx);
  }
  w->j += sent;
  /* Relaxed: a count; the drain's seq_cst loads and the joins order it. */
  atomic_fetch_add_explicit(&sh->sent, sent, memory_order_relaxed);
  return 0;
}

/* Receives what has arrived, waiting up to wait_ns for the first. */
static int thr_recv(thr_worker *w, int64_t wait_ns) {
  thr_shared *sh = w->sh;
  size_t got = 0;
  rk_status st = e_recv(sh->e, w->qs, BATCH, wait_ns, &got);
  if (st == RK_E_TIMEOUT)
    return 0;
  if (st != RK_OK) {
    rkb_wrong(sh->r, "%s: recv: %s: %s", sh->key, rk_status_str(st),
              rk_error_detail());
    return -1;
  }
  thr_check(w, got);
  /* Relaxed: a count (window, rate); the final books read it after join. */
  atomic_fetch_add_explicit(&sh->got, got, memory_order_relaxed);
  return 0;
}

/* One host thread: sends and receives until told to stop, then receives
** until every thread's messages are answered (TIMEOUT_NS at most). */
static void *thr_main(void *arg) {
  thr_worker *w = arg;
  thr_shared *sh = w->sh;
  int rc = 0;
  /* Relaxed flags: they publish nothing; the counts are joined. */
  while (rc == 0 && !atomic_load_explicit(&sh->stop, memory_order_relaxed) &&
         !atomic_load_explicit(&sh->failed, memory_order_relaxed)) {
    rc = thr_send(w);
    if (rc == 0)
      rc = thr_recv(w, 0);
  }
  /* seq_cst (a release): our adds to sent happen before the load of a
  ** thread that sees every thread stopped (the adds to stopped form one
  ** release sequence), so the drain below waits for every send. */
  atomic_fetch_add(&sh->stopped, 1);
  uint64_t end = rkb_now_ns() + (uint64_t)TIMEOUT_NS;
  while (rc == 0 && rkb_now_ns() < end &&
         !atomic_load_explicit(&sh->failed, memory_order_relaxed) &&
         !(atomic_load(&sh->stopped) == sh->n_threads &&
           atomic_load(&sh->got) >= atomic_load(&sh->sent)))
    rc = thr_recv(w, 1000000);
  if (rc != 0)
    atomic_store(&sh->failed, 1);
  return NULL;
}

static void sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  nanosleep(&ts, NULL);
}

/* Sums the threads' books into r: lost, wrong, checked. */
static void thr_books(rkb_run *r, thr_shared *sh, thr_worker *w) {
  uint64_t s1 = 0, h1 = 0, s2 = 0, h2 = 0, bad = 0;
  for (uint32_t t = 0; t < sh->n_threads; t++) {
    s1 += w[t].sum_sent;
    h1 += w[t].hash_sent;
    s2 += w[t].sum_got;
    h2 += w[t].hash_got;
    bad += w[t].wrong;
  }
  uint64_t sent = atomic_load(&sh->sent), got = atomic_load(&sh->got);
  r->checked += got;
  if (bad)
    rkb_wrong(r, "%s: %" PRIu64 " answers with a wrong payload", sh->key, bad);
  if (got < sent) {
    r->lost += sent - got;
    rkb_wrong(r, "%s: %" PRIu64 " of %" PRIu64 " messages never answered",
              sh->key, sent - got, sent);
  } else if (got > sent || s1 != s2 || h1 != h2) {
    rkb_wrong(r, "%s: answers repeated or unknown (%" PRIu64 " answers to %"
              PRIu64 " messages)", sh->key, got, sent);
  }
}

/* The actors t + T * x of thread t (x < A / T), ordered by the worker that
** owns them (actor % grid, the runtime's placement), so that a batch holds
** long runs of messages for one worker. NULL when out of memory. */
static uint32_t *order_by_worker(uint32_t t, uint32_t n_threads,
                                 uint32_t grid) {
  uint32_t per = N_ACTORS / n_threads, k = 0;
  uint32_t *o = malloc(per * sizeof *o);
  for (uint32_t lane = 0; o && grid && lane < grid; lane++)
    for (uint32_t x = 0; x < per; x++)
      if ((t + n_threads * x) % grid == lane)
        o[k++] = x;
  return o;
}

/* Batched echo from threads host threads for o->thr_secs, after a tenth of
** it as warm-up; then drains every answer. Adds the figure key. */
static int echo_thr(const rkb_opts *o, rkb_run *r, echo *e, const char *key,
                    const char *label, uint32_t workers, uint32_t threads,
                    int grouped) {
  thr_shared sh = {.e = e, .r = r, .key = key, .n_threads = threads,
                   .window = IN_FLIGHT * (uint64_t)threads};
  thr_worker *w = calloc(threads, sizeof *w);
  pthread_t *th = calloc(threads, sizeof *th);
  uint32_t started = 0;
  if (sh.window > MAX_IN_FLIGHT)
    sh.window = MAX_IN_FLIGHT;
  for (uint32_t t = 0; w && th && t < threads; t++) {
    w[t].sh = &sh;
    w[t].t = t;
    if (grouped && !(w[t].order = order_by_worker(t, threads, workers)))
      break;
    if (pthread_create(&th[t], NULL, thr_main, &w[t]) != 0)
      break;
    started++;
  }
  uint64_t warm = (uint64_t)(o->thr_secs * 1e8), run = (uint64_t)(o->thr_secs * 1e9);
  uint64_t g0 = 0, g1 = 0, t0 = 0, t1 = 0;
  if (started == threads) {
    rkb_progress(o, label, 0.0);
    sleep_ns(warm);
    g0 = atomic_load(&sh.got);
    t0 = rkb_now_ns();
    for (int i = 1; i <= 10 && !atomic_load(&sh.failed); i++) {
      sleep_ns(run / 10);
      rkb_progress(o, label, i / 10.0);
    }
    g1 = atomic_load(&sh.got);
    t1 = rkb_now_ns();
  } else {
    rkb_wrong(r, "%s: cannot start %u host threads", key, threads);
  }
  atomic_store(&sh.stop, 1);
  for (uint32_t t = 0; t < started; t++)
    pthread_join(th[t], NULL);
  if (started == threads) {
    thr_books(r, &sh, w);
    if (!atomic_load(&sh.failed) && t1 > t0) {
      rkb_thr *f = rkb_add_thr(r, key, label, g1 - g0, (double)(t1 - t0) / 1e9,
                               workers);
      if (f)
        f->host_threads = threads;
    }
  }
  for (uint32_t t = 0; w && t < threads; t++)
    free(w[t].order);
  free(w);
  free(th);
  return started == threads && !atomic_load(&sh.failed) ? 0 : -1;
}

/* ----------------------------------------------------------- VectorAdd */

typedef vecadd_VectorAddRequest va_req;
typedef vecadd_VectorAddResponse va_resp;

static float va_a(uint64_t i, uint32_t j) { return (float)((i * 7 + j) % 1000); }
static float va_b(uint64_t i, uint32_t j) {
  return (float)((i + 3u * j) % 977) * 0.5f;
}

/* Round trips of VectorAdd requests of n elements; adds series key. */
static int vecadd_rtt(const rkb_opts *o, rkb_run *r,
                      vecadd_VectorAddProcessor *k, uint32_t n,
                      const char *key, const char *label) {
  size_t trips = o->trips / 4 ? o->trips / 4 : 1, total = o->warmup + trips;
  uint64_t *t = malloc(trips * sizeof *t);
  va_req *rq = malloc(sizeof *rq);
  va_resp *rs = malloc(sizeof *rs);
  int rc = t && rq && rs ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < total; i++) {
    vecadd_VectorAddRequest_init(rq);
    rq->n = n;
    rq->op = i % 2 ? VECADD_OP_SUB : VECADD_OP_ADD;
    for (uint32_t j = 0; j < n; j++) {
      rq->a[j] = va_a(i, j);
      rq->b[j] = va_b(i, j);
    }
    uint64_t c1 = 0, c2 = 0, t0 = rkb_now_ns();
    rk_status st = vecadd_VectorAddProcessor_send_VectorAddRequest(
        k, rq, TIMEOUT_NS, &c1);
    if (st == RK_OK)
      st = vecadd_VectorAddProcessor_recv_VectorAddResponse(k, rs, TIMEOUT_NS,
                                                            &c2);
    uint64_t dt = rkb_now_ns() - t0;
    if (st != RK_OK) {
      r->lost++;
      rkb_wrong(r, "%s: %s: %s", key, rk_status_str(st), rk_error_detail());
      rc = -1;
      break;
    }
    r->checked++;
    int ok = c1 == c2 && rs->n == n;
    for (uint32_t j = 0; ok && j < n; j++)
      ok = rs->c[j] == (i % 2 ? va_a(i, j) - va_b(i, j) : va_a(i, j) + va_b(i, j));
    if (!ok)
      rkb_wrong(r, "%s: request %zu: wrong answer", key, i);
    if (i >= o->warmup)
      t[i - o->warmup] = dt;
    if ((i & 255) == 0)
      rkb_progress(o, label, (double)i / (double)total);
  }
  if (rc == 0)
    rkb_add_lat(r, key, label, t, trips);
  else
    free(t);
  free(rq);
  free(rs);
  return rc;
}

/* ------------------------------------------------------------ runtimes */

/* A runtime on backend; one_worker pins every bench kernel to one worker
** (grid 1 on the GPU, cpu_threads 1 on the CPU). */
static rk_status start_rt(const char *backend, int one_worker,
                          rk_runtime **rt) {
  static const char *const names[] = {"EchoStateless", "EchoActors",
                                      "VectorAddProcessor"};
  rk_config *cfg = NULL;
  rk_status st = rk_config_new(&cfg);
  if (st == RK_OK)
    st = rk_config_set(cfg, "backend", backend);
  for (size_t i = 0; st == RK_OK && one_worker && i < 3; i++) {
    char key[96];
    snprintf(key, sizeof key, "kernels.%s.grid", names[i]);
    st = rk_config_set(cfg, key, "1");
    snprintf(key, sizeof key, "kernels.%s.cpu_threads", names[i]);
    if (st == RK_OK)
      st = rk_config_set(cfg, key, "1");
  }
  if (st == RK_OK)
    st = rk_runtime_create(cfg, rt);
  rk_config_free(cfg);
  return st;
}

/* The one-worker part: round trip, one worker's throughput, VectorAdd. */
static int one_worker_part(const rkb_opts *o, rkb_run *r, const char *b) {
  rk_runtime *rt = NULL;
  rk_status st = start_rt(b, 1, &rt);
  echo e = {0, NULL, 0};
  char key[RKB_NAME], label[RKB_NAME];
  if (st == RK_OK)
    st = e_launch(rt, &e);
  if (st != RK_OK) {
    rkb_note(r, "%s backend skipped: %s: %s", b, rk_status_str(st),
             rk_error_detail());
    rk_runtime_destroy(rt);
    return -1;
  }
  rk_kernel_stats ks;
  if (e_stats(&e, &ks) == RK_OK)
    fprintf(stderr, "rk-bench: %s: EchoStateless on %u worker(s) x %u "
            "thread(s)\n", b, ks.grid, ks.block);
  snprintf(key, sizeof key, "%s.rtt", b);
  snprintf(label, sizeof label, "rk %s round trip, 64 B", b);
  echo_rtt(o, r, &e, key, label);
  snprintf(key, sizeof key, "%s.thr1", b);
  snprintf(label, sizeof label, "rk %s throughput, 1 worker", b);
  echo_thr(o, r, &e, key, label, 1, 1, 0);
  if (strcmp(b, "cuda") == 0) {
    /* the same worker fed by RKB_ONE_WORKER_HOSTS host threads: how much
    ** of the figure above is the one host thread's own limit */
    snprintf(key, sizeof key, "%s.thr1_hosts", b);
    snprintf(label, sizeof label, "rk %s throughput, 1 worker, %u host", b,
             RKB_ONE_WORKER_HOSTS);
    echo_thr(o, r, &e, key, label, 1, RKB_ONE_WORKER_HOSTS, 0);
  }
  check_final(r, "EchoStateless (1 worker)", e_terminate(&e, &ks), &ks);

  vecadd_VectorAddProcessor *va = NULL;
  st = vecadd_VectorAddProcessor_launch(rt, &va);
  if (st != RK_OK) {
    rkb_wrong(r, "%s: VectorAddProcessor: %s: %s", b, rk_status_str(st),
              rk_error_detail());
  } else {
    static const uint32_t sizes[] = {10, 25, 100};
    for (size_t i = 0; i < 3; i++) {
      snprintf(key, sizeof key, "%s.vecadd%u", b, sizes[i]);
      snprintf(label, sizeof label, "rk %s VectorAdd of %u", b, sizes[i]);
      vecadd_rtt(o, r, va, sizes[i], key, label);
    }
    check_final(r, "VectorAddProcessor",
                vecadd_VectorAddProcessor_terminate(va, &ks), &ks);
  }
  rk_runtime_destroy(rt);
  return 0;
}

/* The all-workers part: stateless and many-actor throughput, the actors
** sent to in turn (as a program that does not care would) and grouped by
** the worker that owns them (the batch then travels in long runs). */
static int all_workers_part(const rkb_opts *o, rkb_run *r, const char *b) {
  /* Host threads: as the hand-written rings use on the GPU (a figure of
  ** the GPU, not of one host thread); one on the CPU, whose cores are the
  ** workers. */
  uint32_t threads = o->host_threads ? o->host_threads
                     : strcmp(b, "cuda") == 0 ? RKB_GPU_HOST_THREADS : 1;
  rk_runtime *rt = NULL;
  rk_status st = start_rt(b, 0, &rt);
  static const char *const what[] = {"all", "actors", "actors_grouped"};
  static const char *const how[] = {"", ", actors", ", actors by worker"};
  for (int v = 0; st == RK_OK && v < 3; v++) {
    int actors = v > 0;
    echo e = {actors, NULL, 0};
    const char *kn = actors ? "EchoActors" : "EchoStateless";
    char key[RKB_NAME], label[RKB_NAME];
    rk_kernel_stats ks;
    if ((st = e_launch(rt, &e)) != RK_OK) {
      rkb_wrong(r, "%s: %s: %s: %s", b, kn, rk_status_str(st),
                rk_error_detail());
      break;
    }
    uint32_t grid = e_stats(&e, &ks) == RK_OK ? ks.grid : 0;
    snprintf(key, sizeof key, "%s.thr_%s", b, what[v]);
    snprintf(label, sizeof label, "rk %s throughput, %u workers%s, %u host", b,
             grid, how[v], threads);
    echo_thr(o, r, &e, key, label, grid, threads, v == 2);
    check_final(r, kn, e_terminate(&e, &ks), &ks);
  }
  if (st != RK_OK && !rt)
    rkb_wrong(r, "%s: runtime: %s: %s", b, rk_status_str(st),
              rk_error_detail());
  rk_runtime_destroy(rt);
  return 0;
}

int rkb_rk_backend(const rkb_opts *o, rkb_run *r, const char *backend) {
  if (one_worker_part(o, r, backend) != 0)
    return -1;
  return all_workers_part(o, r, backend);
}
