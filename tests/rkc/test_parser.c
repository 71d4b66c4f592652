/* SPDX-License-Identifier: MIT */
/*
** test_parser.c: the grammar (grammar/rk.y): every construct of language.md
** builds the AST it should, in source order, with the positions of names;
** and syntax errors are all reported in one run (recovery at ';' and '}').
*/
#include "rkc_test.h"

static const char *every =
    "package a.b;\n"
    "const u32 N = 4;\n"
    "enum Op : u8 { ADD = 0, SUB, }\n"
    "enum Plain { X }\n"
    "message P @id(77) { f32 x; f32 y = -1.5; }\n"
    "message Req {\n"
    "  u32 n;\n"
    "  Op op = SUB;\n"
    "  f32 v[N] @len(n);\n"
    "  P pts[3];\n"
    "  a.b.P q;\n"
    "  bool flag = true;\n"
    "}\n"
    "message Empty {}\n"
    "kernel K {\n"
    "  capacity = 64;\n"
    "  block = 32;\n"
    "  grid = auto;\n"
    "  actors = 8;\n"
    "  backend = cpu;\n"
    "  state { u64 count; P last; }\n"
    "  on Req r -> P p { p->x = r->n; }\n"
    "  on Empty e { }\n"
    "}\n"
    "code { RK_FN int one(void) { return 1; } }\n";

static void test_parser_declarations(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d, every);
  assert_non_null(f);
  assert_string_equal(f->package, "a.b");
  assert_string_equal(f->consts->name, "N");
  assert_int_equal(f->consts->type.kind, RKC_T_U32);
  rkc_enum *e = f->enums;
  assert_string_equal(e->name, "Op");
  assert_int_equal(e->base, RKC_T_U8);
  assert_string_equal(e->values->next->name, "SUB");
  assert_false(e->values->next->has_value);
  assert_null(e->values->next->next);
  assert_int_equal(e->next->base, RKC_T_U32); /* the default base */
  rkc_message *m = f->messages;
  assert_string_equal(m->name, "P");
  assert_true(m->has_id);
  assert_int_equal(m->id_value.mag, 77);
  assert_true(m->fields->next->has_default);
  assert_true(m->fields->next->def.f == -1.5);
  m = m->next;
  assert_string_equal(m->name, "Req");
  assert_int_equal(m->n_fields, 6);
  rkc_field *fd = m->fields->next->next;
  assert_string_equal(fd->name, "v");
  assert_true(fd->is_array);
  assert_int_equal(fd->array_n.kind, RKC_V_IDENT);
  assert_string_equal(fd->array_n.text, "N");
  assert_string_equal(fd->len_name, "n");
  assert_int_equal(fd->count, 4); /* resolved from the const */
  fd = fd->next->next;
  assert_string_equal(fd->type.name, "a.b.P");
  assert_ptr_equal(fd->type.msg, f->messages);
  assert_string_equal(m->next->name, "Empty");
  assert_null(m->next->fields);
  done(c, &d);
}

static void test_parser_kernel(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d, every);
  assert_non_null(f);
  rkc_kernel *k = f->kernels;
  const char *keys[] = {"capacity", "block", "grid", "actors", "backend"};
  int i = 0;
  for (rkc_option *o = k->options; o; o = o->next, i++)
    assert_string_equal(o->key, keys[i]);
  assert_int_equal(i, 5);
  assert_true(k->has_state);
  assert_string_equal(k->state->name, "count");
  assert_string_equal(k->state->next->name, "last");
  rkc_handler *h = k->handlers;
  assert_string_equal(h->req.name, "Req");
  assert_string_equal(h->req_var, "r");
  assert_true(h->has_resp);
  assert_string_equal(h->resp_var, "p");
  assert_string_equal(h->body, " p->x = r->n; ");
  h = h->next;
  assert_false(h->has_resp);
  assert_string_equal(h->req_var, "e");
  assert_null(h->next);
  assert_string_equal(f->codes->body, " RK_FN int one(void) { return 1; } ");
  /* name positions: "K" of "kernel K" */
  assert_int_equal(k->loc.begin, strstr(every, "kernel K") - every + 7);
  assert_int_equal(k->loc.end, k->loc.begin + 1);
  done(c, &d);
}

static void test_parser_imports_in_order(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  /* missing imports are errors, but the parse records both, in order */
  assert_null(compile(&c, &d, "import \"x1.rk\";\nimport \"x2.rk\";\n"));
  rkc_file *f = rkc_file_at(c, 0);
  assert_string_equal(f->imports->path, "x1.rk");
  assert_string_equal(f->imports->next->path, "x2.rk");
  assert_int_equal(d.n, 2);
  done(c, &d);
}

static void test_parser_recovers_at_semicolon_and_brace(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  char b[256];
  assert_null(compile(&c, &d,
                      "message A {\n  u8 x\n  u8 y;\n}\n"
                      "message B { u8 = 3; }\n"
                      "kernel K { on A a {} junk junk; on B b {} }\n"
                      "message C { u8 ok; }\n"
                      "const u8 Z = ;\n"));
  assert_int_equal(d.n, 4);
  assert_string_equal(diags_line(&d, 0, b, sizeof b),
                      "t.rk:3:3: error: syntax error, unexpected scalar type, "
                      "expecting ';'");
  assert_string_equal(diags_line(&d, 1, b, sizeof b),
                      "t.rk:5:16: error: syntax error, unexpected '=', "
                      "expecting identifier");
  assert_string_equal(diags_line(&d, 2, b, sizeof b),
                      "t.rk:6:27: error: syntax error, unexpected identifier, "
                      "expecting '='");
  assert_string_equal(diags_line(&d, 3, b, sizeof b),
                      "t.rk:8:14: error: syntax error, unexpected ';'");
  done(c, &d);
}

static void test_parser_package_rules(void **state) {
  (void)state;
  assert_one_error("message M { u8 a; }\npackage p;\n",
                   "2:1: error: 'package' must come before every other "
                   "declaration");
  assert_one_error("package p;\npackage q;\n",
                   "2:1: error: duplicate 'package': already declared at "
                   "t.rk:1:9");
  assert_one_error("message M { u8 a; } @size",
                   "1:21: error: unknown attribute '@size' (expected @len or "
                   "@id)");
}

static void test_parser_state_keyword_as_handler_variable(void **state) {
  (void)state;
  assert_one_error("message M { u8 a; }\nkernel K { on M state {} }\n",
                   "2:17: error: handler variable 'state' is reserved: "
                   "handlers see 'state' already");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parser_declarations),
      cmocka_unit_test(test_parser_kernel),
      cmocka_unit_test(test_parser_imports_in_order),
      cmocka_unit_test(test_parser_recovers_at_semicolon_and_brace),
      cmocka_unit_test(test_parser_package_rules),
      cmocka_unit_test(test_parser_state_keyword_as_handler_variable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
