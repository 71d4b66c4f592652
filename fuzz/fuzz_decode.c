/* SPDX-License-Identifier: MIT */
/*
** fuzz_decode.c: libFuzzer target for every _decode that rkc generates for
** tests/rkc/schemas/wireall.rk (every field kind) and tests/ok/everything.rk
** with its imports (every enum width, nested and imported messages). The
** first input byte picks the message, the rest is its wire bytes (copied
** to a buffer of
** exactly that size, so a read past len is an ASan report). An input that
** decodes must encode back to the same bytes and decode again to the same
** struct; one that does not must fail with RK_E_DECODE and a detail.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "everything.rk.h"
#include "wireall.rk.h"

#include "fuzz_decode.h"

typedef struct target {
  const char *name;
  size_t size, max;
  void (*init)(void *m);
  rk_status (*dec)(void *m, const uint8_t *buf, size_t len);
  rk_status (*enc)(const void *m, uint8_t *buf, size_t cap, size_t *len);
} target;

/* Typed wrappers: calling the generated functions through a cast pointer
** would be undefined behaviour. */
#define TARGET(M)                                                          \
  static void init_##M(void *m) { M##_init(m); }                           \
  static rk_status dec_##M(void *m, const uint8_t *b, size_t n) {          \
    return M##_decode(m, b, n);                                            \
  }                                                                        \
  static rk_status enc_##M(const void *m, uint8_t *b, size_t c,            \
                           size_t *n) {                                    \
    return M##_encode(m, b, c, n);                                         \
  }
#define MESSAGES(X)                                                        \
  X(wireall_All) X(wireall_Inner) X(wireall_Nothing) X(common_Point)       \
  X(shapes_Square) X(shapes_Circle) X(test_every_Scalars)                  \
  X(test_every_Arrays) X(test_every_Nested) X(test_every_Empty)
MESSAGES(TARGET)
#undef TARGET

#define ENTRY(M)                                                           \
  {#M, sizeof(M), M##_encoded_max, init_##M, dec_##M, enc_##M},
/* The selector byte modulo the count picks one, in this order. */
static const target targets[] = {MESSAGES(ENTRY)};
#undef ENTRY
#define N_TARGETS (sizeof targets / sizeof targets[0])

size_t fuzz_decode_count(void) { return N_TARGETS; }

const char *fuzz_decode_seed(size_t i, uint8_t *buf, size_t cap,
                             size_t *len) {
  const target *t = &targets[i];
  void *m = calloc(1, t->size + 1);
  *len = 0;
  if (!m || cap < 1)
    abort();
  t->init(m);
  buf[0] = (uint8_t)i;
  if (t->enc(m, buf + 1, cap - 1, len) != RK_OK)
    abort();
  *len += 1;
  free(m);
  return t->name;
}

/* Checks one input; aborts (a finding) on any broken promise. */
static void check(const target *t, const uint8_t *in, size_t len) {
  void *m1 = malloc(t->size + 1), *m2 = malloc(t->size + 1);
  uint8_t *out = malloc(t->max + 1);
  if (!m1 || !m2 || !out)
    abort();
  memset(m1, 0xa5, t->size + 1);
  memset(m2, 0x5a, t->size + 1);
  rk_status s = t->dec(m1, in, len);
  if (s != RK_OK) {
    if (s != RK_E_DECODE || rk_error_detail()[0] == '\0')
      abort(); /* the contract: RK_E_DECODE with a detail */
  } else {
    size_t n = 0;
    if (t->enc(m1, out, t->max, &n) != RK_OK || n != len ||
        memcmp(out, in, len) != 0)
      abort(); /* decode -> encode must give the same bytes */
    if (t->dec(m2, out, n) != RK_OK || memcmp(m1, m2, t->size) != 0)
      abort(); /* -> decode must give the same struct (padding zeroed) */
    if (n > 0 && t->enc(m1, out, n - 1, &n) != RK_E_INVALID)
      abort(); /* a buffer one byte short is refused, not overrun */
  }
  free(m1);
  free(m2);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const target *t = &targets[data[0] % N_TARGETS];
  size_t len = size - 1;
  uint8_t *in = malloc(len ? len : 1); /* exactly len bytes readable */
  if (!in)
    return 0;
  memcpy(in, data + 1, len);
  check(t, in, len);
  free(in);
  return 0;
}
