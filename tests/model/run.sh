#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: model-checks the lane ring protocol (tests/model/ring.pml) with
# spin. Each configuration: spin -a generates the verifier, gcc compiles pan,
# pan searches every state exhaustively (safety: asserts and invalid end
# states); the figures are printed. Exits non-zero when a correct
# configuration has an error or a planted bug (BUG_*) is NOT caught.
# Usage: run.sh [all | multi2 | multi2b | multi4 | worker2 | worker4 | out2 |
#                bugs]...
# Environment: SPIN (default spin), CC (default gcc), KEEP=1 keeps the work
# directory (with the trails of the caught bugs).
set -u

here=$(cd "$(dirname "$0")" && pwd)
model=$here/ring.pml
SPIN=${SPIN:-spin}
CC=${CC:-gcc}
work=$(mktemp -d "${TMPDIR:-/tmp}/rk-model.XXXXXX") || exit 2
if [ "${KEEP:-0}" = 1 ]; then
  echo "work directory: $work"
else
  trap 'rm -rf "$work"' EXIT
fi
failed=0

# field FILE: the figures pan printed, as "states transitions MB seconds
# errors"; "-" for anything missing.
field() {
  awk '
    /errors: [0-9]+/ { sub(/.*errors: /, ""); err = $1 }
    /states, stored/ { st = $1 }
    /transitions \(= stored\+matched\)/ { tr = $1 }
    /total actual memory usage/ { mb = $1 }
    /^pan: elapsed time/ { sec = $4 }
    END {
      printf "%s %s %s %s %s\n", (st == "" ? "-" : st), (tr == "" ? "-" : tr),
             (mb == "" ? "-" : mb), (sec == "" ? "-" : sec),
             (err == "" ? "-" : err)
    }' "$1"
}

# verify NAME EXPECT WHAT SPIN_FLAGS...: EXPECT is "pass" (0 errors, search
# complete) or "catch" (at least one error found).
verify() {
  local name=$1 expect=$2 what=$3
  shift 3
  local dir=$work/$name
  mkdir -p "$dir" && cp "$model" "$dir/ring.pml" || { failed=1; return; }
  if ! (cd "$dir" && "$SPIN" -a "$@" ring.pml >spin.log 2>&1); then
    echo "FAIL $name: spin -a $* failed:"; cat "$dir/spin.log"; failed=1
    return
  fi
  if ! (cd "$dir" && "$CC" -O2 -w -DSAFETY -DMEMLIM=4096 -o pan pan.c \
        >cc.log 2>&1); then
    echo "FAIL $name: compiling pan failed:"; cat "$dir/cc.log"; failed=1
    return
  fi
  (cd "$dir" && ./pan -m100000 >pan.log 2>&1)
  local st tr mb sec err
  read -r st tr mb sec err <<<"$(field "$dir/pan.log")"
  local figs="$st states, $tr transitions, $mb MB, $sec s, errors: $err"
  if [ "$expect" = pass ]; then
    if [ "$err" = 0 ] && ! grep -q "search depth too small\|out of memory" \
         "$dir/pan.log"; then
      echo "PASS $name ($what): $figs"
    else
      echo "FAIL $name ($what): $figs"
      grep -m3 "^pan:\|too small\|out of memory" "$dir/pan.log"
      failed=1
    fi
  else
    if [ "$err" != - ] && [ "$err" -ge 1 ]; then
      echo "PASS $name ($what): caught: $(grep -m1 '^pan:1:' "$dir/pan.log")"
    else
      echo "FAIL $name ($what): planted bug NOT caught: $figs"
      failed=1
    fi
  fi
}

MULTI="2 host producers x 2 host consumers"
WORKER="2 host producers x 1 worker"

run_config() {
  case $1 in
    multi2) verify multi_cap2 pass "$MULTI, 3+2 msgs, cap 2" \
              -DCAP=2 -DNMSG=3 -DNMSG1=2 -DMAXB=1 ;;
    multi2b) verify multi_cap2_batch pass \
               "$MULTI, 2+2 msgs, batches of 2, cap 2" \
               -DCAP=2 -DNMSG=2 -DNMSG1=2 -DMAXB=2 ;;
    multi4) verify multi_cap4 pass "$MULTI, 3+2 msgs, cap 4" \
              -DCAP=4 -DNMSG=3 -DNMSG1=2 -DMAXB=1 ;;
    worker2) verify worker_cap2 pass "$WORKER, 3+3 msgs, batches of 2, cap 2" \
               -DWORKER -DCAP=2 -DNMSG=3 -DMAXB=2 ;;
    worker4) verify worker_cap4 pass "$WORKER, 3+3 msgs, batches of 4, cap 4" \
               -DWORKER -DCAP=4 -DNMSG=3 -DMAXB=4 ;;
    out2) verify out_cap2 pass \
            "1 worker producer x 2 host consumers, 4 msgs, batches of 2, cap 2" \
            -DSP_PRODUCER -DNPROD=1 -DNMSG=4 -DCAP=2 -DMAXB=2 ;;
    bugs)
      local b
      for b in PUBLISH_BEFORE_WRITE READ_BEFORE_ACQUIRE FREE_BEFORE_COPY \
               DONE_NO_FENCE; do
        verify "bug_${b,,}_multi" catch "$MULTI, 2+2 msgs, cap 2" \
          -DCAP=2 -DNMSG=2 -DNMSG1=2 -DMAXB=2 "-DBUG_$b"
      done
      for b in PUBLISH_BEFORE_WRITE READ_BEFORE_ACQUIRE FREE_BEFORE_COPY; do
        verify "bug_${b,,}_worker" catch "$WORKER, 3+3 msgs, cap 2" \
          -DWORKER -DCAP=2 -DNMSG=3 -DMAXB=2 "-DBUG_$b"
      done
      ;;
    all) local c
         for c in multi2 multi2b multi4 worker2 worker4 out2 bugs; do run_config $c; done ;;
    *) echo "run.sh: unknown configuration '$1'" >&2; failed=1 ;;
  esac
}

command -v "$SPIN" >/dev/null || { echo "run.sh: $SPIN not found" >&2; exit 2; }
[ $# -eq 0 ] && set -- all
for cfg in "$@"; do run_config "$cfg"; done
exit $failed
