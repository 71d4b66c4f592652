#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs, with apt, the Debian 12 packages that building and testing
# ringkernel need and that are missing (checked with dpkg first, so a machine
# that has them all needs no network and no root). Used by .ci/run and
# tools/quickstart.sh. Usage: tools/deps.sh [extra-package ...]
set -euo pipefail

# The compilers, the build tools, flex/bison for rkc, libyaml for the
# manifest and the config loader, cmocka for the tests, clang and its
# runtime (libFuzzer, sanitizers) for the fuzz targets.
RK_PACKAGES=(gcc g++ libc6-dev cmake ninja-build pkg-config flex bison
  libyaml-dev libcmocka-dev clang libclang-rt-14-dev)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${RK_PACKAGES[@]}" "$@"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#RK_PACKAGES[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "deps: not root and no sudo: install as root: apt-get install ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
