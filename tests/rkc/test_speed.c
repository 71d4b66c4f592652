/* SPDX-License-Identifier: MIT */
/*
** test_speed.c: the front end on generated schemas of 2,000, 4,000 and
** 16,000 messages (fields, arrays with @len, nested messages, enums, consts,
** a kernel with a handler per 10 messages) must take well under a second
** and grow linearly: 4x the messages may cost at most 8x the time (a
** quadratic pass would cost 16x). Prints the times (ctest -V shows them).
*/
#include <time.h>
#include <unistd.h>

#include "rkc_test.h"

/* Writes a schema of n messages to path. */
static void gen_schema(const char *path, unsigned n) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "package speed.test;\nconst u32 MAX = 64;\n");
  fprintf(f, "enum Kind : u16 { K0, K1, K2 = 7 }\n");
  for (unsigned i = 0; i < n; i++) {
    fprintf(f, "/// Message %u.\nmessage M%u {\n  u32 n;\n  Kind k = K1;\n"
               "  f32 v[MAX] @len(n);\n  i64 t = -5;\n  bool ok;\n", i, i);
    if (i > 0)
      fprintf(f, "  M%u prev;\n", i - 1 < 8 ? i - 1 : i % 8);
    fprintf(f, "}\n");
  }
  fprintf(f, "kernel K {\n  capacity = 1024;\n  state { u64 c; }\n");
  for (unsigned i = 0; i < n; i += 10)
    fprintf(f, "  on M%u r%u -> M%u s%u { s%u->n = r%u->n; }\n", i, i,
            (i + 1) % n, i, i, i);
  fprintf(f, "}\n");
  fclose(f);
}

static double time_compile(const char *path) {
  struct timespec a, b;
  rkc_ctx *c = rkc_new();
  assert_non_null(c);
  clock_gettime(CLOCK_MONOTONIC, &a);
  rkc_file *f = rkc_compile_file(c, path);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_non_null(f);
  assert_int_equal(rkc_error_count(c), 0);
  rkc_free(c);
  return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
}

/* Best of three runs, to be robust on a shared machine. */
static double best_of(const char *path) {
  double t = 1e9;
  for (int i = 0; i < 3; i++) {
    double x = time_compile(path);
    if (x < t)
      t = x;
  }
  return t;
}

static void test_speed_linear(void **state) {
  (void)state;
  char dir[] = "/tmp/rkc_speed_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p2[64], p4[64], p16[64];
  snprintf(p2, sizeof p2, "%s/m2000.rk", dir);
  snprintf(p4, sizeof p4, "%s/m4000.rk", dir);
  snprintf(p16, sizeof p16, "%s/m16000.rk", dir);
  gen_schema(p2, 2000);
  gen_schema(p4, 4000);
  gen_schema(p16, 16000);
  double t2 = best_of(p2), t4 = best_of(p4), t16 = best_of(p16);
  printf("rkc front end: 2000 messages %.1f ms, 4000 messages %.1f ms, "
         "16000 messages %.1f ms (16000/4000: %.2fx)\n", t2 * 1e3, t4 * 1e3,
         t16 * 1e3, t16 / t4);
  remove(p2);
  remove(p4);
  remove(p16);
  rmdir(dir);
  assert_true(t2 < 0.5);
  assert_true(t16 / t4 < 8.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_speed_linear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
