#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs a ringkernel build into WORK/prefix and uses it as a user would:
# examples/vector_add as a separate CMake project (find_package(ringkernel),
# rk_generate) built and run with --quick, and a C program built with
# pkg-config against ringkernel.pc, linked both to librk.so and to librk.a.
# Usage: run.sh BUILD_DIR SOURCE_DIR WORK_DIR CMAKE GENERATOR CC [CFLAGS]
set -euo pipefail
build=$1 src=$2 work=$3 cmake=$4 gen=$5 cc=$6 cflags=${7:-}

step() { printf '\n== %s\n' "$*"; }
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

step "install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
"$prefix/bin/rkc" --version
test -f "$prefix/include/rk.h"

step "examples/vector_add as a separate project (find_package)"
"$cmake" -S "$src/examples/vector_add" -B "$work/vector_add" -G "$gen" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$cflags" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
"$cmake" --build "$work/vector_add"
# rkc must be the installed one, not the build tree's.
grep -q "$prefix/bin/rkc" "$work/vector_add"/{build.ninja,CMakeFiles/*.dir/build.make} 2>/dev/null \
  || { echo "the separate project did not run the installed rkc"; exit 1; }
"$work/vector_add/vector_add" --quick

step "a C program through pkg-config"
pc=$(find "$prefix" -name ringkernel.pc)
test -n "$pc"
export PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
cat >"$work/hello.c" <<'C'
#include <rk.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  rk_config *cfg = NULL;
  if (strcmp(rk_status_str(RK_E_TIMEOUT), "RK_E_TIMEOUT") != 0) return 1;
  if (rk_config_new(&cfg) != RK_OK) return 1;
  rk_config_free(cfg);
  printf("librk %s: %s\n", RK_VERSION_STRING, rk_status_text(RK_OK));
  return 0;
}
C
libdir=$(pkg-config --variable=libdir ringkernel)
# shellcheck disable=SC2046,SC2086
"$cc" $cflags -Wall -Wextra -Werror "$work/hello.c" -o "$work/hello_shared" \
  $(pkg-config --cflags --libs ringkernel)
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$work/hello_shared"
static_libs=$(pkg-config --static --libs ringkernel)
# shellcheck disable=SC2086
"$cc" $cflags -Wall -Wextra -Werror "$work/hello.c" -o "$work/hello_static" \
  $(pkg-config --cflags ringkernel) ${static_libs/-lrk/-l:librk.a}
"$work/hello_static"
if ldd "$work/hello_static" | grep -q 'librk\.so'; then
  echo "hello_static is linked to librk.so"; exit 1
fi
step "package test passed"
