/* SPDX-License-Identifier: MIT */
/*
** lanes.h: what the reliability tests share about bare lanes: a lane in
** heap memory, started at any free-running position (as if the ring had
** already carried that many messages), and a tagged payload whose every
** word derives from (producer, seq), so a torn or stale copy shows.
*/
#ifndef RK_TEST_LANES_H
#define RK_TEST_LANES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

typedef struct lane_mem {
  rk_lane l;
  uint8_t *base;
  uint64_t *done;
} lane_mem;

/* The state a lane of cap slots is in after carrying p0 messages, all of
** them consumed: every index word at p0, each slot's seq and done mark
** those of its position in the lap before p0 (so no slot looks full or
** done for a position >= p0, also where pos + 1 wraps to 0). */
static inline void lane_start_at(lane_mem *m, uint64_t p0) {
  rk_lane *l = &m->l;
  uint32_t offs[] = {RK_RING_OFF_PROD_CLAIM, RK_RING_OFF_HEAD_CACHE,
                     RK_RING_OFF_CONS_HEAD, RK_RING_OFF_CONS_CLAIM};
  for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++)
    memcpy(rk__lane_word(l, offs[i]), &p0, 8);
  if (p0 == 0)
    return; /* zeroed memory is already the state at 0 */
  for (uint64_t p = p0 - l->cap; p != p0; p++) {
    uint64_t seq = p + 1;
    memcpy(rk__slot(l, p) + RK_SLOT_OFF_SEQ, &seq, 8);
    m->done[p & l->mask] = p + 1;
  }
}

/* A lane of cap slots for payloads of up to payload bytes, at p0. */
static inline int lane_new_at(lane_mem *m, uint32_t cap, uint32_t payload,
                              uint64_t p0) {
  uint32_t sb = RK_SLOT_BYTES(payload);
  size_t bytes = (rk__lane_bytes(cap, sb) + 127u) & ~(size_t)127u;
  m->base = aligned_alloc(128, bytes); /* size: a multiple of 128 */
  m->done = calloc(cap, sizeof *m->done);
  if (!m->base || !m->done) {
    free(m->base);
    free(m->done);
    return 0;
  }
  memset(m->base, 0, bytes);
  rk__lane_init(&m->l, m->base, cap, sb, m->done);
  lane_start_at(m, p0);
  return 1;
}

static inline void lane_del(lane_mem *m) {
  free(m->base);
  free(m->done);
  memset(m, 0, sizeof *m);
}

static inline uint64_t lane_word(lane_mem *m, uint32_t off) {
  /* Relaxed: read after every thread using the lane was joined. */
  return rk__ld_rlx64(rk__lane_word(&m->l, off));
}

/* ---- tagged payload ---- */

#define TAG_WORDS 6
typedef struct tagged {
  uint32_t prod, pad;
  uint64_t seq;
  uint64_t w[TAG_WORDS]; /* w[i] = mix(prod, seq) ^ i * K */
  uint64_t sum;          /* mix(prod, seq) again, written last */
} tagged;

static inline uint64_t tag_mix(uint32_t prod, uint64_t seq) {
  uint64_t z = ((uint64_t)prod << 48) ^ seq ^ 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static inline void tag_make(tagged *t, uint32_t prod, uint64_t seq) {
  uint64_t h = tag_mix(prod, seq);
  t->prod = prod;
  t->pad = ~prod;
  t->seq = seq;
  for (int i = 0; i < TAG_WORDS; i++)
    t->w[i] = h ^ (uint64_t)i * 0x100000001b3u;
  t->sum = h;
}

/* 1 when every word of t agrees with its (prod, seq). */
static inline int tag_ok(const tagged *t) {
  uint64_t h = tag_mix(t->prod, t->seq);
  if (t->pad != ~t->prod || t->sum != h)
    return 0;
  for (int i = 0; i < TAG_WORDS; i++)
    if (t->w[i] != (h ^ (uint64_t)i * 0x100000001b3u))
      return 0;
  return 1;
}

#endif /* RK_TEST_LANES_H */
