/* SPDX-License-Identifier: MIT */
/*
** test_wire.c: rk_wire_encode / rk_wire_decode (runtime/wire.c) with
** hand-built tables, independent of rkc: the exact byte layout, random round
** trips, and every error: short buffer (each prefix), trailing bytes, a
** length over its bound, a bad bool, an undeclared enum, a small cap.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rk.h"

typedef struct inner {
  int16_t a;
  bool f;
} inner;

typedef struct msg {
  uint8_t n;      /* @len of arr */
  uint8_t e;      /* enum: 1, 2, 200 */
  bool b;
  uint32_t u;
  float f;
  double d;
  int64_t i;
  inner in[2];
  uint16_t arr[4];
  int8_t s;       /* enum with a negative value: -1, 5 */
} msg;

static const uint64_t e_vals[] = {1, 2, 200};
static const uint64_t s_vals[] = {UINT64_MAX, 5}; /* -1 sign-extended */

static const rk_wire_field inner_fields[] = {
    {RK_W_I16, offsetof(inner, a), 0, -1, 0, NULL, NULL},
    {RK_W_BOOL, offsetof(inner, f), 0, -1, 0, NULL, NULL},
};
static const rk_wire_msg inner_wire = {"t.Inner", sizeof(inner), 2, inner_fields, 3};

static const rk_wire_field msg_fields[] = {
    {RK_W_U8, offsetof(msg, n), 0, -1, 0, NULL, NULL},
    {RK_W_U8, offsetof(msg, e), 0, -1, 3, e_vals, NULL},
    {RK_W_BOOL, offsetof(msg, b), 0, -1, 0, NULL, NULL},
    {RK_W_U32, offsetof(msg, u), 0, -1, 0, NULL, NULL},
    {RK_W_F32, offsetof(msg, f), 0, -1, 0, NULL, NULL},
    {RK_W_F64, offsetof(msg, d), 0, -1, 0, NULL, NULL},
    {RK_W_I64, offsetof(msg, i), 0, -1, 0, NULL, NULL},
    {RK_W_MSG, offsetof(msg, in), 2, -1, 0, NULL, &inner_wire},
    {RK_W_U16, offsetof(msg, arr), 4, 0, 0, NULL, NULL},
    {RK_W_I8, offsetof(msg, s), 0, -1, 2, s_vals, NULL},
};
/* 1+1+1+4+4+8+8 + 2*3 + 4*2 + 1 */
#define MSG_MAX 42u
static const rk_wire_msg msg_wire = {"t.Msg", sizeof(msg), 10, msg_fields, MSG_MAX};

static msg sample(void) {
  msg m;
  memset(&m, 0, sizeof m);
  m.n = 2;
  m.e = 200;
  m.b = true;
  m.u = 0x04030201u;
  m.f = 1.0f;  /* 0x3f800000 */
  m.d = -2.0;  /* 0xc000000000000000 */
  m.i = -2;
  m.in[0].a = 0x0102;
  m.in[0].f = false;
  m.in[1].a = -1;
  m.in[1].f = true;
  m.arr[0] = 0xaabb;
  m.arr[1] = 0x0001;
  m.arr[2] = 0x7777; /* beyond n: not on the wire */
  m.s = -1;
  return m;
}

static size_t encode(const msg *m, uint8_t *buf) {
  size_t len = 0;
  assert_int_equal(rk_wire_encode(&msg_wire, m, buf, MSG_MAX, &len), RK_OK);
  return len;
}

static void test_wire_encode_exact_bytes(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX];
  static const uint8_t want[] = {
      2, 200, 1, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x80, 0x3f,
      0, 0, 0, 0, 0, 0, 0, 0xc0,
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x02, 0x01, 0, 0xff, 0xff, 1,
      0xbb, 0xaa, 0x01, 0x00,
      0xff};
  size_t len = encode(&m, buf);
  assert_int_equal(len, sizeof want);
  assert_memory_equal(buf, want, sizeof want);
}

static void test_wire_decode_restores_and_zeroes_tail(void **st) {
  (void)st;
  msg m = sample(), out;
  uint8_t buf[MSG_MAX];
  size_t len = encode(&m, buf);
  memset(&out, 0x5a, sizeof out);
  assert_int_equal(rk_wire_decode(&msg_wire, &out, buf, len), RK_OK);
  m.arr[2] = 0; /* not meaningful, so not carried */
  assert_int_equal(out.n, m.n);
  assert_int_equal(out.e, m.e);
  assert_true(out.b);
  assert_int_equal(out.u, m.u);
  assert_true(out.f == m.f && out.d == m.d);
  assert_int_equal(out.i, m.i);
  assert_int_equal(out.in[1].a, -1);
  assert_true(out.in[1].f && !out.in[0].f);
  assert_int_equal(out.arr[0], 0xaabb);
  assert_int_equal(out.arr[2], 0);
  assert_int_equal(out.arr[3], 0);
  assert_int_equal(out.s, -1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static msg random_msg(void) {
  msg m;
  memset(&m, 0, sizeof m);
  m.n = (uint8_t)(next() % 5);
  m.e = (uint8_t)e_vals[next() % 3];
  m.b = next() & 1;
  m.u = (uint32_t)next();
  m.f = (float)(int32_t)next() / 7.0f;
  m.d = (double)(int64_t)next() / 3.0;
  m.i = (int64_t)next();
  for (int k = 0; k < 2; k++) {
    m.in[k].a = (int16_t)next();
    m.in[k].f = next() & 1;
  }
  for (int k = 0; k < m.n; k++) m.arr[k] = (uint16_t)next();
  m.s = next() & 1 ? -1 : 5;
  return m;
}

static void test_wire_random_round_trips(void **st) {
  (void)st;
  for (int it = 0; it < 2000; it++) {
    msg m = random_msg(), out;
    uint8_t buf[MSG_MAX], again[MSG_MAX];
    size_t len = encode(&m, buf);
    assert_int_equal(len, MSG_MAX - 2u * (4u - m.n));
    assert_int_equal(rk_wire_decode(&msg_wire, &out, buf, len), RK_OK);
    assert_memory_equal(&out, &m, offsetof(msg, in)); /* no padding before in */
    assert_int_equal(out.in[0].a, m.in[0].a);
    assert_int_equal(out.in[1].f, m.in[1].f);
    assert_memory_equal(out.arr, m.arr, sizeof m.arr);
    size_t len2 = encode(&out, again);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
  }
}

static void expect_decode_error(const uint8_t *buf, size_t len, const char *what) {
  msg out;
  assert_int_equal(rk_wire_decode(&msg_wire, &out, buf, len), RK_E_DECODE);
  const char *d = rk_error_detail();
  if (!strstr(d, what) || !strstr(d, "byte"))
    fail_msg("detail '%s' lacks '%s' or a byte offset", d, what);
}

static void test_wire_decode_short_buffer_every_prefix(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX];
  size_t len = encode(&m, buf);
  for (size_t cut = 0; cut < len; cut++) expect_decode_error(buf, cut, "short buffer");
  /* a NULL buffer of length 0 is a short buffer too, not a crash */
  msg out;
  assert_int_equal(rk_wire_decode(&msg_wire, &out, NULL, 0), RK_E_DECODE);
}

static void test_wire_decode_trailing_bytes(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX + 3];
  size_t len = encode(&m, buf);
  buf[len] = 0;
  expect_decode_error(buf, len + 1, "trailing");
}

static void test_wire_decode_length_over_bound(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX + 8];
  size_t len = encode(&m, buf);
  buf[0] = 5; /* n = 5 > 4 */
  memset(buf + len, 0, 8);
  expect_decode_error(buf, len + 6, "over its bound");
}

static void test_wire_decode_bad_bool(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX];
  size_t len = encode(&m, buf);
  buf[2] = 2;
  expect_decode_error(buf, len, "bool");
  buf[2] = 1;
  buf[32] = 0xff; /* in[1].f, inside a nested message */
  expect_decode_error(buf, len, "bool");
}

static void test_wire_decode_unknown_enum(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX];
  size_t len = encode(&m, buf);
  buf[1] = 3;
  expect_decode_error(buf, len, "enum");
  buf[1] = 1;
  buf[len - 1] = 0xfe; /* -2: s declares -1 and 5 */
  expect_decode_error(buf, len, "enum");
  buf[len - 1] = 5;
  msg out;
  assert_int_equal(rk_wire_decode(&msg_wire, &out, buf, len), RK_OK);
}

static void test_wire_encode_errors(void **st) {
  (void)st;
  msg m = sample();
  uint8_t buf[MSG_MAX];
  size_t len = 99;
  assert_int_equal(rk_wire_encode(&msg_wire, &m, buf, 10, &len), RK_E_INVALID);
  assert_int_equal(len, 0);
  assert_non_null(strstr(rk_error_detail(), "too small"));
  m.n = 5;
  assert_int_equal(rk_wire_encode(&msg_wire, &m, buf, sizeof buf, &len), RK_E_INVALID);
  assert_non_null(strstr(rk_error_detail(), "over its bound"));
  m = sample();
  m.e = 7;
  assert_int_equal(rk_wire_encode(&msg_wire, &m, buf, sizeof buf, &len), RK_E_INVALID);
  assert_int_equal(rk_wire_encode(&msg_wire, NULL, buf, sizeof buf, &len), RK_E_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_encode_exact_bytes),
      cmocka_unit_test(test_wire_decode_restores_and_zeroes_tail),
      cmocka_unit_test(test_wire_random_round_trips),
      cmocka_unit_test(test_wire_decode_short_buffer_every_prefix),
      cmocka_unit_test(test_wire_decode_trailing_bytes),
      cmocka_unit_test(test_wire_decode_length_over_bound),
      cmocka_unit_test(test_wire_decode_bad_bool),
      cmocka_unit_test(test_wire_decode_unknown_enum),
      cmocka_unit_test(test_wire_encode_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
