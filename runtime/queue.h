/* SPDX-License-Identifier: MIT */
/*
** queue.h: lane ring operations on host memory (layout in ring.h). Every
** atomic access of librk's host side goes through the rk__ld_* / rk__st_* /
** rk__cas* / rk__fence helpers below, each call carrying a comment that
** names what it publishes and what it pairs with. The hot paths are inline.
** The formal model of this protocol is tests/model/ring.pml (SPIN; run by
** tests/model/run.sh, figures in docs/reliability.md); keep the two in
** step when a step or an ordering here changes.
*/
#ifndef RK_QUEUE_H
#define RK_QUEUE_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* ---- atomics on shared memory ----
** release: every write this thread made before the store is visible to a
** thread whose acquire load reads the stored value (or a later one).
** acquire: the reading thread sees those writes after the load.
** On the host these are C11 atomics on plain memory words (the lanes are
** raw bytes shared with the device; _Atomic casts of naturally aligned 4-
** and 8-byte words are lock-free on every target we build for). */
#define RK__A64(p) ((_Atomic uint64_t *)(void *)(p))
#define RK__A32(p) ((_Atomic uint32_t *)(void *)(p))

static inline uint64_t rk__ld_acq64(void *p) {
  return atomic_load_explicit(RK__A64(p), memory_order_acquire);
}
static inline uint64_t rk__ld_rlx64(void *p) {
  return atomic_load_explicit(RK__A64(p), memory_order_relaxed);
}
static inline void rk__st_rel64(void *p, uint64_t v) {
  atomic_store_explicit(RK__A64(p), v, memory_order_release);
}
static inline void rk__st_rlx64(void *p, uint64_t v) {
  atomic_store_explicit(RK__A64(p), v, memory_order_relaxed);
}
/* CAS with relaxed order: used where the word only hands out positions and
** the data rides on a separate release/acquire pair (said at each call). */
static inline int rk__cas_rlx64(void *p, uint64_t *expect, uint64_t v) {
  return atomic_compare_exchange_weak_explicit(
      RK__A64(p), expect, v, memory_order_relaxed, memory_order_relaxed);
}
/* CAS that publishes (release) on success. */
static inline int rk__cas_rel64(void *p, uint64_t *expect, uint64_t v) {
  return atomic_compare_exchange_weak_explicit(
      RK__A64(p), expect, v, memory_order_release, memory_order_relaxed);
}
static inline uint32_t rk__ld_acq32(void *p) {
  return atomic_load_explicit(RK__A32(p), memory_order_acquire);
}
static inline uint32_t rk__ld_rlx32(void *p) {
  return atomic_load_explicit(RK__A32(p), memory_order_relaxed);
}
static inline void rk__st_rel32(void *p, uint32_t v) {
  atomic_store_explicit(RK__A32(p), v, memory_order_release);
}
static inline void rk__st_rlx32(void *p, uint32_t v) {
  atomic_store_explicit(RK__A32(p), v, memory_order_relaxed);
}
/* Full fence: orders this thread's earlier stores before its later loads
** (store-load, the one order release/acquire does not give). Used for the
** Dekker-style "publish, then check whether someone sleeps" handshakes. */
#if defined(__SANITIZE_THREAD__)
#define RK__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RK__TSAN 1
#endif
#endif
#ifdef RK__TSAN
/* TSan does not model fences (GCC refuses them): a seq_cst read-modify-
** write of one shared word is at least as strong (all such RMWs are in one
** total order) and TSan understands it. */
extern _Atomic uint32_t rk__tsan_fence_word;
static inline void rk__fence_sc(void) {
  atomic_fetch_add_explicit(&rk__tsan_fence_word, 0, memory_order_seq_cst);
}
#else
static inline void rk__fence_sc(void) {
  atomic_thread_fence(memory_order_seq_cst);
}
#endif
static inline void rk__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- lane geometry ---- */

static inline uint8_t *rk__lane_word(const rk_lane *l, uint32_t off) {
  return l->base + off;
}
static inline uint8_t *rk__slot(const rk_lane *l, uint64_t pos) {
  return l->base + RK_RING_HDR_BYTES +
         (size_t)(pos & l->mask) * (size_t)l->slot_bytes;
}
static inline uint32_t rk__slot_payload_cap(const rk_lane *l) {
  return l->slot_bytes - RK_SLOT_HDR;
}

/* Bytes of one lane of cap slots of slot_bytes. */
static inline size_t rk__lane_bytes(uint32_t cap, uint32_t slot_bytes) {
  return RK_RING_HDR_BYTES + (size_t)cap * slot_bytes;
}

/* Views cap (a power of two) slots at base (zeroed memory); done may be
** NULL (input lanes) or a zeroed host array of cap words. */
void rk__lane_init(rk_lane *l, uint8_t *base, uint32_t cap,
                   uint32_t slot_bytes, uint64_t *done);

/* ---- LL slots (ring.h): every word carries its own flag ---- */

/* Word i of the LL slot at pos, loaded whole. Relaxed: an LL word vouches
** for itself (its flag, ring.h); nothing else is published with it. */
static inline uint64_t rk__ll_word(const rk_lane *l, uint64_t pos,
                                   uint32_t i) {
  return rk__ld_rlx64(rk__slot(l, pos) + 8u * i);
}

/* Are the first n words of the LL slot at pos valid for pos? */
static inline int rk__ll_valid(const rk_lane *l, uint64_t pos, uint32_t n) {
  const uint32_t f = RK_LL_FLAG(pos);
  for (uint32_t i = 0; i < n; i++)
    if ((uint32_t)(rk__ll_word(l, pos, i) >> 32) != f)
      return 0;
  return 1;
}

/* Data of LL word i of the slot at pos (the caller validated it). */
static inline uint32_t rk__ll_data(const rk_lane *l, uint64_t pos,
                                   uint32_t i) {
  return (uint32_t)rk__ll_word(l, pos, i);
}

/* Writes a whole message into the claimed LL slot at pos: the six header
** words, the payload, zero words up to the lane's ll_words. Each word is
** one relaxed 8-byte store (single-copy atomic; ring.h says why no release
** is needed: the flag in each word publishes that word). */
static inline void rk__ll_put(const rk_lane *l, uint64_t pos,
                              const uint32_t hdr[RK_LL_HDR_WORDS],
                              const void *payload, uint32_t size) {
  uint8_t *s = rk__slot(l, pos);
  const uint64_t f = (uint64_t)RK_LL_FLAG(pos) << 32;
  const uint8_t *p = payload;
  uint32_t words = RK_LL_WORDS(size);
  if (words < l->ll_words)
    words = l->ll_words;
  for (uint32_t i = 0; i < RK_LL_HDR_WORDS; i++)
    rk__st_rlx64(s + 8u * i, f | hdr[i]);
  uint32_t i = RK_LL_HDR_WORDS, off = 0;
  for (; off + 4u <= size; off += 4u, i++) {
    uint32_t d;
    memcpy(&d, p + off, 4);
    rk__st_rlx64(s + 8u * i, f | d);
  }
  if (off < size) { /* a last partial word, zero-padded */
    uint32_t d = 0;
    memcpy(&d, p + off, size - off);
    rk__st_rlx64(s + 8u * i++, f | d);
  }
  for (; i < words; i++)
    rk__st_rlx64(s + 8u * i, f);
}

/* Copies the header and size payload bytes out of the valid LL slot at
** pos (the caller checked every word with rk__ll_valid and owns it). */
static inline void rk__ll_get(const rk_lane *l, uint64_t pos,
                              uint32_t hdr[RK_LL_HDR_WORDS], void *payload,
                              uint32_t size) {
  uint8_t *p = payload;
  for (uint32_t i = 0; i < RK_LL_HDR_WORDS; i++)
    hdr[i] = rk__ll_data(l, pos, i);
  uint32_t i = RK_LL_HDR_WORDS, off = 0;
  for (; off + 4u <= size; off += 4u, i++) {
    uint32_t d = rk__ll_data(l, pos, i);
    memcpy(p + off, &d, 4);
  }
  if (off < size) {
    uint32_t d = rk__ll_data(l, pos, i);
    memcpy(p + off, &d, size - off);
  }
}

/* Is the slot at position pos full? Seq slots: acquire, pairing with the
** producer's release store of seq in rk__slot_publish, so the header and
** payload the producer wrote are visible once this returns 1. LL slots:
** every word the producer writes is valid (ring.h). */
static inline int rk__slot_ready(const rk_lane *l, uint64_t pos) {
  if (l->ll_words)
    return rk__ll_valid(l, pos, l->ll_words);
  return rk__ld_acq64(rk__slot(l, pos) + RK_SLOT_OFF_SEQ) == pos + 1;
}

/* A full slot's status word (0 or RK_E_HANDLER). Relaxed: made visible by
** rk__slot_ready (the seq acquire, or the LL word's own flag); atomic so
** that a refill after another consumer took the slot is not a data race.
** Writer: rk__slot_set_status (CPU worker) or the device's answer. */
static inline uint32_t rk__slot_status(const rk_lane *l, uint64_t pos) {
  if (l->ll_words)
    return rk__ll_data(l, pos, 3);
  return rk__ld_rlx32(rk__slot(l, pos) + RK_SLOT_OFF_AUX);
}

/* Polls the slot at pos. No prefetch of its other lines while it is
** empty: each would pull a line the producer is writing back out of the
** producer's cache (measured on the development VM, rk-bench's CPU round
** trip, median of 8 runs each: 0.54 us with a prefetch a poll, 0.52 with
** a load of each line, 0.51 without either). */
static inline int rk__slot_poll(const rk_lane *l, uint64_t pos) {
  return rk__slot_ready(l, pos);
}

/* Marks the slot at pos full (its header and payload are written). Release:
** publishes them to the consumer's acquire in rk__slot_ready. */
static inline void rk__slot_publish(const rk_lane *l, uint64_t pos) {
  rk__st_rel64(rk__slot(l, pos) + RK_SLOT_OFF_SEQ, pos + 1);
}

/* Writes a response slot's status word (0 or RK_E_HANDLER). Relaxed
** atomic store: published by the seq release; atomic because consumers may
** read it before they own the slot (rk__lane_take_mc). */
static inline void rk__slot_set_status(const rk_lane *l, uint64_t pos,
                                       uint32_t status) {
  rk__st_rlx32(rk__slot(l, pos) + RK_SLOT_OFF_AUX, status);
}

/* ---- many host producers (input lanes) ----
** Claims up to n consecutive free positions by CAS on prod_claim; returns
** how many (0 when the lane is full) and the first in *pos. The claimed
** slots are the caller's to fill and must each be published.
**
** With ticket non-NULL it also takes ids *id .. *id + k - 1 from that
** kernel-wide counter, in the same order as positions are handed out on
** every lane: the ids are taken after reading the claim word and before the
** CAS that wins it, the CAS releases on success and every read of the claim
** word acquires, so a producer that wins position p after another won the
** positions below it read that winner's CAS, which happened after its
** ticket: its own ticket is larger (coherence of the counter). Ids are thus
** unique, increase along each lane (each actor's acceptance order) and for
** each sending thread; a failed CAS wastes its ids (gaps are allowed). */
static inline uint32_t rk__lane_claim_id(rk_lane *l, uint32_t n,
                                         uint64_t *pos,
                                         _Atomic uint64_t *ticket,
                                         uint64_t *id) {
  uint8_t *pc = rk__lane_word(l, RK_RING_OFF_PROD_CLAIM);
  uint8_t *hc = rk__lane_word(l, RK_RING_OFF_HEAD_CACHE);
  /* Acquire: pairs with the release store of head_cache below by another
  ** producer, which itself acquired cons_head; transitively the consumer's
  ** reads of every slot below that head happen before our writes. Read
  ** before prod_claim, so head <= claim always holds. */
  uint64_t head = rk__ld_acq64(hc);
  /* Acquire: pairs with the release of the winning CAS below (ticket order,
  ** see above); positions themselves would need only relaxed. */
  uint64_t claim = rk__ld_acq64(pc);
  int reloaded = 0;
  for (;;) {
    uint64_t used = claim - head;
    if (used >= l->cap || (l->cap - used < n && !reloaded)) {
      reloaded = 1; /* fewer than n free by the cache: look once more */
      /* Acquire: pairs with the consumer's release of cons_head after it
      ** finished reading the slots below it (rk__lane_release_sc or the
      ** multi-consumer advance): those slots may be overwritten. */
      uint64_t h2 = rk__ld_acq64(rk__lane_word(l, RK_RING_OFF_CONS_HEAD));
      if (h2 == head && used >= l->cap)
        return 0;
      head = h2;
      /* Release: hands the head just acquired to other producers (their
      ** acquire of head_cache above). A stale smaller value written by a
      ** racing producer only costs it a reload, never correctness. */
      rk__st_rel64(hc, head);
      claim = rk__ld_acq64(pc); /* acquire: as above; head <= claim */
      continue;
    }
    uint32_t k = (uint32_t)(l->cap - used) < n ? (uint32_t)(l->cap - used) : n;
    /* Relaxed: the counter's own modification order orders the tickets;
    ** the happens-before that makes them follow positions comes from the
    ** claim word's release/acquire (see above). */
    if (ticket)
      *id = atomic_fetch_add_explicit(ticket, k, memory_order_relaxed);
    /* Release on success: our ticket is taken before a later winner reads
    ** this value (its acquire load or failed CAS). Acquire on failure: we
    ** read another winner's claim, see the load above. The slot contents
    ** are published by each slot's seq and protected by cons_head. */
    if (atomic_compare_exchange_weak_explicit(
            (_Atomic uint64_t *)(void *)pc, &claim, claim + k,
            memory_order_acq_rel, memory_order_acquire)) {
      *pos = claim;
      return k;
    }
  }
}

/* rk__lane_claim_id without ids. */
static inline uint32_t rk__lane_claim(rk_lane *l, uint32_t n, uint64_t *pos) {
  return rk__lane_claim_id(l, n, pos, NULL, NULL);
}

/* ---- one consumer (the worker of an input lane) ----
** How many consecutive slots from head (the consumer's own position) are
** full, at most max. */
static inline uint32_t rk__lane_ready_sc(const rk_lane *l, uint64_t head,
                                         uint32_t max) {
  uint32_t n = 0;
  while (n < max && rk__slot_ready(l, head + n))
    n++;
  return n;
}

/* The single consumer is done with every slot below head. Release: pairs
** with the producers' acquire of cons_head in rk__lane_claim, so our reads
** of those slots happen before they are overwritten. */
static inline void rk__lane_release_sc(rk_lane *l, uint64_t head) {
  rk__st_rel64(rk__lane_word(l, RK_RING_OFF_CONS_HEAD), head);
}

/* ---- one producer (the worker of an output lane) ----
** Free slots at position prod, given the consumers' cons_head. *head_cache
** is the producer's private copy, reloaded only when it shows no room. */
static inline uint32_t rk__lane_space_sp(rk_lane *l, uint64_t prod,
                                         uint64_t *head_cache) {
  uint64_t used = prod - *head_cache;
  if (used < l->cap)
    return (uint32_t)(l->cap - used);
  /* Acquire: pairs with the consumers' release CAS of cons_head in
  ** rk__lane_done_mc: their copies out of the slots below it are done. */
  *head_cache = rk__ld_acq64(rk__lane_word(l, RK_RING_OFF_CONS_HEAD));
  return (uint32_t)(l->cap - (prod - *head_cache));
}

/* ---- many host consumers (output lanes) ----
** Takes up to max consecutive full slots by CAS on cons_claim; returns how
** many (0 when none is full) and the first in *pos. With stop_at_fail the
** run ends before a slot whose status is not 0; such a slot that comes
** first is taken alone with stop_at_fail 1 and not at all (0 returned)
** with RK_TAKE_NO_FAILED (a caller that already holds good responses).
** The caller copies them out, then calls rk__lane_done_mc. */
#define RK_TAKE_NO_FAILED 2
static inline uint32_t rk__lane_take_mc(rk_lane *l, uint32_t max,
                                        int stop_at_fail, uint64_t *pos) {
  uint8_t *cc = rk__lane_word(l, RK_RING_OFF_CONS_CLAIM);
  /* Relaxed: cons_claim only hands out positions (monotonic, so no ABA);
  ** the slot contents are acquired through each slot's seq. */
  uint64_t c = rk__ld_rlx64(cc);
  for (;;) {
    uint32_t n = 0;
    while (n < max && rk__slot_ready(l, c + n)) {
      /* The status of a slot made visible by rk__slot_ready (see
      ** rk__slot_status); a refill makes our CAS below fail. */
      if (stop_at_fail && rk__slot_status(l, c + n) != 0) {
        n += (n == 0 && stop_at_fail != RK_TAKE_NO_FAILED); /* first: alone */
        break;
      }
      n++;
    }
    if (n == 0) {
      uint64_t c2 = rk__ld_rlx64(cc); /* relaxed: as above */
      if (c2 == c)
        return 0;
      c = c2;
      continue;
    }
    /* Relaxed CAS: the seq acquires above already made the slots' contents
    ** visible; a slot cannot be refilled before our done mark lets
    ** cons_head pass it, and a failed CAS means someone else took it. */
    if (rk__cas_rlx64(cc, &c, c + n)) {
      *pos = c;
      return n;
    }
  }
}

/* Marks n slots from pos copied out and advances cons_head over every
** done slot (by whoever finds them done), so a stalled consumer never
** blocks another. */
void rk__lane_done_mc(rk_lane *l, uint64_t pos, uint32_t n);

/* Slots accepted and not yet freed by the consumer (a snapshot). */
static inline uint64_t rk__lane_depth(rk_lane *l) {
  /* Relaxed: a statistic; both words only grow and the difference is a
  ** snapshot, taken modulo 2^64 (right when the free-running positions
  ** wrap, tests/reliability/test_queue_edges.c) and clamped at zero if it
  ** is "negative" (a stale pair). */
  uint64_t h = rk__ld_rlx64(rk__lane_word(l, RK_RING_OFF_CONS_HEAD));
  uint64_t c = rk__ld_rlx64(rk__lane_word(l, RK_RING_OFF_PROD_CLAIM));
  return c - h <= UINT64_MAX / 2 ? c - h : 0;
}

#endif /* RK_QUEUE_H */
