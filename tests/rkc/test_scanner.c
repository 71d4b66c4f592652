/* SPDX-License-Identifier: MIT */
/*
** test_scanner.c: the scanner (grammar/rk.l) seen through the AST: verbatim
** bodies with braces in strings, characters and comments; /// docs; integer
** and float literals; NUL bytes, missing final newline, CRLF, tabs in the
** caret line; unterminated bodies, comments and strings.
*/
#include "rkc_test.h"

static void test_scanner_body_verbatim(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  const char *src =
      "message M { u8 a; }\n"
      "kernel K {\n"
      "  on M m { if (m->a) { x = \"}{\\\"}\"; y = '}'; z = '\\''; }"
      " /* } */ // }\n }\n"
      "}\n"
      "code {int f(void) { return '{'; }}\n";
  rkc_file *f = compile(&c, &d, src);
  assert_non_null(f);
  const char *want = " if (m->a) { x = \"}{\\\"}\"; y = '}'; z = '\\''; }"
                     " /* } */ // }\n ";
  assert_string_equal(f->kernels->handlers->body, want);
  assert_int_equal(f->kernels->handlers->body_len, strlen(want));
  assert_int_equal(f->kernels->handlers->body_loc.begin,
                   strstr(src, "m {") - src + 3);
  assert_string_equal(f->codes->body, "int f(void) { return '{'; }");
  done(c, &d);
}

static void test_scanner_docs_attach(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "/// the file\npackage p;\n"
                        "/// a const\nconst u8 K = 1;\n"
                        "/// an enum\nenum E {\n  /// first\n  A,\n  B }\n"
                        "/// line one\n///   line two\n//// not a doc\n"
                        "message M {\n  /// field\n  u8 x;\n  u8 y;\n}\n"
                        "/// kernel\nkernel Q {\n  /// handler\n  on M m {}\n}\n");
  assert_non_null(f);
  assert_string_equal(f->doc, "the file");
  assert_string_equal(f->consts->doc, "a const");
  assert_string_equal(f->enums->doc, "an enum");
  assert_string_equal(f->enums->values->doc, "first");
  assert_null(f->enums->values->next->doc);
  assert_string_equal(f->messages->doc, "line one\n  line two");
  assert_string_equal(f->messages->fields->doc, "field");
  assert_null(f->messages->fields->next->doc);
  assert_string_equal(f->kernels->doc, "kernel");
  assert_string_equal(f->kernels->handlers->doc, "handler");
  done(c, &d);
}

static void test_scanner_integers(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "const u64 A = 0xFFFFFFFFFFFFFFFF;\n"
                        "const u64 B = 18446744073709551615;\n"
                        "const i64 C = -9223372036854775808;\n"
                        "const i32 D = -0x10;\nconst u8 E = 0;\n");
  assert_non_null(f);
  rkc_const *k = f->consts;
  assert_true(k->v.mag == UINT64_MAX && !k->v.neg);
  k = k->next;
  assert_true(k->v.mag == UINT64_MAX);
  k = k->next;
  assert_true(k->v.mag == UINT64_C(9223372036854775808) && k->v.neg);
  k = k->next;
  assert_true(k->v.mag == 16 && k->v.neg);
  assert_string_equal(k->v.text, "-0x10");
  assert_true(k->next->v.mag == 0 && !k->next->v.neg);
  done(c, &d);
  assert_one_error("const u64 A = 0x10000000000000000;\n",
                   "1:15: error: integer literal too large: at most "
                   "18446744073709551615");
}

static void test_scanner_floats(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "const f64 A = 1.5;\nconst f64 B = -2e-3;\n"
                        "const f64 C = .25;\nconst f64 D = 1e3;\n"
                        "const f64 E = 2.;\n");
  assert_non_null(f);
  double want[] = {1.5, -2e-3, .25, 1e3, 2.0};
  int i = 0;
  for (rkc_const *k = f->consts; k; k = k->next, i++) {
    assert_int_equal(k->v.kind, RKC_V_FLOAT);
    assert_true(k->v.f == want[i]);
  }
  assert_int_equal(i, 5);
  done(c, &d);
}

static void test_scanner_nul_byte(void **state) {
  (void)state;
  rkc_ctx *c = rkc_new();
  diags d = {0};
  rkc_set_diag(c, diags_sink, &d);
  const char src[] = "message M {\n  u8 a;\0\n}\n";
  assert_null(rkc_compile_string(c, "t.rk", src, sizeof src - 1));
  char b[256];
  assert_int_equal(d.n, 1);
  assert_string_equal(diags_line(&d, 0, b, sizeof b),
                      "t.rk:2:8: error: NUL byte in input");
  done(c, &d);
}

static void test_scanner_no_final_newline_and_crlf(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  assert_non_null(compile(&c, &d, "message M { u8 a; }"));
  done(c, &d);
  assert_non_null(compile(&c, &d, "message M {\r\n  u8 a;\r\n}\r\n"));
  done(c, &d);
  assert_one_error("message M {\r\n  Foo a;\r\n}", "2:3: error: unknown type 'Foo'");
  assert_one_error("message M { u8 a; } kernel", "1:27: error: syntax error, "
                   "unexpected end of file, expecting identifier");
}

static void test_scanner_caret_keeps_tabs(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  assert_null(compile(&c, &d, "message M {\n\t\tBad x;\n}\n"));
  assert_string_equal(d.all, "t.rk:2:3: error: unknown type 'Bad'\n"
                             "\t\tBad x;\n"
                             "\t\t^~~\n");
  done(c, &d);
}

static void test_scanner_unterminated(void **state) {
  (void)state;
  assert_one_error("message M { u8 a; }\n/* open\n",
                   "2:1: error: unterminated comment");
  assert_one_error("message M { u8 a; }\ncode { int x; \n",
                   "2:6: error: unbalanced braces: no '}' closes this '{'");
  rkc_ctx *c;
  diags d;
  char b[256];
  assert_null(compile(&c, &d, "import \"a.rk\n;"));
  assert_string_equal(diags_line(&d, 0, b, sizeof b),
                      "t.rk:1:8: error: unterminated string");
  done(c, &d);
}

static void test_scanner_bad_characters(void **state) {
  (void)state;
  assert_one_error("message M { u8 a; } $\n",
                   "1:21: error: unexpected character '$'");
  assert_one_error("message M { u8 a; }\n\x01\n",
                   "2:1: error: unexpected byte 0x01");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scanner_body_verbatim),
      cmocka_unit_test(test_scanner_docs_attach),
      cmocka_unit_test(test_scanner_integers),
      cmocka_unit_test(test_scanner_floats),
      cmocka_unit_test(test_scanner_nul_byte),
      cmocka_unit_test(test_scanner_no_final_newline_and_crlf),
      cmocka_unit_test(test_scanner_caret_keeps_tabs),
      cmocka_unit_test(test_scanner_unterminated),
      cmocka_unit_test(test_scanner_bad_characters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
