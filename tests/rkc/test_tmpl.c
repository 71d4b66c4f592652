/* SPDX-License-Identifier: MIT */
/*
** test_tmpl.c: the template engine (rkc/tmpl.h) read top to bottom:
** substitution, '$$', comments, loops with _first/_last/_index, conditionals,
** standalone block lines, partials, line numbers, and every error.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tmpl.h"

/* Renders text with d (partials from a tiny table); returns the output in
** a static buffer, or NULL with the error in err_out. */
static char err_out[512];

static const char *partials(void *user, const char *name, size_t *len) {
  (void)user;
  static const char item[] = "<$name$>";
  static const char self[] = "$>self$";
  if (strcmp(name, "item") == 0) { *len = sizeof item - 1; return item; }
  if (strcmp(name, "self") == 0) { *len = sizeof self - 1; return self; }
  return NULL;
}

static char *render(const char *text, const rkt_dict *d) {
  static char out[4096];
  rkt_buf b;
  rkt_buf_init(&b);
  err_out[0] = '\0';
  int rc = rkt_render("t", text, strlen(text), d, partials, NULL, &b, err_out,
                      sizeof err_out);
  if (rc != 0) { rkt_buf_free(&b); return NULL; }
  snprintf(out, sizeof out, "%s", b.p ? b.p : "");
  rkt_buf_free(&b);
  return out;
}

static void test_tmpl_substitutes_variables(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set(d, "a", "one");
  rkt_setf(d, "b", "%d-%s", 2, "two");
  rkt_set(d, "a", "uno"); /* the last set wins */
  assert_string_equal(render("x $a$ y $b$ z", d), "x uno y 2-two z");
  assert_string_equal(render("no tags at all", d), "no tags at all");
  rkt_free(d);
}

static void test_tmpl_dollar_and_comment(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  assert_string_equal(render("cost: $$5 $!a note $and more", d), "cost: $5 and more");
  assert_string_equal(render("$!whole line$\nnext\n", d), "next\n");
  rkt_free(d);
}

static void test_tmpl_each_in_order_with_specials(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set(d, "sep", ",");
  for (int i = 0; i < 3; i++) rkt_setf(rkt_add(d, "xs"), "v", "v%d", i);
  assert_string_equal(
      render("[$#each xs$$_index$=$v$$#if !_last$$sep$$/if$$/each$]", d),
      "[0=v0,1=v1,2=v2]");
  assert_string_equal(render("$#each xs$$#if _first$F$#else$.$/if$$/each$", d), "F..");
  rkt_list(d, "none");
  assert_string_equal(render("<$#each none$x$/each$>", d), "<>");
  rkt_free(d);
}

static void test_tmpl_inner_scope_shadows_outer(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set(d, "name", "outer");
  rkt_set(d, "k", "K");
  rkt_set(rkt_add(d, "xs"), "name", "inner");
  assert_string_equal(render("$#each xs$$name$/$k$$/each$ $name$", d), "inner/K outer");
  rkt_free(d);
}

static void test_tmpl_if_else_truth(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set_flag(d, "on", 1);
  rkt_set_flag(d, "off", 0);
  rkt_set(d, "empty", "");
  rkt_set(d, "full", "x");
  rkt_list(d, "nolist");
  rkt_add(d, "list");
  assert_string_equal(render("$#if on$A$#else$B$/if$$#if off$C$#else$D$/if$", d), "AD");
  assert_string_equal(render("$#if empty$1$/if$$#if full$2$/if$$#if !empty$3$/if$", d), "23");
  assert_string_equal(render("$#if nolist$1$/if$$#if list$2$/if$", d), "2");
  rkt_free(d);
}

static void test_tmpl_standalone_block_lines_vanish(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set(rkt_add(d, "xs"), "v", "a");
  rkt_set(rkt_add(d, "xs"), "v", "b");
  rkt_set_flag(d, "on", 1);
  const char *t = "begin\n  $#each xs$\n  - $v$\n  $/each$\n$#if on$\nyes\n$/if$\nend\n";
  assert_string_equal(render(t, d), "begin\n  - a\n  - b\nyes\nend\n");
  /* not alone on the line: kept inline */
  assert_string_equal(render("x $#if on$y$/if$ z\n", d), "x y z\n");
  rkt_free(d);
}

static void test_tmpl_partials_use_current_scope(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set(rkt_add(d, "xs"), "name", "p");
  rkt_set(rkt_add(d, "xs"), "name", "q");
  assert_string_equal(render("$#each xs$$>item$$/each$", d), "<p><q>");
  assert_null(render("$>self$", d)); /* recursion is bounded */
  assert_non_null(strstr(err_out, "too deep"));
  rkt_free(d);
}

static void test_tmpl_line_numbers(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set(d, "body", "a\nb\nc");
  assert_string_equal(render("x\n$body$\n#line $@next_line$ $@line$\n", d),
                      "x\na\nb\nc\n#line 6 5\n");
  rkt_free(d);
}

static void test_tmpl_missing_variable_is_an_error(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  assert_null(render("line1\nhello $who$", d));
  assert_string_equal(err_out, "t:2: missing variable 'who'");
  assert_null(render("$#if nothing$x$/if$", d));
  assert_non_null(strstr(err_out, "missing variable 'nothing'"));
  assert_null(render("$#each nothing$x$/each$", d));
  assert_non_null(strstr(err_out, "missing list 'nothing'"));
  assert_null(render("$>nosuch$", d));
  assert_non_null(strstr(err_out, "missing template 'nosuch'"));
  rkt_free(d);
}

static void test_tmpl_syntax_errors(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_set_flag(d, "on", 1);
  rkt_list(d, "xs");
  assert_null(render("a $unterminated", d));
  assert_non_null(strstr(err_out, "unterminated tag"));
  assert_null(render("$#if on$ never closed", d));
  assert_non_null(strstr(err_out, "not closed by $/if$"));
  assert_null(render("$#each xs$ x $/if$", d));
  assert_non_null(strstr(err_out, "not closed by $/each$"));
  assert_null(render("stray $/each$", d));
  assert_non_null(strstr(err_out, "end tag without a block"));
  assert_null(render("$bad name$", d));
  assert_non_null(strstr(err_out, "bad tag"));
  rkt_free(d);
}

static void test_tmpl_type_mismatch(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  rkt_list(d, "xs");
  rkt_set(d, "s", "x");
  assert_null(render("$xs$", d));
  assert_non_null(strstr(err_out, "not a string"));
  assert_null(render("$#each s$$/each$", d));
  assert_non_null(strstr(err_out, "not a list"));
  rkt_free(d);
}

static void test_tmpl_embedded_templates_present(void **st) {
  (void)st;
  size_t len = 0;
  const char *names[] = {"header", "source", "cuda", "cuda_prelude", "cuda_loop"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    assert_non_null(rkt_embedded_lookup(NULL, names[i], &len));
    assert_true(len > 0);
  }
  assert_null(rkt_embedded_lookup(NULL, "nosuch", &len));
}

static void test_tmpl_large_output(void **st) {
  (void)st;
  rkt_dict *d = rkt_new();
  for (int i = 0; i < 20000; i++) rkt_setf(rkt_add(d, "xs"), "v", "%d", i);
  const char *t = "$#each xs$$v$\n$/each$";
  rkt_buf b;
  rkt_buf_init(&b);
  assert_int_equal(rkt_render("t", t, strlen(t), d, NULL, NULL, &b, err_out, sizeof err_out), 0);
  assert_int_equal(b.line, 20001);
  assert_non_null(strstr(b.p, "\n19999\n"));
  rkt_buf_free(&b);
  rkt_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tmpl_substitutes_variables),
      cmocka_unit_test(test_tmpl_dollar_and_comment),
      cmocka_unit_test(test_tmpl_each_in_order_with_specials),
      cmocka_unit_test(test_tmpl_inner_scope_shadows_outer),
      cmocka_unit_test(test_tmpl_if_else_truth),
      cmocka_unit_test(test_tmpl_standalone_block_lines_vanish),
      cmocka_unit_test(test_tmpl_partials_use_current_scope),
      cmocka_unit_test(test_tmpl_line_numbers),
      cmocka_unit_test(test_tmpl_missing_variable_is_an_error),
      cmocka_unit_test(test_tmpl_syntax_errors),
      cmocka_unit_test(test_tmpl_type_mismatch),
      cmocka_unit_test(test_tmpl_embedded_templates_present),
      cmocka_unit_test(test_tmpl_large_output),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
