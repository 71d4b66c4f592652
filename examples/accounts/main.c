/* SPDX-License-Identifier: MIT */
/*
** main.c: the accounts example. 100,000 accounts are actors of one ring
** kernel. Client threads move money between random accounts: a transfer is a
** Withdraw from A and, only once it succeeded, a Deposit to B, sent by the
** settlement thread that reads the receipts. A host-side model follows every
** accepted operation; at the end every balance, every operation count and
** the total are checked against it. Any mismatch: exit 1.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bank.rk.h"

#define ACCOUNTS BANK_ACCOUNTS
#define INITIAL 100       /* each account's opening deposit */
#define MAX_AMOUNT 150    /* transfers are 1..MAX_AMOUNT: some get refused */
#define BATCH 256u
#define TIMEOUT_NS (10LL * 1000 * 1000 * 1000) /* any wait longer is a hang */
#define POLL_NS (1000LL * 1000)                /* settlement's idle wait */
#define MAX_CLIENTS 64

typedef struct bank {
  bank_Accounts *k;
  unsigned clients;
  uint64_t per_client;      /* transfers each client starts */
  atomic_uint_fast64_t withdraws; /* withdrawals accepted, all clients */
  atomic_uint clients_done;
  atomic_uint errors;       /* wrong answers and failed calls */
  /* The model: written by main before the clients start, then only by the
  ** settlement thread, then read by main after joining it. */
  int64_t *balance;
  uint64_t *ops;
  uint64_t refused, settled;  /* withdrawals refused / succeeded */
} bank_t;

typedef struct client {
  bank_t *b;
  unsigned id;
  pthread_t th;
} client_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(bank_t *b, const char *what, rk_status st) {
  if (atomic_fetch_add(&b->errors, 1) < 10)
    fprintf(stderr, "FAIL %s: %s %s\n", what, rk_status_str(st),
            st == RK_OK ? "" : rk_error_detail());
}

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A client: per_client withdrawals from random accounts, each naming a
** random other account to receive the money, sent in batches. */
static void *client_main(void *arg) {
  client_t *c = arg;
  bank_t *b = c->b;
  uint64_t seed = 0x9e3779b97f4a7c15u * (c->id + 1);
  uint32_t actors[BATCH];
  bank_Withdraw msgs[BATCH];
  for (uint64_t done = 0; done < b->per_client;) {
    size_t m = b->per_client - done < BATCH ? (size_t)(b->per_client - done) : BATCH;
    for (size_t j = 0; j < m; j++) {
      actors[j] = (uint32_t)(xorshift(&seed) % ACCOUNTS);
      bank_Withdraw_init(&msgs[j]);
      msgs[j].amount = 1 + (int64_t)(xorshift(&seed) % MAX_AMOUNT);
      msgs[j].to = (actors[j] + 1 + (uint32_t)(xorshift(&seed) % (ACCOUNTS - 1))) % ACCOUNTS;
    }
    size_t sent = 0;
    rk_status st = bank_Accounts_send_Withdraw_to_batch(b->k, actors, msgs, m,
                                                        TIMEOUT_NS, NULL, &sent);
    atomic_fetch_add(&b->withdraws, sent);
    if (st != RK_OK) {
      report(b, "client send_Withdraw_to_batch", st);
      break;
    }
    done += m;
  }
  atomic_fetch_add(&b->clients_done, 1);
  return NULL;
}

/* Deposits owed (a receipt came back) and not yet accepted: a FIFO. */
typedef struct owed {
  uint32_t *to;
  bank_Deposit *msg;
  uint64_t head, tail;
} owed_t;

/* Checks one receipt and updates the model; queues the deposit it owes. */
static void settle(bank_t *b, owed_t *o, const bank_Receipt *r) {
  if (r->account >= ACCOUNTS || r->to >= ACCOUNTS || r->to == r->account ||
      r->amount < 1 || r->amount > MAX_AMOUNT || r->balance < 0) {
    report(b, "receipt out of range", RK_OK);
    return;
  }
  b->balance[r->account] -= r->amount;
  b->ops[r->account]++;
  b->settled++;
  o->to[o->tail] = r->to;
  bank_Deposit_init(&o->msg[o->tail]);
  o->msg[o->tail].amount = r->amount;
  o->tail++;
}

/* Offers the owed deposits without waiting: a full input queue must not
** stop this thread from draining receipts (the workers wait on those). */
static void pay_owed(bank_t *b, owed_t *o) {
  while (o->head < o->tail) {
    uint64_t n = o->tail - o->head;
    size_t sent = 0;
    rk_status st = bank_Accounts_send_Deposit_to_batch(
        b->k, &o->to[o->head], &o->msg[o->head], n < BATCH ? (size_t)n : BATCH,
        0, NULL, &sent);
    for (size_t j = 0; j < sent; j++, o->head++) {
      b->balance[o->to[o->head]] += o->msg[o->head].amount;
      b->ops[o->to[o->head]]++;
    }
    if (st == RK_E_TIMEOUT)
      return;
    if (st != RK_OK) {
      report(b, "send_Deposit_to_batch", st);
      return;
    }
  }
}

/* The settlement loop: reads receipts (refusals come back as RK_E_HANDLER),
** pays the deposits they owe, and ends when every client is done and every
** withdrawal is answered and settled. */
static void *settlement_main(void *arg) {
  bank_t *b = arg;
  uint64_t total = (uint64_t)b->clients * b->per_client, answered = 0;
  owed_t o = {malloc(total * sizeof *o.to), malloc(total * sizeof *o.msg), 0, 0};
  bank_Receipt *rc = malloc(BATCH * sizeof *rc);
  rk_status sts[BATCH];
  uint64_t last_progress = now_ns();
  if (!o.to || !o.msg || !rc) {
    report(b, "malloc", RK_E_NOMEM);
    goto out;
  }
  for (;;) {
    unsigned done = atomic_load(&b->clients_done);
    uint64_t accepted = atomic_load(&b->withdraws);
    if (done == b->clients && answered == accepted && o.head == o.tail)
      break;
    size_t got = 0;
    rk_status st = bank_Accounts_recv_Receipt_batch(b->k, rc, BATCH, POLL_NS,
                                                    NULL, sts, &got);
    if (st != RK_OK && st != RK_E_TIMEOUT) {
      report(b, "recv_Receipt_batch", st);
      break;
    }
    for (size_t j = 0; j < got; j++) {
      if (sts[j] == RK_OK)
        settle(b, &o, &rc[j]);
      else if (sts[j] == RK_E_HANDLER)
        b->refused++;
      else
        report(b, "receipt status", sts[j]);
    }
    answered += got;
    uint64_t before = o.head;
    pay_owed(b, &o);
    if (got || o.head != before)
      last_progress = now_ns();
    else if (now_ns() - last_progress > (uint64_t)TIMEOUT_NS) {
      fprintf(stderr, "settlement: no progress for 10 s: %" PRIu64
              " of %" PRIu64 " withdrawals answered, %" PRIu64 " deposits owed\n",
              answered, accepted, o.tail - o.head);
      report(b, "settlement", RK_E_TIMEOUT);
      break;
    }
  }
out:
  free(o.to);
  free(o.msg);
  free(rc);
  return NULL;
}

/* Opens every account with INITIAL (one-way deposits) and sets the model. */
static int open_accounts(bank_t *b) {
  uint32_t actors[BATCH];
  bank_Deposit msgs[BATCH];
  for (uint32_t a = 0; a < ACCOUNTS; a += BATCH) {
    size_t m = ACCOUNTS - a < BATCH ? ACCOUNTS - a : BATCH, sent = 0;
    for (size_t j = 0; j < m; j++) {
      actors[j] = a + (uint32_t)j;
      bank_Deposit_init(&msgs[j]);
      msgs[j].amount = INITIAL;
      b->balance[a + j] = INITIAL;
      b->ops[a + j] = 1;
    }
    rk_status st = bank_Accounts_send_Deposit_to_batch(b->k, actors, msgs, m,
                                                       TIMEOUT_NS, NULL, &sent);
    if (st != RK_OK) {
      report(b, "opening deposits", st);
      return 0;
    }
  }
  return 1;
}

/* Asks every account for its balance and checks it, its operation count and
** the total against the model. Returns 1 when all agree. */
static int audit(bank_t *b) {
  uint32_t actors[BATCH];
  bank_GetBalance q[BATCH];
  bank_Balance *ans = malloc(BATCH * sizeof *ans);
  unsigned char *seen = calloc(ACCOUNTS, 1);
  int64_t total = 0;
  unsigned bad = 0;
  int stop = 0; /* a failed call: the rest cannot be read */
  if (!ans || !seen) {
    report(b, "malloc", RK_E_NOMEM);
    stop = 1;
  }
  for (uint32_t a = 0; a < ACCOUNTS && !stop; a += BATCH) {
    size_t m = ACCOUNTS - a < BATCH ? ACCOUNTS - a : BATCH, sent = 0;
    for (size_t j = 0; j < m; j++) {
      actors[j] = a + (uint32_t)j;
      bank_GetBalance_init(&q[j]);
      q[j].account = actors[j];
    }
    rk_status st = bank_Accounts_send_GetBalance_to_batch(b->k, actors, q, m,
                                                          TIMEOUT_NS, NULL, &sent);
    for (size_t got = 0, n = 0; st == RK_OK && got < m; got += n) {
      st = bank_Accounts_recv_Balance_batch(b->k, ans, m - got, TIMEOUT_NS,
                                            NULL, NULL, &n);
      for (size_t j = 0; st == RK_OK && j < n; j++) {
        const bank_Balance *r = &ans[j];
        if (r->account >= ACCOUNTS || seen[r->account]++) {
          if (bad++ < 10)
            fprintf(stderr, "FAIL balance of account %" PRIu32
                    ": out of range or answered twice\n", r->account);
          continue;
        }
        total += r->balance;
        if (r->balance != b->balance[r->account] || r->ops != b->ops[r->account]) {
          if (bad++ < 10)
            fprintf(stderr, "FAIL account %" PRIu32 ": balance %" PRId64
                    " ops %" PRIu64 ", model says %" PRId64 " and %" PRIu64 "\n",
                    r->account, r->balance, r->ops, b->balance[r->account],
                    b->ops[r->account]);
        }
      }
    }
    if (st != RK_OK) {
      report(b, "audit", st);
      stop = 1;
    }
  }
  if (!bad && !stop && total != (int64_t)ACCOUNTS * INITIAL) {
    fprintf(stderr, "FAIL total %" PRId64 ", expected %" PRId64 "\n", total,
            (int64_t)ACCOUNTS * INITIAL);
    bad++;
  }
  if (!bad && !stop)
    printf("audit: %u balances and operation counts match the model; "
           "total %" PRId64 "\n", (unsigned)ACCOUNTS, total);
  free(ans);
  free(seen);
  return bad == 0 && !stop;
}

/* Runs the clients and the settlement thread; returns 1 when all joined. */
static int run_transfers(bank_t *b) {
  client_t cl[MAX_CLIENTS];
  pthread_t settler;
  uint64_t t0 = now_ns();
  if (pthread_create(&settler, NULL, settlement_main, b) != 0)
    return 0;
  unsigned started = 0;
  for (; started < b->clients; started++) {
    cl[started] = (client_t){b, started, 0};
    if (pthread_create(&cl[started].th, NULL, client_main, &cl[started]) != 0)
      break;
  }
  /* A client that could not start counts as done with nothing sent. */
  atomic_fetch_add(&b->clients_done, b->clients - started);
  for (unsigned i = 0; i < started; i++)
    pthread_join(cl[i].th, NULL);
  pthread_join(settler, NULL);
  double s = (double)(now_ns() - t0) / 1e9;
  uint64_t n = atomic_load(&b->withdraws);
  printf("transfers: %u clients, %" PRIu64 " withdrawals in %.3f s (%.0f/s): "
         "%" PRIu64 " settled, %" PRIu64 " refused for lack of funds\n",
         b->clients, n, s, (double)n / s, b->settled, b->refused);
  if (started < b->clients)
    report(b, "pthread_create", RK_E_NOMEM);
  return started == b->clients;
}

/* Terminates the kernel; its counts must agree with what was sent. */
static int finish(bank_t *b) {
  rk_kernel_stats f;
  rk_status st = bank_Accounts_terminate(b->k, &f);
  if (st != RK_OK) {
    report(b, "terminate", st);
    return 0;
  }
  uint64_t w = atomic_load(&b->withdraws);
  uint64_t want = ACCOUNTS + w + b->settled + ACCOUNTS; /* open, withdraw, deposit, audit */
  printf("terminated: received %" PRIu64 ", handled %" PRIu64 ", failed %" PRIu64
         ", unhandled %" PRIu64 "\n", f.received, f.handled, f.failed, f.unhandled);
  if (f.received != want || f.handled != want || f.unhandled != 0 ||
      f.failed != b->refused || f.replied != w + ACCOUNTS) {
    report(b, "final stats disagree with what was sent", RK_OK);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  bank_t b = {.clients = 4, .per_client = 250000};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      b.per_client = 5000;
    else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
      b.clients = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--transfers") == 0 && i + 1 < argc)
      b.per_client = strtoull(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: %s [--quick] [--clients N] [--transfers N-per-client]\n",
              argv[0]);
      return 2;
    }
  }
  if (b.clients == 0 || b.clients > MAX_CLIENTS) {
    fprintf(stderr, "--clients: 1 to %d\n", MAX_CLIENTS);
    return 2;
  }
  b.balance = calloc(ACCOUNTS, sizeof *b.balance);
  b.ops = calloc(ACCOUNTS, sizeof *b.ops);
  rk_runtime *rt = NULL;
  rk_status st = b.balance && b.ops ? rk_runtime_create(NULL, &rt) : RK_E_NOMEM;
  if (st == RK_OK)
    st = bank_Accounts_launch(rt, &b.k);
  if (st != RK_OK) {
    fprintf(stderr, "start: %s: %s\n", rk_status_str(st), rk_error_detail());
    rk_runtime_destroy(rt);
    return 1;
  }
  rk_kernel_stats info;
  if (bank_Accounts_stats(b.k, &info) == RK_OK)
    printf("backend: %s (%" PRIu32 " workers), %u accounts\n",
           rk_backend_name(info.backend), info.grid, (unsigned)ACCOUNTS);
  int ok = open_accounts(&b) && run_transfers(&b) && atomic_load(&b.errors) == 0 &&
           audit(&b);
  ok = finish(&b) && ok;
  rk_runtime_destroy(rt);
  free(b.balance);
  free(b.ops);
  if (!ok || atomic_load(&b.errors)) {
    fprintf(stderr, "accounts: FAILED\n");
    return 1;
  }
  printf("accounts: every balance and the total are right\n");
  return 0;
}
