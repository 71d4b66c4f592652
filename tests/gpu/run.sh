#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/gpu/run.sh: the whole check on the GPU machine. Builds everything,
# runs every ctest with the GPU required (RK_REQUIRE_GPU=1: a missing GPU
# fails), the examples on the GPU (RK_BACKEND=cuda), and compute-sanitizer
# memcheck and racecheck over the GPU tests; prints a summary.
#   tests/gpu/run.sh [BUILD_DIR]     (from the repository root)
# Logs go to $OUT (or /tmp/rk-gpu-logs) when it is set. A shorter run for a
# small device budget: RK_GPU_STRESS (messages, default 10^8),
# RK_GPU_FAULT_RUNS (default 20), RK_GPU_SAN_TIMEOUT (s, default 150); the
# summary says which were used.
set -u
STRESS=${RK_GPU_STRESS:-100000000}
FAULT_RUNS=${RK_GPU_FAULT_RUNS:-20}
SAN_TIMEOUT=${RK_GPU_SAN_TIMEOUT:-150}
B=${1:-/tmp/b}
LOG=${OUT:-/tmp/rk-gpu-logs}
mkdir -p "$LOG"
summary=""
note() { summary="$summary
$1"; echo "== $1"; }

if cmake -S . -B "$B" -G Ninja -DRK_WERROR=ON >"$LOG/configure.log" 2>&1 &&
   ninja -C "$B" >"$LOG/build.log" 2>&1; then
  note "build: ok"
else
  note "build: FAILED (see build.log)"; tail -40 "$LOG/build.log"
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null |
  sed 's/^/gpu: /' | tee "$LOG/gpu.txt"

RK_REQUIRE_GPU=1 ctest --test-dir "$B" --output-on-failure -j8 \
  >"$LOG/ctest.log" 2>&1
note "ctest (RK_REQUIRE_GPU=1): $(grep -E 'tests passed' "$LOG/ctest.log")"
grep -E '^\s+[0-9]+ - ' "$LOG/ctest.log" | sed 's/^/  /'
RK_REQUIRE_GPU=1 "$B/tests/gpu/test_gpu_cuda" >"$LOG/test_gpu_cuda.log" 2>&1
note "test_gpu_cuda alone: rc=$? $(grep -E '^# ' "$LOG/test_gpu_cuda.log" | tr '\n' ' ')"

# reliability (docs/reliability.md, GPU): 10^8 messages checked one by one,
# and 20 fresh processes for each fault kind with the time to the error
RK_REQUIRE_GPU=1 timeout 300 "$B/tests/gpu/test_gpu_cuda" --stress "$STRESS" \
  >"$LOG/stress.log" 2>&1
note "stress $STRESS messages: rc=$? $(grep -E '^# ' "$LOG/stress.log" | tr '\n' ' ')"
timeout 300 "$B/tests/gpu/test_gpu_cuda" --fault-runs "$FAULT_RUNS" >"$LOG/faults.log" 2>&1
note "fault injection x$FAULT_RUNS: rc=$? $(grep -E '^# fault [0-9] \(' "$LOG/faults.log" | tr '\n' ' ')"

for ex in vector_add accounts; do
  exe=$(find "$B/examples" -type f -name "$ex" -perm -u+x 2>/dev/null | head -1)
  [ -n "$exe" ] || { note "example $ex: not built"; continue; }
  RK_BACKEND=cuda timeout 300 "$exe" >"$LOG/example_$ex.log" 2>&1
  note "example $ex (cuda): rc=$? $(tail -3 "$LOG/example_$ex.log" | tr '\n' ' ')"
done

if command -v compute-sanitizer >/dev/null 2>&1; then
  for tool in memcheck racecheck; do
    RK_GPU_QUICK=1 RK_GPU_NO_FAULTS=1 RK_GPU_SANITIZER=1 RK_CUDA_STALL_MS=20000 \
      timeout "$SAN_TIMEOUT" compute-sanitizer --tool "$tool" --error-exitcode 99 \
      "$B/tests/gpu/test_gpu_cuda" >"$LOG/sanitizer_$tool.log" 2>&1
    note "compute-sanitizer $tool: rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$LOG/sanitizer_$tool.log" | tr '\n' ' ')"
  done
else
  note "compute-sanitizer: not found"
fi
echo "==================== summary"
echo "$summary"
