#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs a ringkernel build into WORK/prefix and uses it as a user would:
# examples/vector_add as a separate CMake project (find_package(ringkernel),
# rk_generate) built and run with --quick, and a C program built with
# pkg-config (the README's commands: rkc into a new folder, ringkernel.pc
# with an rpath for librk.so, ringkernel-static.pc for librk.a).
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
# The README's lines, as written: rkc into a folder it creates, then the
# shared link with an rpath and the static one (ringkernel-static.pc).
cd "$work"
cp "$src/examples/vector_add/vecadd.rk" .
cp hello.c main.c
$(pkg-config --variable=rkc ringkernel) -o gen vecadd.rk
test -f gen/vecadd.rk.c
# shellcheck disable=SC2046,SC2086
"$cc" $cflags -Wall -Wextra -Werror -Igen main.c gen/vecadd.rk.c -o hello_shared \
  $(pkg-config --cflags --libs ringkernel) \
  -Wl,-rpath,$(pkg-config --variable=libdir ringkernel)
env -u LD_LIBRARY_PATH ./hello_shared   # found through the rpath
# ldd's output taken whole first: `ldd | grep -q` under pipefail fails
# when grep exits at its match before ldd has written the rest (SIGPIPE;
# it made this test fail now and then under ctest -j)
deps=$(ldd hello_shared)
grep -q "$libdir/librk\.so" <<<"$deps" \
  || { echo "hello_shared does not use $libdir's librk.so"; exit 1; }
# shellcheck disable=SC2046,SC2086
"$cc" $cflags -Wall -Wextra -Werror -Igen main.c gen/vecadd.rk.c -o hello_static \
  $(pkg-config --cflags --libs ringkernel-static)
./hello_static
deps=$(ldd hello_static)
if grep -q 'librk\.so' <<<"$deps"; then
  echo "hello_static is linked to librk.so"; exit 1
fi
cd - >/dev/null
step "package test passed"
