/* SPDX-License-Identifier: MIT */
/*
** fuzz_rkc.c: libFuzzer entry point for the rkc front end: every input is
** compiled as a schema in memory (diagnostics discarded). Any crash, leak,
** sanitizer report or hang is a bug. Imports resolve beside "fuzz.rk", i.e.
** in the current folder: run it from an empty one.
*/
#include <stddef.h>
#include <stdint.h>

#include "rkc.h"

static void quiet(void *user, const char *text) {
  (void)user;
  (void)text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rkc_ctx *c = rkc_new();
  if (c == NULL)
    return 0;
  rkc_set_diag(c, quiet, NULL);
  rkc_file *f = rkc_compile_string(c, "fuzz.rk", (const char *)data, size);
  /* Touch what sema computed so a wrong layout at least gets read. */
  if (f != NULL)
    for (uint32_t i = 0; i < f->n_messages; i++)
      if (f->msg_order[i]->size == 0)
        __builtin_trap(); /* a checked message always has a size */
  rkc_free(c);
  return 0;
}
