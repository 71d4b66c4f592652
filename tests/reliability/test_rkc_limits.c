/* SPDX-License-Identifier: MIT */
/*
** test_rkc_limits.c: the rkc front end at its limits, through the compiler
** library: imports 10,000 deep, sizes whose product overflows 64 bits,
** numbers near and past 2^32 and 2^64, input without a final newline or
** with NUL bytes, and nesting far deeper than any parser stack. Each must
** end in a diagnostic (or success), never a crash (CI runs it under ASan).
** tests/err holds the single-diagnostic cases; these are the large ones.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include <sys/stat.h>
#include <unistd.h>

#include "rkc_test.h"

/* Keeps the first diagnostic's first line and counts them all (the
** shared diags_sink keeps every text: quadratic for 10,000 of them). */
typedef struct first_diag {
  char first[512];
  unsigned n;
} first_diag;

static void first_sink(void *user, const char *text) {
  first_diag *d = user;
  if (d->n++ == 0) {
    size_t k = strcspn(text, "\n");
    snprintf(d->first, sizeof d->first, "%.*s", (int)k, text);
  }
}

/* Compiles len bytes of src as "t.rk"; returns the count of diagnostics
** and whether the compile succeeded; keeps the text of the first. */
static unsigned compile_n(const char *src, size_t len, int *ok,
                          char *first, size_t cap) {
  first_diag d;
  memset(&d, 0, sizeof d);
  snprintf(d.first, sizeof d.first, "<none>");
  rkc_ctx *c = rkc_new();
  assert_non_null(c);
  rkc_set_diag(c, first_sink, &d);
  *ok = rkc_compile_string(c, "t.rk", src, len) != NULL;
  assert_true(d.n <= rkc_error_count(c)); /* the sink may stop early */
  snprintf(first, cap, "%s", d.first);
  rkc_free(c);
  return d.n;
}

/* Expects a refusal whose first diagnostic contains want. */
static void expect_refused(const char *src, const char *want) {
  char first[512];
  int ok;
  unsigned n = compile_n(src, strlen(src), &ok, first, sizeof first);
  if (ok || n == 0 || !strstr(first, want))
    print_error("for %.60s: ok %d, %u diagnostics, first: %s\n", src, ok, n,
                first);
  assert_false(ok);
  assert_true(n >= 1);
  assert_non_null(strstr(first, want));
}

static void test_limits_imports_10000_deep(void **st) {
  /* tmpfs when there is one: 10,000 files on a disk take seconds */
  char dir[64], path[256], text[128];
  struct stat sb;
  snprintf(dir, sizeof dir, "%s/rkc_limits_XXXXXX",
           stat("/dev/shm", &sb) == 0 && access("/dev/shm", W_OK) == 0
               ? "/dev/shm" : "/tmp");
  assert_non_null(mkdtemp(dir));
  for (int i = 0; i < 10000; i++) {
    snprintf(path, sizeof path, "%s/d%d.rk", dir, i);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (i + 1 < 10000)
      snprintf(text, sizeof text, "import \"d%d.rk\";\n", i + 1);
    else
      text[0] = '\0';
    fprintf(f, "%smessage M%d { u8 a; }\n", text, i);
    fclose(f);
  }
  diags d;
  memset(&d, 0, sizeof d);
  rkc_ctx *c = rkc_new();
  rkc_set_diag(c, diags_sink, &d);
  snprintf(path, sizeof path, "%s/d0.rk", dir);
  assert_null(rkc_compile_file(c, path));
  char first[512];
  diags_line(&d, 0, first, sizeof first);
  assert_non_null(strstr(first, "imports nested too deep"));
  assert_non_null(strstr(first, "RKC_MAX_IMPORT_DEPTH"));
  assert_true(d.n <= 3); /* one clear diagnostic, not one per level */
  rkc_free(c);
  free(d.all);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* 8 * 2^20 * 2^20 * 2^20 * 2^20 bytes: 2^83, past any 64-bit size. */
static void test_limits_size_product_overflows(void **st) {
  expect_refused("message A { u64 v[1048576]; }\n"
                 "message B { A a[1048576]; }\n"
                 "message C { B b[1048576]; }\n"
                 "message D { C c[1048576]; }\n"
                 "message E { D d[1048576]; D e[1048576]; }\n",
                 "RKC_MAX_MESSAGE_SIZE");
  /* many fields whose sum overflows 32 bits but each fits */
  char src[4096];
  size_t n = (size_t)snprintf(src, sizeof src, "message S {\n");
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(src + n, sizeof src - n, "  u64 x%d[1048576];\n",
                          i);
  snprintf(src + n, sizeof src - n, "}\n");
  expect_refused(src, "RKC_MAX_MESSAGE_SIZE");
}

static void test_limits_numbers_near_2_32_and_2_64(void **st) {
  expect_refused("message A { u8 v[4294967296]; }\n", "error");
  expect_refused("message A { u8 v[18446744073709551615]; }\n", "error");
  expect_refused("message A { u8 v[18446744073709551616]; }\n", "error");
  expect_refused("message A @id(4294967295) { u8 v; }\n", "error");
  expect_refused("const u32 X = 4294967296;\n", "error");
  expect_refused("const i64 X = -9223372036854775809;\n", "error");
  expect_refused("kernel K { capacity = 4294967296; on A a {} }\n"
                 "message A { u8 v; }\n", "error");
  expect_refused("kernel K { capacity = 2147483648; block = 4294967295; "
                 "on A a {} }\nmessage A { u8 v; }\n", "error");
}

static void test_limits_no_final_newline(void **st) {
  char first[512];
  int ok;
  const char *good = "message A { u8 a; }";
  assert_int_equal(compile_n(good, strlen(good), &ok, first, sizeof first),
                   0);
  assert_true(ok);
  expect_refused("message A { u8 a;", "t.rk:1:");
  expect_refused("message A { u8 a; } x", "t.rk:1:");
  expect_refused("message A { u8 a; }\n// comment\nmessage", "t.rk:3:");
  expect_refused("message A { u8 a; } /* open", "t.rk:1:");
  expect_refused("kernel K { on A a { if (1) {", "t.rk:1:");
}

static void test_limits_nul_bytes(void **st) {
#define NUL_CASE(x) {x, sizeof(x) - 1}
  static const struct { const char *s; size_t n; } cases[] = {
      NUL_CASE("message A { u8 a; }\n\0"),           /* at the very end */
      NUL_CASE("\0message A { u8 a; }\n"),           /* at the start */
      NUL_CASE("message A { u8 a; } /* c\0 */\n"),   /* in a comment */
      NUL_CASE("code { int x = 1;\0 }\n"),           /* inside a body */
      NUL_CASE("message A { u8 a; } // c\0 d\n"),    /* in a // comment */
      NUL_CASE("/// doc\0\nmessage A { u8 a; }\n"),  /* in a /// comment */
      NUL_CASE("code { // c\0\n }\n"),               /* // in a body */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char first[512];
    int ok;
    unsigned n = compile_n(cases[i].s, cases[i].n, &ok, first, sizeof first);
    if (ok || !strstr(first, "NUL byte"))
      print_error("case %zu: ok %d, first: %s\n", i, ok, first);
    assert_false(ok);
    assert_true(n >= 1);
    assert_non_null(strstr(first, "NUL byte"));
  }
}

/* Nothing in the grammar nests (lists are left-recursive, bodies are
** matched by the scanner), so no input depth reaches bison's stack limit;
** these check that huge depths stay diagnostics and the time stays small. */
static void test_limits_deep_nesting(void **st) {
  const size_t depth = 200000;
  char *src = malloc(2 * depth + 64);
  assert_non_null(src);
  char first[512];
  int ok;
  /* a handler body nested 200,000 braces deep: fine */
  size_t n = (size_t)sprintf(src, "message A { u8 a; }\n"
                                  "kernel K { on A a ");
  for (size_t i = 0; i < depth; i++)
    src[n++] = '{';
  for (size_t i = 0; i < depth; i++)
    src[n++] = '}';
  n += (size_t)sprintf(src + n, " }\n");
  assert_int_equal(compile_n(src, n, &ok, first, sizeof first), 0);
  assert_true(ok);
  /* unbalanced: 200,000 opened, none closed */
  n = (size_t)sprintf(src, "kernel K { on A a ");
  for (size_t i = 0; i < depth; i++)
    src[n++] = '{';
  assert_true(compile_n(src, n, &ok, first, sizeof first) >= 1);
  assert_false(ok);
  /* 20,000 braces outside any body: syntax errors, bounded */
  for (n = 0; n < depth / 10; n++)
    src[n] = (n & 1) ? '}' : '{';
  unsigned e = compile_n(src, n, &ok, first, sizeof first);
  assert_false(ok);
  assert_true(e >= 1);
  assert_non_null(strstr(first, "t.rk:1:1: error:"));
  /* a qualified name 3,000 parts long (each part re-formats the name) */
  n = (size_t)sprintf(src, "package a");
  for (size_t i = 0; i < 3000; i++)
    n += (size_t)sprintf(src + n, ".b");
  n += (size_t)sprintf(src + n, ";\nmessage A { u8 a; }\n");
  (void)compile_n(src, n, &ok, first, sizeof first); /* either, no crash */
  free(src);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limits_imports_10000_deep),
      cmocka_unit_test(test_limits_size_product_overflows),
      cmocka_unit_test(test_limits_numbers_near_2_32_and_2_64),
      cmocka_unit_test(test_limits_no_final_newline),
      cmocka_unit_test(test_limits_nul_bytes),
      cmocka_unit_test(test_limits_deep_nesting),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
