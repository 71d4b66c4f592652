/* SPDX-License-Identifier: MIT */
/*
** queue.c: the parts of the lane protocol (ring.h, queue.h) that are not on
** the inline hot path: lane setup and the multi-consumer advance of
** cons_head over done marks. Invariant: cons_head only ever moves over
** positions whose done mark says their consumer finished copying out.
*/
#include "queue.h"

#ifdef RK__TSAN
_Atomic uint32_t rk__tsan_fence_word;
#endif

void rk__lane_init(rk_lane *l, uint8_t *base, uint32_t cap,
                   uint32_t slot_bytes, uint64_t *done) {
  l->base = base;
  l->done = done;
  l->cap = cap;
  l->mask = cap - 1;
  l->slot_bytes = slot_bytes;
  l->ll_words = 0;
}

/* Moves cons_head from h over every position whose done mark is set;
** returns 0 when it found nothing to move over. */
static int advance_head(rk_lane *l) {
  uint8_t *ch = rk__lane_word(l, RK_RING_OFF_CONS_HEAD);
  /* Relaxed: the CAS below validates the value; a stale one only fails. */
  uint64_t h = rk__ld_rlx64(ch);
  for (;;) {
    uint64_t e = h;
    /* Acquire: pairs with the release store of the mark by the consumer
    ** that copied slot e out; its copy happens before our CAS below, which
    ** passes it on to the producer. The mark pos + 1 is unique per lap. */
    while (e - h < l->cap && rk__ld_acq64(&l->done[e & l->mask]) == e + 1)
      e++;
    if (e == h)
      return 0;
    /* Release: publishes to the producer (its acquire of cons_head in
    ** rk__lane_space_sp) that every slot below e was copied out. */
    if (rk__cas_rel64(ch, &h, e))
      return 1;
    /* h now holds the newer head: scan again from there. */
  }
}

/* Modelled in tests/model/ring.pml (host_consumer); BUG_DONE_NO_FENCE there
** shows why the fence below is needed. */
void rk__lane_done_mc(rk_lane *l, uint64_t pos, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    /* Release: our copy out of slot pos+i is complete; pairs with the
    ** acquire of the mark in advance_head (ours or another consumer's). */
    rk__st_rel64(&l->done[(pos + i) & l->mask], pos + i + 1);
  /* Store-load fence: our marks are visible before we read cons_head and
  ** the other marks. Pairs with the same fence in a consumer finishing at
  ** the same time: of two consumers whose slots are adjacent, at least one
  ** sees the other's mark, so no done slot is left behind cons_head with
  ** nobody to move it. */
  rk__fence_sc();
  while (advance_head(l))
    ;
}
