/* SPDX-License-Identifier: MIT */
/*
** ring.h: the lane ring shared by host threads, CPU workers and GPU blocks.
** Internal to librk; templates/kernel.cu.tmpl mirrors the layout for the
** device side, and runtime/cuda checks the mirror with static asserts.
**
** One lane is one ring with one consumer side and one producer side. Input
** lanes: host threads produce (many), one worker consumes. Output lanes: one
** worker produces, host threads consume (many). A side with many host
** threads coordinates through host-only words with CAS; nothing is ever
** read-modify-written by both the host and the device.
**
**   offset   line   field        written by
**   0        0      prod_claim   host producers only (CAS); unused when the
**                                device produces
**   8        0      head_cache   host producers only: the last cons_head a
**                                producer read (so most claims skip the
**                                consumer's line); unused by the device
**   128      1      cons_head    the consumer side: how many slots are free
**                                again (published once per batch, release)
**   256      2      cons_claim   host consumers only (CAS); unused when the
**                                device consumes
**   384      3      (reserved, zero)
**   512      ...    slots[cap], each RK_SLOT_HDR + payload rounded to 16
**
**   slot:    0  seq    u64  pos + 1, stored LAST by the producer (release):
**                           the slot at free-running position pos is full
**                           iff seq == pos + 1 (unique for every lap)
**            8  corr   u64  correlation id
**           16  type   u32  type id
**           20  aux    u32  request: actor; response: status (0 or
**                           RK_E_HANDLER)
**           24  code   i32  response: rk_fail's code
**           28  size   u32  payload bytes
**           32  payload
**
** Positions are free-running u64 (never wrap in practice); slot index is
** pos & (cap - 1). Producers may claim pos only when pos - cons_head < cap.
** Host consumers of an output lane mark done[pos & mask] = pos + 1 in a
** host-only array after copying, then advance cons_head over every done slot
** (CAS on cons_head; the device only loads it), so a stalled consumer never
** blocks another.
**
** LL slots (the lanes of the CUDA backend, rk_lane.ll_words != 0). The
** device must read a message with one bus round trip and answer without a
** system fence (performance.md, lessons 1 and 2), so every 8-byte word of
** an LL slot carries its own validity, as in NCCL's LL protocol:
**
**   word i (u64): bits 0..31 data, bits 32..63 flag = RK_LL_FLAG(pos)
**   logical data: 0 corr lo, 1 corr hi, 2 type, 3 aux, 4 code, 5 size,
**                 6.. the payload, 4 bytes a word (the last zero-padded)
**
** A word is valid for position pos when its flag is RK_LL_FLAG(pos); the
** slot is full when every word the producer writes is valid. The argument:
** each word is written by one naturally aligned 8-byte store and read by
** one naturally aligned 8-byte load (an element of a v2.u64 vector access
** on the device), single-copy atomic on both sides and over PCIe, so a
** reader sees a word's old value or its new one whole, never data of one
** and the flag of the other; a valid flag therefore vouches for the data
** beside it, whatever order the words travel in. No fence, no acquire and
** no release is needed on the data path. Stale words cannot pass: a slot's
** previous lap wrote RK_LL_FLAG(pos - cap), which differs from
** RK_LL_FLAG(pos) because (pos + 1) and (pos + 1 - cap) differ modulo 2^32
** (cap < 2^32) in a bit other than bit 0 (cap is even), and the flag is
** never 0, so zeroed memory is never valid. The slot's reuse stays guarded
** by cons_head with release/acquire as for every lane.
**
** How many words a producer writes: an input lane's producers (host
** threads) write at least ll_words (the window the device reads in its one
** round trip, set by the backend) and more for a larger message; the device
** validates the words beyond the window one by one as it copies them. An
** output lane carries one response type: its producer (a device worker)
** writes exactly ll_words words and the host consumers check them all.
*/
#ifndef RK_RING_H
#define RK_RING_H

#include <stdint.h>

#define RK_RING_LINE 128u
#define RK_RING_HDR_BYTES (4u * RK_RING_LINE)
#define RK_SLOT_HDR 32u

#define RK_RING_OFF_PROD_CLAIM 0u
#define RK_RING_OFF_HEAD_CACHE 8u
#define RK_RING_OFF_CONS_HEAD 128u
#define RK_RING_OFF_CONS_CLAIM 256u

/* slot field offsets */
#define RK_SLOT_OFF_SEQ 0u
#define RK_SLOT_OFF_CORR 8u
#define RK_SLOT_OFF_TYPE 16u
#define RK_SLOT_OFF_AUX 20u
#define RK_SLOT_OFF_CODE 24u
#define RK_SLOT_OFF_SIZE 28u

/* Slot bytes for a largest payload of max_payload bytes. */
#define RK_SLOT_BYTES(max_payload) \
  (RK_SLOT_HDR + (((uint32_t)(max_payload) + 15u) & ~15u))

/* LL slots (see above). */
#define RK_LL_HDR_WORDS 6u
#define RK_LL_FLAG(pos) ((uint32_t)((pos) + 1u) | 1u)
/* LL words for a message of payload bytes, rounded up to even (16 bytes). */
#define RK_LL_WORDS(payload) \
  ((RK_LL_HDR_WORDS + ((uint32_t)(payload) + 3u) / 4u + 1u) & ~1u)
/* The most words the device reads in one round trip (32 lanes x 16 B). */
#define RK_LL_WIN_MAX 64u

#endif /* RK_RING_H */
