#!/bin/sh
# SPDX-License-Identifier: MIT
# refresh.sh: rewrites the golden copies of rkc's output (tests/golden/) for
# every schema in tests/ok, tests/rkc/schemas and examples/*/, after a change
# to rkc or templates/ that is meant to change the output. Review the diff
# (git diff tests/golden) before committing it.
#   usage: tests/golden/refresh.sh [path/to/rkc]   (default: build/rkc/rkc)
# rkc runs in each schema's folder with the bare file name, as the ctest
# checks (tests/rkc/gen_check.cmake) do, so #line paths are stable.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
rkc=${1:-$root/build/rkc/rkc}
case $rkc in /*) ;; *) rkc=$(pwd)/$rkc ;; esac
[ -x "$rkc" ] || { echo "refresh.sh: no rkc at $rkc (pass its path)" >&2; exit 2; }
one() { # schema golden-dir
  dir=$(dirname "$1"); file=$(basename "$1"); name=${file%.rk}
  mkdir -p "$2"
  rm -f "$2/$name".rk.*
  (cd "$dir" && "$rkc" -o "$2" --emit=c,cuda,manifest "$file")
  echo "refreshed $2"
}
for s in "$root"/tests/ok/*.rk; do
  n=$(basename "$s" .rk); one "$s" "$root/tests/golden/ok/$n"
done
for s in "$root"/tests/rkc/schemas/*.rk; do
  n=$(basename "$s" .rk); one "$s" "$root/tests/golden/own/$n"
done
for s in "$root"/examples/*/*.rk; do
  [ -e "$s" ] || continue
  d=$(basename "$(dirname "$s")"); n=$(basename "$s" .rk)
  one "$s" "$root/tests/golden/examples/$d/$n"
done
