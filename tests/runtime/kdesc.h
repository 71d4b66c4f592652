/* SPDX-License-Identifier: MIT */
/*
** kdesc.h: hand-written kernel descriptors for the runtime tests (what rkc
** would generate): "Bank", a stateful kernel of many actors with a
** request/response, a failing, a no-reply and a one-way handler, and
** "Pool", a stateless kernel whose handler records which worker ran it.
*/
#ifndef RK_TEST_KDESC_H
#define RK_TEST_KDESC_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rk.h"

enum { T_REQ = 1, T_RESP = 2, T_FAIL = 3, T_QUIET = 4, T_ONEWAY = 5,
       T_WORK = 6, T_DONE = 7 };

typedef struct Req {          /* 64 bytes */
  uint32_t actor, seq;        /* seq: the sender's count for this actor */
  uint64_t tag;               /* producer << 40 | index */
  uint8_t fill[48];           /* fill[i] == (uint8_t)(tag + i) */
} Req;
typedef Req Resp;             /* echoed, with fill checked by the handler */
typedef struct FailReq { int32_t code; uint32_t pad; } FailReq;
typedef struct Quiet { uint32_t x, pad; } Quiet;
typedef struct OneWay { uint64_t add; } OneWay;

typedef struct BankState {
  uint32_t next_seq;          /* seq expected next */
  uint32_t owner;             /* the actor that first touched it */
  uint64_t bad;               /* order or isolation violations */
  uint64_t sum;               /* one-way adds */
  uint64_t count;
} BankState;

static inline void fill_req(Req *r, uint32_t actor, uint32_t seq,
                            uint64_t tag) {
  r->actor = actor;
  r->seq = seq;
  r->tag = tag;
  for (int i = 0; i < 48; i++)
    r->fill[i] = (uint8_t)(tag + (uint64_t)i);
}

static inline int req_ok(const Req *r) {
  for (int i = 0; i < 48; i++)
    if (r->fill[i] != (uint8_t)(r->tag + (uint64_t)i))
      return 0;
  return 1;
}

static void bank_init(void *s) {
  memset(s, 0, sizeof(BankState));
  ((BankState *)s)->owner = 0xffffffffu;
}

/* Each message checks that its state belongs to its actor alone and, for
** T_REQ, that seq is the next one the actor expects. */
static uint32_t bank_dispatch(rk_ctx *ctx, uint32_t type, const void *req,
                              void *resp, void *state) {
  BankState *st = state;
  if (st->owner == 0xffffffffu)
    st->owner = ctx->actor;
  if (st->owner != ctx->actor)
    st->bad++;
  switch (type) {
  case T_REQ: {
    const Req *q = req;
    if (q->seq != st->next_seq || q->actor != ctx->actor || !req_ok(q))
      st->bad++;
    st->next_seq = q->seq + 1;
    st->count++;
    memcpy(resp, q, sizeof *q);
    if (st->bad) /* tell the receiver: order or isolation was broken */
      ((Resp *)resp)->seq = 0xffffffffu;
    return T_RESP;
  }
  case T_FAIL:
    ctx->flags |= RK_CTX_FAILED;
    ctx->fail_code = ((const FailReq *)req)->code;
    return T_RESP;
  case T_QUIET:
    ctx->flags |= RK_CTX_NO_REPLY;
    return T_RESP;
  case T_ONEWAY:
    st->sum += ((const OneWay *)req)->add;
    return 0;
  }
  return RK_DISPATCH_UNKNOWN;
}

static const rk_msg_type bank_types[] = {
    {T_REQ, sizeof(Req), "t.Req", NULL},
    {T_RESP, sizeof(Resp), "t.Resp", NULL},
    {T_FAIL, sizeof(FailReq), "t.FailReq", NULL},
    {T_QUIET, sizeof(Quiet), "t.Quiet", NULL},
    {T_ONEWAY, sizeof(OneWay), "t.OneWay", NULL},
};
static const rk_handler_desc bank_handlers[] = {
    {T_REQ, T_RESP}, {T_FAIL, T_RESP}, {T_QUIET, T_RESP}, {T_ONEWAY, 0}};

/* A Bank descriptor with the given actors and capacity. */
static inline rk_kernel_desc bank_desc(uint32_t actors, uint32_t capacity) {
  rk_kernel_desc d;
  memset(&d, 0, sizeof d);
  d.abi = RK_GEN_ABI;
  d.name = "Bank";
  d.qualified = "t.Bank";
  d.capacity = capacity;
  d.block = 1;
  d.actors = actors;
  d.backend = RK_BACKEND_CPU;
  d.has_state = 1;
  d.state_size = sizeof(BankState);
  d.state_align = _Alignof(BankState);
  d.state_init = bank_init;
  d.n_handlers = 4;
  d.handlers = bank_handlers;
  d.n_types = 5;
  d.types = bank_types;
  d.req_max = sizeof(Req);
  d.resp_max = sizeof(Resp);
  d.dispatch = bank_dispatch;
  return d;
}

/* ---- Pool: stateless ---- */

typedef struct Work { uint64_t tag; uint32_t spin_us; uint32_t pad; } Work;
typedef struct Done { uint64_t tag; uint32_t worker; uint32_t overlap; } Done;

/* Handlers running now, and the most seen at once. */
static _Atomic uint32_t pool_running, pool_max_running;

static void spin_us(uint32_t us) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do
    clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) <
         (long)us * 1000L);
}

static uint32_t pool_dispatch(rk_ctx *ctx, uint32_t type, const void *req,
                              void *resp, void *state) {
  if (type != T_WORK)
    return RK_DISPATCH_UNKNOWN;
  const Work *w = req;
  Done *d = resp;
  uint32_t now = atomic_fetch_add(&pool_running, 1) + 1;
  uint32_t m = atomic_load(&pool_max_running);
  while (now > m && !atomic_compare_exchange_weak(&pool_max_running, &m, now))
    ;
  spin_us(w->spin_us);
  d->overlap = atomic_load(&pool_running);
  atomic_fetch_sub(&pool_running, 1);
  d->tag = w->tag;
  d->worker = ctx->worker;
  return T_DONE;
}

static const rk_msg_type pool_types[] = {
    {T_WORK, sizeof(Work), "t.Work", NULL},
    {T_DONE, sizeof(Done), "t.Done", NULL},
};
static const rk_handler_desc pool_handlers[] = {{T_WORK, T_DONE}};

static inline rk_kernel_desc pool_desc(uint32_t capacity) {
  rk_kernel_desc d;
  memset(&d, 0, sizeof d);
  d.abi = RK_GEN_ABI;
  d.name = "Pool";
  d.qualified = "t.Pool";
  d.capacity = capacity;
  d.block = 1;
  d.actors = 1;
  d.backend = RK_BACKEND_CPU;
  d.n_handlers = 1;
  d.handlers = pool_handlers;
  d.n_types = 2;
  d.types = pool_types;
  d.req_max = sizeof(Work);
  d.resp_max = sizeof(Done);
  d.dispatch = pool_dispatch;
  return d;
}

/* A runtime whose kernel `name` gets `threads` CPU workers (0: default). */
static inline rk_runtime *make_rt(const char *name, unsigned threads) {
  rk_config *cfg = NULL;
  rk_runtime *rt = NULL;
  if (threads) {
    char key[128], val[16];
    if (rk_config_new(&cfg) != RK_OK)
      return NULL;
    snprintf(key, sizeof key, "kernels.%s.cpu_threads", name);
    snprintf(val, sizeof val, "%u", threads);
    if (rk_config_set(cfg, key, val) != RK_OK) {
      rk_config_free(cfg);
      return NULL;
    }
  }
  rk_status s = rk_runtime_create(cfg, &rt);
  rk_config_free(cfg);
  return s == RK_OK ? rt : NULL;
}

#endif /* RK_TEST_KDESC_H */
