/* SPDX-License-Identifier: MIT */
/*
** refs_none.c: stands in for refs.cu when no CUDA toolkit was found at
** configure time: rk-bench then measures no GPU reference and says so.
*/
#include "bench.h"

int rkb_gpu_refs_built(void) { return 0; }

int rkb_gpu_refs(const rkb_opts *o, rkb_run *r) {
  (void)o;
  (void)r;
  return -1;
}
