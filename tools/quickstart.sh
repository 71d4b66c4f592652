#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start on a fresh Debian 12 machine: installs what is missing
# (tools/deps.sh), builds into build/ and then
#   tools/quickstart.sh example   runs the vector_add example (1,000,000 requests)
#   tools/quickstart.sh test      runs the test suite: CI's first stage, exactly
# Run from anywhere; it works in the repository that holds it.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: tools/quickstart.sh example|test" >&2
  exit 2
}
[ $# -eq 1 ] || usage
case "$1" in example | test) ;; *) usage ;; esac

bash tools/deps.sh
# The CUDA toolkit, where there is one, gives the NVRTC checks of the .rk.cu
# files; nothing in the build needs it.
if [ -d /usr/local/cuda/bin ]; then
  export CUDA_HOME=/usr/local/cuda PATH=$PATH:/usr/local/cuda/bin
fi
cmake -S . -B build -G Ninja -DRK_WERROR=ON
cmake --build build -j "$(nproc)"

if [ "$1" = example ]; then
  exec build/examples/vector_add/vector_add
fi
ctest --test-dir build --output-on-failure
