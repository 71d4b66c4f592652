/* SPDX-License-Identifier: MIT */
/*
** test_gen.c: rkc_generate through the library (rkc_core): the same input
** gives the same bytes, the outputs reported, no temporary file left, an
** unwritable folder reported with nothing written, #line directives that
** point at the right lines, the manifest, and a 2,000-message schema.
*/
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rkc.h"

static void quiet(void *user, const char *text) {
  (void)user;
  (void)text;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  p[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return p;
}

static char *tmpdir(void) {
  char tmpl[] = "/tmp/rkc-gen-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return strdup(d);
}

static void rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[4096];
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0)) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(dir);
}

/* Compiles path and generates everything into dir; returns the outputs. */
static const char **gen(rkc_ctx *c, const char *path, const char *dir, unsigned emit) {
  rkc_set_diag(c, quiet, NULL);
  rkc_file *f = rkc_compile_file(c, path);
  assert_non_null(f);
  const char **outs = NULL;
  assert_int_equal(rkc_generate(c, f, emit, dir, &outs), 0);
  return outs;
}

static const char *const ok_schemas[] = {"bank", "common", "everything", "nopackage", "vecadd"};

static void test_gen_same_input_same_bytes(void **st) {
  (void)st;
  for (size_t i = 0; i < sizeof ok_schemas / sizeof *ok_schemas; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ok/%s.rk", RKC_TEST_DIR, ok_schemas[i]);
    char *a = tmpdir(), *b = tmpdir();
    rkc_ctx *c1 = rkc_new(), *c2 = rkc_new();
    const char **o1 = gen(c1, path, a, RKC_EMIT_C | RKC_EMIT_CUDA | RKC_EMIT_MANIFEST);
    const char **o2 = gen(c2, path, b, RKC_EMIT_C | RKC_EMIT_CUDA | RKC_EMIT_MANIFEST);
    for (size_t k = 0; o1[k]; k++) {
      assert_non_null(o2[k]);
      size_t n1, n2;
      char *t1 = read_all(o1[k], &n1), *t2 = read_all(o2[k], &n2);
      assert_non_null(t1);
      assert_int_equal(n1, n2);
      assert_memory_equal(t1, t2, n1);
      free(t1);
      free(t2);
    }
    rkc_free(c1);
    rkc_free(c2);
    rmtree(a);
    rmtree(b);
    free(a);
    free(b);
  }
}

static void test_gen_outputs_listed_and_no_temporaries(void **st) {
  (void)st;
  char path[1024];
  snprintf(path, sizeof path, "%s/ok/vecadd.rk", RKC_TEST_DIR);
  char *d = tmpdir();
  rkc_ctx *c = rkc_new();
  const char **o = gen(c, path, d, RKC_EMIT_C);
  assert_non_null(o[0]);
  assert_non_null(strstr(o[0], "/vecadd.rk.h"));
  assert_non_null(strstr(o[1], "/vecadd.rk.c"));
  assert_null(o[2]);
  o = gen(c, path, d, RKC_EMIT_CUDA | RKC_EMIT_MANIFEST);
  assert_non_null(strstr(o[0], "/vecadd.rk.cu"));
  assert_non_null(strstr(o[1], "/vecadd.rk.yaml"));
  assert_null(o[2]);
  DIR *dd = opendir(d);
  struct dirent *e;
  int files = 0;
  while ((e = readdir(dd)))
    if (e->d_name[0] != '.') {
      files++;
      assert_null(strstr(e->d_name, "tmp"));
    }
  closedir(dd);
  assert_int_equal(files, 4);
  rkc_free(c);
  rmtree(d);
  free(d);
}

static void test_gen_unwritable_folder_is_an_error(void **st) {
  (void)st;
  char path[1024];
  snprintf(path, sizeof path, "%s/ok/vecadd.rk", RKC_TEST_DIR);
  rkc_ctx *c = rkc_new();
  rkc_set_diag(c, quiet, NULL);
  rkc_file *f = rkc_compile_file(c, path);
  assert_non_null(f);
  unsigned before = rkc_error_count(c);
  assert_int_equal(rkc_generate(c, f, RKC_EMIT_C, "/nonexistent/dir", NULL), -1);
  assert_true(rkc_error_count(c) > before);
  rkc_free(c);
}

/* Every "#line N "NAME"" back into the generated file names the next line. */
static void check_lines(const char *text, const char *self) {
  unsigned line = 1, checked = 0;
  for (const char *p = text; *p; p++) {
    if ((p == text || p[-1] == '\n') && strncmp(p, "#line ", 6) == 0) {
      unsigned n = 0;
      char name[256];
      assert_int_equal(sscanf(p, "#line %u \"%255[^\"]\"", &n, name), 2);
      if (strcmp(name, self) == 0) {
        assert_int_equal(n, line + 1);
        checked++;
      } else {
        size_t k = strlen(name); /* else it points into the schema */
        if (k < 3 || strcmp(name + k - 3, ".rk") != 0)
          fail_msg("#line %u names '%s', neither %s nor a schema", n, name, self);
      }
    }
    if (*p == '\n') line++;
  }
  assert_true(checked > 0);
}

static void test_gen_line_directives_point_back(void **st) {
  (void)st;
  char path[1024], out[1100];
  snprintf(path, sizeof path, "%s/ok/everything.rk", RKC_TEST_DIR);
  char *d = tmpdir();
  rkc_ctx *c = rkc_new();
  gen(c, path, d, RKC_EMIT_C | RKC_EMIT_CUDA);
  snprintf(out, sizeof out, "%s/everything.rk.c", d);
  char *t = read_all(out, NULL);
  check_lines(t, "everything.rk.c");
  /* the handler body follows a #line naming its place in the schema */
  assert_non_null(strstr(t, "everything.rk\"\n\n    state->count++;"));
  free(t);
  snprintf(out, sizeof out, "%s/everything.rk.cu", d);
  t = read_all(out, NULL);
  check_lines(t, "everything.rk.cu");
  assert_null(strstr(t, "#include"));
  free(t);
  rkc_free(c);
  rmtree(d);
  free(d);
}

static void test_gen_manifest_describes_layout(void **st) {
  (void)st;
  char path[1024], out[1100];
  snprintf(path, sizeof path, "%s/ok/vecadd.rk", RKC_TEST_DIR);
  char *d = tmpdir();
  rkc_ctx *c = rkc_new();
  gen(c, path, d, RKC_EMIT_MANIFEST);
  snprintf(out, sizeof out, "%s/vecadd.rk.yaml", d);
  char *t = read_all(out, NULL);
  assert_non_null(t);
  assert_non_null(strstr(t, "messages:"));
  assert_non_null(strstr(t, "name: VectorAddRequest"));
  assert_non_null(strstr(t, "offset:"));
  /* n is quoted: YAML 1.1 reads a plain n as the boolean false */
  assert_non_null(strstr(t, "len: \"n\""));
  assert_non_null(strstr(t, "kernels:"));
  free(t);
  rkc_free(c);
  rmtree(d);
  free(d);
}

/* 2,000 messages and a kernel handling each: generation stays fast. */
static void test_gen_large_schema_is_fast(void **st) {
  (void)st;
  size_t cap = 1u << 20, len = 0;
  char *src = malloc(cap);
  assert_non_null(src);
  len += (size_t)snprintf(src + len, cap - len, "package big;\n");
  for (int i = 0; i < 2000; i++)
    len += (size_t)snprintf(src + len, cap - len,
                            "message M%d { u32 a; f32 v[4] @len(a); bool b = true; }\n", i);
  len += (size_t)snprintf(src + len, cap - len, "kernel K {\n");
  for (int i = 0; i < 2000; i++)
    len += (size_t)snprintf(src + len, cap - len, "  on M%d r -> M%d s { s->a = r->a; }\n", i,
                            (i + 1) % 2000);
  len += (size_t)snprintf(src + len, cap - len, "}\n");
  char *d = tmpdir();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  rkc_ctx *c = rkc_new();
  rkc_set_diag(c, quiet, NULL);
  rkc_file *f = rkc_compile_string(c, "big.rk", src, len);
  assert_non_null(f);
  assert_int_equal(rkc_generate(c, f, RKC_EMIT_C | RKC_EMIT_CUDA | RKC_EMIT_MANIFEST, d, NULL), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("# 2000 messages, 2000 handlers: compile + generate in %.3f s\n", s);
  assert_true(s < 3.0); /* well under a second on an idle machine */
  rkc_free(c);
  rmtree(d);
  free(d);
  free(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gen_same_input_same_bytes),
      cmocka_unit_test(test_gen_outputs_listed_and_no_temporaries),
      cmocka_unit_test(test_gen_unwritable_folder_is_an_error),
      cmocka_unit_test(test_gen_line_directives_point_back),
      cmocka_unit_test(test_gen_manifest_describes_layout),
      cmocka_unit_test(test_gen_large_schema_is_fast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
