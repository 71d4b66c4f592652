/* SPDX-License-Identifier: MIT */
/*
** test_sema.c: what the semantic pass computes (layouts and offsets, wire
** maxima, type ids, prefixes, enum values, kernel defaults, dependency
** order) and imports from real files: qualified and plain names, -I search
** order, ambiguity, missing files (with where it looked) and cycles.
** Every diagnostic's message and position is also checked by tests/err.
*/
#include <sys/stat.h>
#include <unistd.h>

#include "rkc_test.h"

static rkc_message *msg(rkc_file *f, const char *name) {
  for (rkc_message *m = f->messages; m; m = m->next)
    if (strcmp(m->name, name) == 0)
      return m;
  fail_msg("no message %s", name);
  return NULL;
}

static rkc_field *field(rkc_message *m, const char *name) {
  for (rkc_field *f = m->fields; f; f = f->next)
    if (strcmp(f->name, name) == 0)
      return f;
  fail_msg("no field %s", name);
  return NULL;
}

static void test_sema_layout_natural_alignment(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "enum E16 : i16 { A }\n"
                        "message In { u8 a; f64 b; }\n"
                        "message M {\n  bool b;\n  u32 x;\n  u8 c;\n"
                        "  In in;\n  E16 e;\n  u16 n;\n  f32 v[5] @len(n);\n"
                        "  u8 tail;\n}\n"
                        "message S { u8 a; u8 b[3]; }\n");
  assert_non_null(f);
  rkc_message *in = msg(f, "In");
  assert_int_equal(in->size, 16);
  assert_int_equal(in->align, 8);
  assert_int_equal(in->encoded_max, 9);
  rkc_message *m = msg(f, "M");
  struct { const char *n; uint32_t off, size; } want[] = {
      {"b", 0, 1}, {"x", 4, 4}, {"c", 8, 1}, {"in", 16, 16},
      {"e", 32, 2}, {"n", 34, 2}, {"v", 36, 20}, {"tail", 56, 1}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    rkc_field *fd = field(m, want[i].n);
    assert_int_equal(fd->offset, want[i].off);
    assert_int_equal(fd->size, want[i].size);
    assert_int_equal(fd->index, i);
  }
  assert_int_equal(field(m, "v")->count, 5);
  assert_ptr_equal(field(m, "v")->len_field, field(m, "n"));
  assert_int_equal(m->size, 64);
  assert_int_equal(m->align, 8);
  assert_int_equal(m->encoded_max, 1 + 4 + 1 + 9 + 2 + 2 + 20 + 1);
  assert_int_equal(m->n_fields, 8);
  rkc_message *s = msg(f, "S");
  assert_int_equal(s->size, 4);
  assert_int_equal(s->align, 1);
  done(c, &d);
}

/* FLT_MAX in its usual decimal spellings fits an f32 (it rounds to
** FLT_MAX); one that rounds to infinity does not (tests/err). */
static void test_sema_f32_max_fits(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "const f32 BIG = 3.40282347e38;\n"
                        "message A { f32 a = 3.4028235e38; "
                        "f32 b = -3.4028235e38; }\n");
  assert_non_null(f);
  assert_int_equal(d.n, 0);
  done(c, &d);
}

static void test_sema_dependency_order(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "message A { B b; C c; }\nmessage B { C c; }\n"
                        "message C { u8 x; }\nmessage D { u8 y; }\n");
  assert_non_null(f);
  assert_int_equal(f->n_messages, 4);
  const char *want[] = {"C", "B", "A", "D"};
  for (uint32_t i = 0; i < 4; i++) {
    assert_string_equal(f->msg_order[i]->name, want[i]);
    assert_int_equal(f->msg_order[i]->topo, i);
  }
  done(c, &d);
}

static uint32_t fnv(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h & 0x7fffffffu;
}

static void test_sema_ids_and_prefixes(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d, "package a.b;\nmessage M { u8 x; }\n"
                                "message N @id(5) { u8 x; }\n");
  assert_non_null(f);
  assert_string_equal(f->prefix, "a_b_");
  assert_string_equal(f->PREFIX, "A_B_");
  assert_string_equal(f->qual, "a.b");
  assert_int_equal(msg(f, "M")->id, fnv("a.b.M"));
  assert_int_equal(msg(f, "M")->id, 0x377e2b91);
  assert_int_equal(msg(f, "N")->id, 5);
  done(c, &d);
  f = compile(&c, &d, "message Ping { u8 x; }\n");
  assert_non_null(f);
  assert_string_equal(f->prefix, "t_");
  assert_string_equal(f->PREFIX, "T_");
  assert_string_equal(f->qual, "t");
  assert_int_equal(msg(f, "Ping")->id, 0x879149b);
  done(c, &d);
}

static void test_sema_enum_values(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d, "enum E : i8 { A = -2, B, C, D = 10, F }\n"
                                "enum U { X, Y = 7, Z }\n");
  assert_non_null(f);
  int64_t want[] = {-2, -1, 0, 10, 11};
  int i = 0;
  for (rkc_enum_value *v = f->enums->values; v; v = v->next, i++) {
    assert_true((int64_t)v->value == want[i]);
    assert_int_equal(v->neg, want[i] < 0);
  }
  assert_int_equal(f->enums->n_values, 5);
  rkc_enum_value *v = f->enums->next->values;
  assert_int_equal(v->value, 0);
  assert_int_equal(v->next->value, 7);
  assert_int_equal(v->next->next->value, 8);
  done(c, &d);
}

static void test_sema_kernel_defaults_and_sizes(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile(&c, &d,
                        "message Small { u8 a; }\nmessage Big { u64 v[8]; }\n"
                        "kernel Plain { on Small s -> Big b {} on Big b {} }\n"
                        "kernel Act { capacity = 8; block = 1; grid = 3; "
                        "actors = 4294967295; backend = cuda;\n"
                        "  state { u8 a; u32 b; } on Small s {} }\n");
  assert_non_null(f);
  rkc_kernel *k = f->kernels;
  assert_int_equal(k->capacity, 1024);
  assert_int_equal(k->block, 128);
  assert_int_equal(k->grid, 0);
  assert_int_equal(k->actors, 1);
  assert_int_equal(k->backend, RKC_BACKEND_AUTO);
  assert_int_equal(k->n_handlers, 2);
  assert_int_equal(k->req_max, 64);
  assert_int_equal(k->resp_max, 64);
  assert_false(k->has_state);
  k = k->next;
  assert_int_equal(k->capacity, 8);
  assert_int_equal(k->block, 1);
  assert_int_equal(k->grid, 3);
  assert_int_equal(k->actors, UINT32_MAX);
  assert_int_equal(k->backend, RKC_BACKEND_CUDA);
  assert_int_equal(k->state_size, 8);
  assert_int_equal(k->state_align, 4);
  assert_int_equal(k->state->next->offset, 4);
  assert_int_equal(k->req_max, 1);
  assert_int_equal(k->resp_max, 0);
  done(c, &d);
}

static void test_sema_all_errors_in_one_run(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  char b[256];
  assert_null(compile(&c, &d, "message A { Foo f; u8 int; }\n"
                              "kernel K { capacity = 3; on u8 x {} }\n"));
  assert_int_equal(d.n, 4);
  assert_int_equal(rkc_error_count(c), 4);
  assert_string_equal(diags_line(&d, 0, b, sizeof b),
                      "t.rk:1:13: error: unknown type 'Foo'");
  assert_string_equal(diags_line(&d, 3, b, sizeof b),
                      "t.rk:2:29: error: handler type 'u8' is not a message");
  done(c, &d);
}

/* ---- imports, with files in a temporary folder ---- */

static char g_dir[64];

static void put(const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", g_dir, name);
  char *slash = strrchr(p, '/');
  *slash = '\0';
  mkdir(p, 0700);
  *slash = '/';
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup_dir(void **state) {
  (void)state;
  strcpy(g_dir, "/tmp/rkc_sema_XXXXXX");
  if (mkdtemp(g_dir) == NULL)
    return -1;
  put("geo.rk", "package geo;\nmessage Point { f32 x; f32 y; }\n"
                "enum Color : u8 { RED, BLUE }\nconst u32 MAX = 3;\n");
  put("main.rk", "package app;\nimport \"geo.rk\";\nimport \"lib.rk\";\n"
                 "message Shape { geo.Point a; Point b; geo.Color c = BLUE;"
                 " Thing t; u8 v[geo.MAX]; u8 w[MAX]; }\n");
  put("inc1/lib.rk", "message Thing { u8 one; }\n");
  put("inc2/lib.rk", "message Thing { u16 two; }\n");
  put("amb.rk", "import \"geo.rk\";\nimport \"geo2.rk\";\n"
                "message S { Point p; }\n");
  put("geo2.rk", "package geo2;\nmessage Point { f64 x; }\n");
  put("cyc_a.rk", "import \"cyc_b.rk\";\nmessage A { u8 a; }\n");
  put("cyc_b.rk", "import \"cyc_c.rk\";\nmessage B { u8 b; }\n");
  put("cyc_c.rk", "import \"cyc_a.rk\";\nmessage C { u8 c; }\n");
  put("miss.rk", "\nimport \"none.rk\";\n");
  return 0;
}

static int teardown_dir(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static rkc_file *compile_path(rkc_ctx **c, diags *d, const char *name,
                              const char *inc1, const char *inc2) {
  char p[256];
  memset(d, 0, sizeof *d);
  *c = rkc_new();
  rkc_set_diag(*c, diags_sink, d);
  if (inc1) {
    snprintf(p, sizeof p, "%s/%s", g_dir, inc1);
    assert_int_equal(rkc_add_include_dir(*c, p), 0);
  }
  if (inc2) {
    snprintf(p, sizeof p, "%s/%s", g_dir, inc2);
    assert_int_equal(rkc_add_include_dir(*c, p), 0);
  }
  snprintf(p, sizeof p, "%s/%s", g_dir, name);
  return rkc_compile_file(*c, p);
}

static void test_sema_import_qualified_and_plain(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  rkc_file *f = compile_path(&c, &d, "main.rk", "inc1", "inc2");
  if (f == NULL)
    print_error("%s", d.all);
  assert_non_null(f);
  rkc_message *s = msg(f, "Shape");
  rkc_file *geo = f->imports->file;
  assert_string_equal(geo->package, "geo");
  assert_ptr_equal(field(s, "a")->type.msg, geo->messages);
  assert_ptr_equal(field(s, "b")->type.msg, geo->messages);
  assert_ptr_equal(field(s, "c")->type.enm, geo->enums);
  assert_int_equal(field(s, "v")->count, 3);
  assert_int_equal(field(s, "w")->count, 3);
  /* -I folders in order: inc1's lib.rk wins */
  assert_string_equal(field(s, "t")->type.msg->fields->name, "one");
  assert_int_equal(rkc_file_count(c), 3);
  assert_ptr_equal(rkc_file_at(c, 0), f);
  assert_null(rkc_file_at(c, 3));
  /* a second compile of the same path reuses the checked file */
  char p[256];
  snprintf(p, sizeof p, "%s/main.rk", g_dir);
  assert_ptr_equal(rkc_compile_file(c, p), f);
  assert_int_equal(rkc_file_count(c), 3);
  done(c, &d);
  f = compile_path(&c, &d, "main.rk", "inc2", "inc1");
  assert_non_null(f);
  assert_string_equal(field(msg(f, "Shape"), "t")->type.msg->fields->name,
                      "two");
  done(c, &d);
}

static void test_sema_import_ambiguous(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  char b[512], want[512];
  assert_null(compile_path(&c, &d, "amb.rk", NULL, NULL));
  assert_int_equal(d.n, 1);
  snprintf(want, sizeof want, "%s/amb.rk:3:13: error: 'Point' is ambiguous:"
           " declared in %s/geo.rk and in %s/geo2.rk; write geo.Point or "
           "geo2.Point", g_dir, g_dir, g_dir);
  assert_string_equal(diags_line(&d, 0, b, sizeof b), want);
  done(c, &d);
}

static void test_sema_import_missing_says_where(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  char b[1024], want[1024];
  assert_null(compile_path(&c, &d, "miss.rk", "inc1", "inc2"));
  assert_int_equal(d.n, 1);
  snprintf(want, sizeof want, "%s/miss.rk:2:8: error: cannot find import "
           "\"none.rk\" (searched %s/none.rk, %s/inc1/none.rk, "
           "%s/inc2/none.rk)", g_dir, g_dir, g_dir, g_dir);
  assert_string_equal(diags_line(&d, 0, b, sizeof b), want);
  done(c, &d);
}

static void test_sema_import_cycle_named(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  char b[512], want[512];
  assert_null(compile_path(&c, &d, "cyc_a.rk", NULL, NULL));
  assert_int_equal(d.n, 1);
  snprintf(want, sizeof want, "%s/cyc_c.rk:1:8: error: import cycle: "
           "cyc_a.rk -> cyc_b.rk -> cyc_c.rk -> cyc_a.rk", g_dir);
  assert_string_equal(diags_line(&d, 0, b, sizeof b), want);
  done(c, &d);
}

static void test_sema_missing_root(void **state) {
  (void)state;
  rkc_ctx *c;
  diags d;
  assert_null(compile_path(&c, &d, "nothere.rk", NULL, NULL));
  assert_int_equal(d.n, 1);
  assert_non_null(strstr(d.all, "rkc: error: cannot open '"));
  assert_non_null(strstr(d.all, "No such file or directory"));
  done(c, &d);
}

static void test_sema_import_depth_limited(void **state) {
  (void)state;
  char name[32], text[64], b[512], want[512];
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "deep/d%d.rk", i);
    if (i < 299)
      snprintf(text, sizeof text, "import \"d%d.rk\";\nmessage M%d { u8 a; }\n",
               i + 1, i);
    else
      snprintf(text, sizeof text, "message M%d { u8 a; }\n", i);
    put(name, text);
  }
  rkc_ctx *c;
  diags d;
  assert_null(compile_path(&c, &d, "deep/d0.rk", NULL, NULL));
  assert_int_equal(d.n, 1);
  snprintf(want, sizeof want, "%s/deep/d255.rk:1:8: error: imports nested too "
           "deep: at most 256 levels (RKC_MAX_IMPORT_DEPTH)", g_dir);
  assert_string_equal(diags_line(&d, 0, b, sizeof b), want);
  done(c, &d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sema_layout_natural_alignment),
      cmocka_unit_test(test_sema_f32_max_fits),
      cmocka_unit_test(test_sema_dependency_order),
      cmocka_unit_test(test_sema_ids_and_prefixes),
      cmocka_unit_test(test_sema_enum_values),
      cmocka_unit_test(test_sema_kernel_defaults_and_sizes),
      cmocka_unit_test(test_sema_all_errors_in_one_run),
      cmocka_unit_test(test_sema_import_qualified_and_plain),
      cmocka_unit_test(test_sema_import_ambiguous),
      cmocka_unit_test(test_sema_import_missing_says_where),
      cmocka_unit_test(test_sema_import_cycle_named),
      cmocka_unit_test(test_sema_missing_root),
      cmocka_unit_test(test_sema_import_depth_limited),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
