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

#endif /* RK_RING_H */
