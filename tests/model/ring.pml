/* SPDX-License-Identifier: MIT */
/*
** ring.pml: a spin model of the lane ring protocol (runtime/ring.h), as
** runtime/queue.h and queue.c implement it. tests/model/run.sh checks it:
** 2 host producers x 2 host consumers and 2 host producers x 1 worker, at
** capacities 2 and 4, and each planted bug (BUG_*) must make it fail.
** docs/reliability.md ("Model") has the figures and the command.
**
** What each step stands for (C function, C11 ordering):
**   producer (host sender: claim_some -> rk__lane_claim(l, 1, &pos) ->
**   put_request, kernel.c and queue.h)
**     head = head_cache             rk__ld_acq64(head_cache)  acquire
**     claim = prod_claim            rk__ld_rlx64(prod_claim)  relaxed
**     full: h2 = cons_head          rk__ld_acq64(cons_head)   acquire, pairs
**                                   with rk__lane_release_sc / advance_head
**     head_cache = head             rk__st_rel64(head_cache)  release
**     full and h2 == head           rk__lane_claim returns 0; the sender
**                                   waits (lane_has_room) and retries
**     CAS prod_claim claim+1        rk__cas_rlx64            relaxed
**     w0, w1 = body                 put_request's memcpy of the slot body
**                                   (two words, so that a torn read shows)
**     seq = pos + 1                 rk__slot_publish: rk__st_rel64 release
**   producer with -DSP_PRODUCER (the worker of an output lane, cpu.c)
**     hc = cons_head when full      rk__lane_space_sp: acquire
**     wait for cons_head to move    wait_output
**   worker (worker_main, cpu.c; single consumer of an input lane)
**     n = slots with seq == pos+1   rk__lane_ready_sc(in, head, MAXB):
**                                   rk__slot_ready, acquire
**     copy w0, w1                   handle_one reads the slot
**     cons_head = head + n          rk__lane_release_sc: release
**   host consumer (recv_core -> take_some, kernel.c; output lanes)
**     c = cons_claim                rk__lane_take_mc: rk__ld_rlx64 relaxed
**     n = slots with seq == c+1     rk__slot_ready, acquire
**     n == 0: reload cons_claim     relaxed; returns 0 when unchanged, and
**                                   recv waits (out_has_msg)
**     CAS cons_claim c -> c+n       rk__cas_rlx64            relaxed
**     copy w0, w1                   take_some's memcpy
**     donemk[p] = p + 1             rk__lane_done_mc: rk__st_rel64 release
**     (no step)                     rk__fence_sc: seq_cst fence, so the
**                                   marks are visible before cons_head is
**                                   read (see BUG_DONE_NO_FENCE)
**     h = cons_head                 advance_head: rk__ld_rlx64 relaxed
**     e over done marks, < cap      rk__ld_acq64(done[e & mask]) acquire
**     CAS cons_head h -> e          rk__cas_rel64 release; on failure h is
**                                   the current head and the scan restarts;
**                                   on success advance_head runs again
** Not modelled: rk__lane_claim with n > 1 (host senders claim one slot
** each here), the stop_at_fail status peek of rk__lane_take_mc, the
** wake-ups (ops->wake, notify_host) and timeouts (they only end or shorten
** a wait), and the device side, which follows the same steps.
**
** Memory model. Promela is sequentially consistent. With the release and
** acquire pairs above, each pair orders exactly what the model's program
** order shows, and the fence makes the done marks visible before the
** cons_head load, so the correct protocol is checked as written. A missing
** ordering is modelled explicitly by a planted bug that lets the affected
** access move where weak memory (C11; ARM/POWER, and x86 too for
** BUG_DONE_NO_FENCE) may let it become visible; spin must then find it:
**   BUG_PUBLISH_BEFORE_WRITE  seq stored relaxed: it may be seen before
**                             either body word (torn/unwritten read)
**   BUG_READ_BEFORE_ACQUIRE   seq loaded relaxed: a body word may be read
**                             before the seq load (stale read)
**   BUG_FREE_BEFORE_COPY      cons_head (worker) or the done mark (host)
**                             stored relaxed: it may be seen before the last
**                             body load (slot overwritten during the copy)
**   BUG_DONE_NO_FENCE         no rk__fence_sc after the done marks: two
**                             host consumers each miss the other's mark
**                             (store buffering) and cons_head stalls short
**                             of a done slot (queue not empty at the end)
**
** Checked: each message consumed exactly once; the body read is the one
** written for that position (no torn or stale read); per-producer order
** (worker configuration); no slot written before its previous lap was
** copied out; head_cache <= prod_claim as rk__lane_claim assumes; at the end
** every process has terminated (pan's invalid end state check) and the
** queue is empty. Waits are blocking guards (a poll loop with no side
** effects), so a hang is an invalid end state, not a silent livelock.
*/

#ifndef CAP
#define CAP 2           /* slots, a power of two */
#endif
#define MASK (CAP - 1)
#ifndef NPROD
#define NPROD 2         /* producers (host senders, CAS on prod_claim): 1, 2 */
#endif
#ifndef NCONS
#define NCONS 2         /* host consumers (MULTI configuration) */
#endif
#ifndef NMSG
#define NMSG 3          /* messages per producer */
#endif
#ifndef NMSG1
#define NMSG1 NMSG      /* messages of producer 1 (NPROD 2 only) */
#endif
#if NPROD == 1
#define TOTAL NMSG
#else
#define TOTAL (NMSG + NMSG1)
#endif
#ifndef MAXB
#define MAXB 2          /* batch: most slots one take / ready_sc gets */
#endif

/* the ring: header words and slots (seq, then a two-word body) */
byte prod_claim;
byte head_cache;        /* producers' shared copy of cons_head (line 0) */
byte cons_head;
byte cons_claim;
byte seq[CAP];
byte w0[CAP];
byte w1[CAP];
byte donemk[CAP];       /* host-only done marks (host consumers) */

/* ghost state for the properties (not part of the protocol) */
byte wid[TOTAL];        /* message id written at position p */
bit copied[TOTAL];      /* position p's copy is complete */
byte nrecv[TOTAL + 1];  /* times message id was consumed (ids 1..TOTAL) */
byte last[NPROD];       /* last id seen from each producer (worker only) */

/* Local variables are reset to 0 once dead, so that stale values do not
** multiply the states; purely local steps are folded into the atomic step
** of the shared access next to them (at most one shared access a step,
** except the blocking waits, which stand for the callers' wait loops). */

/* The checks done once a consumer has copied position p as (a, b). */
inline check_copy(p, a, b) {
  assert(a == wid[p] && b == p + 1);   /* not torn, not stale */
  nrecv[a]++;
  assert(nrecv[a] == 1);               /* no duplicate */
  copied[p] = 1
}

/* The body written at position p (put_request / the worker's response
** write), then rk__slot_publish: seq = p + 1 (release). The first write
** checks that the slot's previous lap was copied out. */
inline write_publish(p, id) {
#ifdef BUG_PUBLISH_BEFORE_WRITE
  /* relaxed seq store: visible before, between or after the body */
  if
  :: seq[p & MASK] = p + 1;
     atomic { assert(p < CAP || copied[p - CAP]); w0[p & MASK] = id };
     w1[p & MASK] = p + 1
  :: atomic { assert(p < CAP || copied[p - CAP]); w0[p & MASK] = id };
     seq[p & MASK] = p + 1;
     w1[p & MASK] = p + 1
  :: atomic { assert(p < CAP || copied[p - CAP]); w0[p & MASK] = id };
     w1[p & MASK] = p + 1;
     seq[p & MASK] = p + 1
  fi
#else
  atomic { assert(p < CAP || copied[p - CAP]); w0[p & MASK] = id };
  w1[p & MASK] = p + 1;
  seq[p & MASK] = p + 1                /* release */
#endif
}

#ifndef SP_PRODUCER
/* A host sender (send -> claim_some -> rk__lane_claim(l, 1, &pos) ->
** put_request). Producer me sends ids me*NMSG+1, me*NMSG+2, ... in order
** (NMSG of them; NMSG1 for producer 1). */
proctype producer(byte me) {
  byte i = 0, head, claim, h2, id;
  do
  :: atomic { i == (me == 0 -> NMSG : NMSG1) -> break }
  :: atomic { else -> id = me * NMSG + i + 1 }
retry:
     head = head_cache;                 /* acquire */
     claim = prod_claim;                /* relaxed */
check:
     if
     :: atomic { claim - head < CAP -> assert(head <= claim) }
     :: atomic { else -> assert(head <= claim) }
        h2 = cons_head;                 /* acquire */
        if
        :: atomic { h2 == head -> h2 = 0; head = 0; claim = 0 }
           /* full: returns 0; the sender waits (lane_has_room) */
           (prod_claim - cons_head < CAP);
           goto retry
        :: atomic { else -> head = h2; h2 = 0 }
        fi;
        head_cache = head;              /* release */
        claim = prod_claim;             /* relaxed */
        goto check
     fi;
     if
     :: atomic { prod_claim == claim -> prod_claim = claim + 1;
                 wid[claim] = id; head = 0 }
     :: atomic { prod_claim != claim -> claim = prod_claim }; goto check
     fi;
     write_publish(claim, id);
     atomic { i++; claim = 0; id = 0 }
  od
}
#else
/* The single producer of an output lane (a worker: rk__lane_space_sp with
** a private head cache, wait_output when full, the response write, then
** rk__slot_publish). Sends ids 1..NMSG in order; NPROD must be 1. */
proctype producer(byte me) {
  byte prod = 0, hc = 0;
  do
  :: atomic { prod == TOTAL -> break }
  :: atomic { prod < TOTAL && prod - hc < CAP -> wid[prod] = prod + 1 }
     write_publish(prod, prod + 1);
     prod++
  :: atomic { prod < TOTAL && prod - hc >= CAP }
     hc = cons_head;                    /* acquire */
     if
     :: atomic { prod - hc >= CAP } ->
        (cons_head != hc)               /* wait_output */
     :: else
     fi
  od
}
#endif

#ifdef WORKER
/* The single consumer of an input lane: worker_main in cpu.c (the GPU
** block does the same): n = rk__lane_ready_sc(in, head, MAXB), each slot
** copied (handle_one), head += n, rk__lane_release_sc(in, head). */
proctype worker() {
  byte head = 0, n, k, a, b, pr, pre;
  do
  :: atomic { head == TOTAL -> break }
  :: else ->
#ifdef BUG_READ_BEFORE_ACQUIRE
     pre = w0[head & MASK];             /* hoisted above the seq loads */
#endif
     atomic { n = 0; k = 0 }
     do                                 /* rk__lane_ready_sc: acquire */
     :: atomic { n < MAXB && seq[(head + n) & MASK] == head + n + 1 -> n++ }
     :: atomic { !(n < MAXB && seq[(head + n) & MASK] == head + n + 1) ->
                 break }
     od;
     if
     :: atomic { n == 0 -> pre = 0 }
        (seq[head & MASK] == head + 1)  /* worker_idle */
     :: else ->
        do
        :: atomic { k == n -> k = 0; break }
        :: atomic { k < n ->
#ifdef BUG_READ_BEFORE_ACQUIRE
             if
             :: k == 0 -> a = pre; pre = 0
             :: else -> a = w0[(head + k) & MASK]
             fi
#else
             a = w0[(head + k) & MASK]
#endif
           }
#ifdef BUG_FREE_BEFORE_COPY
           /* relaxed release_sc: may be seen before the last load */
           if
           :: atomic { k + 1 == n -> cons_head = head + n }
           :: atomic { else -> skip }
           fi;
#endif
           atomic {
             b = w1[(head + k) & MASK];
             check_copy(head + k, a, b);
             pr = (a - 1) / NMSG;
             assert(a > last[pr]);      /* per-producer order */
             last[pr] = a;
             k++; a = 0; b = 0; pr = 0
           }
        od;
        atomic { head = head + n; n = 0 }
#ifndef BUG_FREE_BEFORE_COPY
        cons_head = head                /* rk__lane_release_sc: release */
#endif
     fi
  od
}
#else
/* Is position e done, as this consumer sees donemk? With
** BUG_DONE_NO_FENCE its own marks for [c, c+n) may still sit in its store
** buffer (pend): it sees them, the others do not. */
#define DONE_OF(e) \
  ((pend && (((e) - c) & MASK) < n) -> ((e) >= c && (e) < c + n) \
                                    : (donemk[(e) & MASK] == (e) + 1))

/* Drains the buffered done marks (BUG_DONE_NO_FENCE only). */
inline drain() {
  if
  :: pend -> for (k : 0 .. n - 1) { donemk[(c + k) & MASK] = c + k + 1 };
     pend = 0; k = 0
  :: else
  fi
}

/* A host receiver of an output lane shared with other host threads:
** recv_core -> take_some: n = rk__lane_take_mc(l, MAXB, 0, &pos), copy
** each slot, rk__lane_done_mc(l, pos, n) (done marks, seq_cst fence, then
** advance_head until it finds nothing to move over). */
proctype host_consumer() {
  byte c, c2, n, k, a, b, h, e, pre;
  bit pend = 0;
  do
  :: true ->
top:
     c = cons_claim;                    /* relaxed */
scan:
#ifdef BUG_READ_BEFORE_ACQUIRE
     pre = w0[c & MASK];                /* hoisted above the seq loads */
#endif
     do                                 /* rk__slot_ready: acquire */
     :: atomic { n < MAXB && seq[(c + n) & MASK] == c + n + 1 -> n++ }
     :: atomic { !(n < MAXB && seq[(c + n) & MASK] == c + n + 1) -> break }
     od;
     if
     :: n == 0 ->
        c2 = cons_claim;                /* relaxed */
        if
        :: atomic { c2 == c && c == TOTAL -> c = 0; c2 = 0; pre = 0;
                    goto out }          /* all taken: recv times out */
        :: atomic { c2 == c && c < TOTAL -> c2 = 0; pre = 0 }
           /* returns 0: recv waits (out_has_msg) */
           (cons_claim != c || seq[c & MASK] == c + 1);
           goto top
        :: atomic { c2 != c -> c = c2; c2 = 0 }; goto scan
        fi
     :: else
     fi;
     if                                 /* CAS cons_claim (relaxed) */
     :: atomic { cons_claim == c -> cons_claim = c + n }
     :: atomic { cons_claim != c -> c = cons_claim; n = 0 }; goto scan
     fi;
     /* take_some: copy the n slots out */
     do
     :: atomic { k == n -> k = 0; break }
     :: atomic { k < n ->
#ifdef BUG_READ_BEFORE_ACQUIRE
          if
          :: k == 0 -> a = pre
          :: else -> a = w0[(c + k) & MASK]
          fi;
          pre = 0
#else
          a = w0[(c + k) & MASK]
#endif
        }
#ifdef BUG_FREE_BEFORE_COPY
        donemk[(c + k) & MASK] = c + k + 1;  /* relaxed: before the copy */
#endif
        atomic { b = w1[(c + k) & MASK]; check_copy(c + k, a, b);
                 k++; a = 0; b = 0 }
     od;
     /* rk__lane_done_mc */
#if !defined(BUG_FREE_BEFORE_COPY) && !defined(BUG_DONE_NO_FENCE)
     do
     :: atomic { k == n -> k = 0; break }
     :: atomic { k < n -> donemk[(c + k) & MASK] = c + k + 1; k++ } /* rel */
     od;
     /* rk__fence_sc: the marks are visible before cons_head is read */
#endif
#ifdef BUG_DONE_NO_FENCE
     pend = 1;                          /* buffered: only we see them */
#endif
adv:                                    /* advance_head */
     atomic { h = cons_head; e = h }    /* relaxed */
scan_e:
     do                                 /* done marks: acquire */
     :: atomic { e - h < CAP && DONE_OF(e) -> e++ }
     :: atomic { !(e - h < CAP && DONE_OF(e)) -> break }
     od;
     if
     :: atomic { e == h -> e = 0; h = 0 }   /* nothing to move over */
     :: atomic { e != h && cons_head == h ->
                 drain(); cons_head = e; e = 0; h = 0 }; goto adv
     :: atomic { e != h && cons_head != h ->
                 drain(); h = cons_head; e = h }; goto scan_e
     fi;
     atomic { drain(); c = 0; n = 0 }
  od;
out:
  skip
}
#endif

init {
  byte k;
  atomic {
    for (k : 0 .. NPROD - 1) { run producer(k) }
#ifdef WORKER
    run worker();
#else
    for (k : 1 .. NCONS) { run host_consumer() }
#endif
    k = 0
  }
  (_nr_pr == 1);                        /* everyone else has terminated */
  /* the queue is empty and every message arrived exactly once */
  assert(prod_claim == TOTAL || prod_claim == 0);  /* 0: single producer */
  assert(cons_head == TOTAL);
#ifndef WORKER
  assert(cons_claim == TOTAL);
#endif
  for (k : 1 .. TOTAL) { assert(nrecv[k] == 1) }
}
