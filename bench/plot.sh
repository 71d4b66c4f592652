#!/bin/sh
# SPDX-License-Identifier: MIT
# plot.sh: draws rk-bench's latency distributions as a PNG with gnuplot:
#   bench/plot.sh rk-bench.json|rk-bench.dat OUT.png
# A .json argument means the .dat beside it (rk-bench writes both). Each
# series is drawn as the fraction of round trips slower than x (log-log),
# so p50, p99 and p99.9 read off at 0.5, 0.01 and 0.001.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 rk-bench.json|rk-bench.dat OUT.png" >&2
  exit 2
fi
case "$1" in
  *.json) dat="${1%.json}.dat" ;;
  *) dat="$1" ;;
esac
[ -r "$dat" ] || { echo "plot.sh: cannot read $dat" >&2; exit 1; }
command -v gnuplot >/dev/null 2>&1 || { echo "plot.sh: gnuplot not found (Debian: gnuplot-nox)" >&2; exit 1; }
if gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo; then
  term='pngcairo size 1200,750 font ",10"'
else
  term='png size 1200,750'
fi
# One plot clause per block; the titles come from the "# series: " lines.
plots=$(awk -v f="$dat" '
  /^# series: / { t = substr($0, 11); gsub(/"/, "", t)
                  printf "%s\"%s\" index %d using 1:(1-$2) with lines lw 2 dt %d title \"%s\"",
                         (n ? ", " : ""), f, n, (n < 8 ? 1 : 2), t; n++ }' "$dat")
[ -n "$plots" ] || { echo "plot.sh: no series in $dat" >&2; exit 1; }
gnuplot <<GP
set terminal $term
set output "$2"
set title "round-trip latency distribution (rk-bench)"
set xlabel "round trip (microseconds)"
set ylabel "fraction of round trips slower"
set logscale xy
set format y "%g"
set yrange [0.00001:1]
set grid xtics ytics mxtics
set key outside right top
set arrow from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 3 lc "gray"
set arrow from graph 0, first 0.01 to graph 1, first 0.01 nohead dt 3 lc "gray"
set arrow from graph 0, first 0.001 to graph 1, first 0.001 nohead dt 3 lc "gray"
plot $plots
GP
