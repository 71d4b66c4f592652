#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets for a bounded time each, from their seed corpus and
# dictionary, and fails on any crash, leak or timeout (libFuzzer's own exit
# status). Inputs that fail are kept in BUILD/fuzz-artifacts/.
# For target fuzz_X the seed corpus is the first folder found of
# fuzz/corpus/X, fuzz/corpus/fuzz_X, tests/fuzz/corpus/X; the dictionary the
# first of fuzz/X.dict, fuzz/fuzz_X.dict, tests/fuzz/X.dict, if any.
# Usage: tools/fuzz.sh BUILD_DIR SECONDS TARGET_PATH...   (paths in BUILD_DIR)
set -euo pipefail
build=$1 secs=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

first_existing() {
  for p in "$@"; do
    if [ -e "$p" ]; then echo "$p"; return; fi
  done
}

failed=0
for target in "$@"; do
  bin=$build/$target
  name=$(basename "$target")
  x=${name#fuzz_}
  seeds=$(first_existing "$top/fuzz/corpus/$x" "$top/fuzz/corpus/$name" \
    "$top/tests/fuzz/corpus/$x")
  dict=$(first_existing "$top/fuzz/$x.dict" "$top/fuzz/$name.dict" \
    "$top/tests/fuzz/$x.dict")
  work=$(mktemp -d)
  echo "== $name: ${secs}s, seeds: ${seeds:-none}, dictionary: ${dict:-none}"
  args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-")
  [ -n "$dict" ] && args+=(-dict="$dict")
  # New inputs go to the scratch folder; the seed corpus is only read.
  if "$bin" "${args[@]}" "$work" ${seeds:+"$seeds"} >"$build/$name.log" 2>&1; then
    tail -n 12 "$build/$name.log" | grep -E '^(stat::|Done )' || true
    echo "== $name: passed"
  else
    tail -n 60 "$build/$name.log"
    echo "== $name: FAILED (inputs kept in $artifacts)"
    failed=1
  fi
  rm -rf "$work"
done
exit $failed
