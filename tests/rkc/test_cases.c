/* SPDX-License-Identifier: MIT */
/*
** test_cases.c: runs one compiler case given as data. "ok FILE" must
** compile with no diagnostic; "err FILE" must give exactly the diagnostics
** its "// expect: " lines list, in order. In both, "DIR/" (the case's
** folder) is removed from diagnostics, and the case's own name before
** ":line:col" too, so an expect line reads "3:9: error: unknown type 'Foo'"
** (a diagnostic in another file keeps its relative path: "inc/b.rk:2:1: ...").
*/
#include "rkc_test.h"

static const char *g_mode, *g_file;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

/* Replaces every "DIR/" in s by "" and a leading "NAME:" by "". */
static void normalize(char *s, const char *dir, const char *name) {
  size_t dl = strlen(dir);
  char *p;
  while (dl && (p = strstr(s, dir)) != NULL)
    memmove(p, p + dl, strlen(p + dl) + 1);
  size_t nl = strlen(name);
  if (strncmp(s, name, nl) == 0 && s[nl] == ':')
    memmove(s, s + nl + 1, strlen(s + nl + 1) + 1);
}

static void test_case(void **state) {
  (void)state;
  diags d = {0};
  rkc_ctx *c = rkc_new();
  assert_non_null(c);
  rkc_set_diag(c, diags_sink, &d);
  rkc_file *f = rkc_compile_file(c, g_file);
  const char *slash = strrchr(g_file, '/');
  char dir[4096] = "";
  if (slash)
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - g_file + 1), g_file);
  const char *name = slash ? slash + 1 : g_file;
  if (strcmp(g_mode, "ok") == 0) {
    if (d.n != 0)
      print_error("unexpected diagnostics:\n%s", d.all);
    assert_int_equal(d.n, 0);
    assert_non_null(f);
  } else {
    char *src = slurp(g_file);
    unsigned k = 0, bad = 0;
    for (char *p = strstr(src, "// expect: "); p;
         p = strstr(p + 1, "// expect: ")) {
      char want[1024], got[1024];
      const char *e = p + strlen("// expect: ");
      size_t n = strcspn(e, "\n");
      while (n && e[n - 1] == '\r')
        n--;
      snprintf(want, sizeof want, "%.*s", (int)n, e);
      diags_line(&d, k++, got, sizeof got);
      normalize(got, dir, name);
      if (strcmp(want, got) != 0) {
        print_error("diagnostic %u:\n  want: %s\n  got:  %s\n", k, want, got);
        bad++;
      }
    }
    if (k == 0)
      print_error("%s has no // expect: line\n", g_file);
    if (d.n != k || bad)
      print_error("all diagnostics (%u, expected %u):\n%s", d.n, k,
                  d.all ? d.all : "");
    assert_null(f);
    assert_true(k > 0);
    assert_int_equal(bad, 0);
    assert_int_equal(d.n, k);
    free(src);
  }
  rkc_free(c);
  free(d.all);
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "ok") && strcmp(argv[1], "err"))) {
    fprintf(stderr, "usage: %s ok|err FILE.rk\n", argv[0]);
    return 2;
  }
  g_mode = argv[1];
  g_file = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_case),
  };
  return cmocka_run_group_tests_name(g_file, tests, NULL, NULL);
}
