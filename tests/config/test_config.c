/* SPDX-License-Identifier: MIT */
/*
** test_config.c: librk's YAML configuration (runtime/config.c). Valid
** configs, then one test per kind of error (each asserting RK_E_CONFIG, a
** NULL config, the 1-based line:col and what was expected), then
** rk_config_set, clone, and a replay of the fuzzer's corpus.
*/
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "rk.h"

/* ---------------------------------------------------------- helpers */

static rk_config *load_ok(const char *yaml) {
  rk_config *cfg = NULL;
  rk_status st = rk_config_load_yaml_string(yaml, strlen(yaml), "t.yaml", &cfg);
  if (st != RK_OK) print_error("unexpected: %s\n", rk_error_detail());
  assert_int_equal(st, RK_OK);
  assert_non_null(cfg);
  assert_string_equal(rk_error_detail(), "");
  return cfg;
}

/* Loads len bytes that must fail with RK_E_CONFIG at line:col, with
** fragment in the detail. */
static void expect_error_n(const char *yaml, size_t len, int line, int col,
                           const char *fragment) {
  char prefix[64];
  rk_config *cfg = (rk_config *)&prefix; /* must become NULL */
  rk_status st = rk_config_load_yaml_string(yaml, len, "t.yaml", &cfg);
  const char *d = rk_error_detail();
  snprintf(prefix, sizeof prefix, "t.yaml:%d:%d: ", line, col);
  if (st != RK_E_CONFIG || strncmp(d, prefix, strlen(prefix)) != 0 ||
      !strstr(d, fragment))
    print_error("input:\n%s\ngot %s: '%s'\nwanted '%s...%s'\n", yaml,
                rk_status_str(st), d, prefix, fragment);
  assert_int_equal(st, RK_E_CONFIG);
  assert_null(cfg);
  assert_true(strncmp(d, prefix, strlen(prefix)) == 0);
  assert_non_null(strstr(d, fragment));
}

static void expect_error(const char *yaml, int line, int col,
                         const char *fragment) {
  expect_error_n(yaml, strlen(yaml), line, col, fragment);
}

/* ------------------------------------------------------- valid input */

static void test_config_spec_example_loads(void **state) {
  /* runtime.md "Configuration", verbatim. */
  static const char yaml[] =
      "backend: auto          # auto | cuda | cpu\n"
      "device: 0\n"
      "cache_dir: ~/.cache/rk # compiled kernel images\n"
      "log_level: info        # error | warn | info | debug\n"
      "kernels:\n"
      "  VectorAddProcessor:\n"
      "    capacity: 8192\n"
      "    block: 256\n"
      "    grid: auto\n"
      "    cpu_threads: 4     # workers on the CPU backend\n";
  rk_settings s;
  rk_kernel_cfg k;
  rk_config *cfg;
  setenv("HOME", "/home/tester", 1);
  cfg = load_ok(yaml);
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend, RK_BACKEND_AUTO);
  assert_int_equal(s.backend_from_config, 1);
  assert_int_equal(s.backend_from_program, 0);
  assert_int_equal(s.device, 0);
  assert_int_equal(s.log_level, RK_LOG_INFO);
  assert_string_equal(s.cache_dir, "/home/tester/.cache/rk");
  rk__config_kernel(cfg, "VectorAddProcessor", &k);
  assert_int_equal(k.capacity, 8192);
  assert_int_equal(k.block, 256);
  assert_int_equal(k.grid, 0);
  assert_int_equal(k.grid_auto, 1);
  assert_int_equal(k.cpu_threads, 4);
  assert_int_equal(k.has_backend, 0);
  rk_config_free(cfg);
  (void)state;
}

static void test_config_two_kernels_override_separately(void **state) {
  rk_config *cfg = load_ok("backend: cpu\n"
                           "device: 3\n"
                           "log_level: debug\n"
                           "kernels:\n"
                           "  A:\n"
                           "    capacity: 2\n"
                           "    grid: 65535\n"
                           "    backend: cuda\n"
                           "  B_2: {block: 1024, cpu_threads: 1}\n");
  rk_settings s;
  rk_kernel_cfg k;
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend, RK_BACKEND_CPU);
  assert_int_equal(s.device, 3);
  assert_int_equal(s.log_level, RK_LOG_DEBUG);
  assert_string_equal(s.cache_dir, "");
  rk__config_kernel(cfg, "A", &k);
  assert_int_equal(k.capacity, 2);
  assert_int_equal(k.grid, 65535);
  assert_int_equal(k.grid_auto, 0);
  assert_int_equal(k.block, 0);
  assert_int_equal(k.has_backend, 1);
  assert_int_equal(k.backend, RK_BACKEND_CUDA);
  rk__config_kernel(cfg, "B_2", &k);
  assert_int_equal(k.block, 1024);
  assert_int_equal(k.cpu_threads, 1);
  assert_int_equal(k.capacity, 0);
  assert_int_equal(k.has_backend, 0);
  rk__config_kernel(cfg, "Missing", &k); /* not configured: all zero */
  assert_int_equal(k.capacity + k.block + k.grid + k.cpu_threads, 0);
  assert_int_equal(k.grid_auto + k.has_backend, 0);
  rk_config_free(cfg);
  (void)state;
}

static void test_config_empty_inputs_are_defaults(void **state) {
  static const char *const inputs[] = {"", "# only a comment\n", "---\n",
                                       "---\n...\n", "{}"};
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    rk_config *cfg = load_ok(inputs[i]);
    rk_settings s;
    rk__config_settings(cfg, &s);
    assert_int_equal(s.backend, RK_BACKEND_AUTO);
    assert_int_equal(s.backend_from_config, 0);
    assert_int_equal(s.device, 0);
    assert_int_equal(s.log_level, RK_LOG_INFO);
    assert_string_equal(s.cache_dir, "");
    rk_config_free(cfg);
  }
  (void)state;
}

static void test_config_new_and_null_are_defaults(void **state) {
  rk_config *cfg = NULL;
  rk_settings a, b;
  rk_kernel_cfg k;
  assert_int_equal(rk_config_new(&cfg), RK_OK);
  rk__config_settings(cfg, &a);
  rk__config_settings(NULL, &b);
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(a.backend, RK_BACKEND_AUTO);
  assert_int_equal(a.log_level, RK_LOG_INFO);
  rk__config_kernel(NULL, "A", &k);
  assert_int_equal(k.capacity, 0);
  rk_config_free(cfg);
  rk_config_free(NULL);
  (void)state;
}

static void test_config_utf8_bom_accepted(void **state) {
  /* A UTF-8 BOM at the start is skipped; positions ignore it. */
  rk_config *cfg = load_ok("\xef\xbb\xbf" "device: 2\n");
  rk_settings s;
  rk__config_settings(cfg, &s);
  assert_int_equal(s.device, 2);
  rk_config_free(cfg);
  expect_error("\xef\xbb\xbf" "devic: 2\n", 1, 1, "unknown key 'devic'");
  (void)state;
}

static void test_config_load_file(void **state) {
  char path[] = "/tmp/rk_test_config_XXXXXX";
  int fd = mkstemp(path);
  FILE *f;
  rk_config *cfg = NULL;
  rk_settings s;
  char prefix[128];
  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  assert_non_null(f);
  fputs("backend: cpu\nlog_level: warn\n", f);
  fclose(f);
  assert_int_equal(rk_config_load_yaml(path, &cfg), RK_OK);
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend, RK_BACKEND_CPU);
  assert_int_equal(s.log_level, RK_LOG_WARN);
  rk_config_free(cfg);
  /* errors name the file */
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("backend: cpu\nlog_level: loud\n", f);
  fclose(f);
  assert_int_equal(rk_config_load_yaml(path, &cfg), RK_E_CONFIG);
  assert_null(cfg);
  snprintf(prefix, sizeof prefix, "%s:2:12: log_level: expected error, warn,"
           " info or debug, got 'loud'", path);
  assert_string_equal(rk_error_detail(), prefix);
  unlink(path);
  /* a missing file is an I/O error that names it */
  assert_int_equal(rk_config_load_yaml(path, &cfg), RK_E_IO);
  assert_null(cfg);
  assert_non_null(strstr(rk_error_detail(), path));
  (void)state;
}

/* ----------------------------------------------------- schema errors */

static void test_config_unknown_key(void **state) {
  expect_error("device: 0\nbakend: cpu\n", 2, 1,
               "unknown key 'bakend' (expected backend, device, cache_dir, "
               "log_level or kernels)");
  expect_error("kernels:\n  K:\n    capacity: 8\n    threads: 2\n", 4, 5,
               "kernels.K: unknown key 'threads' (expected capacity, block, "
               "grid, cpu_threads or backend)");
  (void)state;
}

static void test_config_duplicate_key(void **state) {
  expect_error("device: 0\nlog_level: info\ndevice: 1\n", 3, 1,
               "duplicate key 'device' (first at 1:1)");
  expect_error("kernels:\n  K:\n    block: 8\n    block: 16\n", 4, 5,
               "kernels.K: duplicate key 'block' (first at 3:5)");
  expect_error("kernels:\n  K: {}\n  L: {}\n  K: {}\n", 4, 3,
               "duplicate kernel 'K' (first at 2:3)");
  expect_error("kernels: {}\nkernels: {}\n", 2, 1, "duplicate key 'kernels'");
  (void)state;
}

static void test_config_wrong_type(void **state) {
  expect_error("device: {a: 1}\n", 1, 9,
               "device: expected an integer, got a mapping");
  expect_error("backend:\n  - cpu\n", 2, 3,
               "backend: expected auto, cuda or cpu, got a sequence");
  expect_error("kernels: K\n", 1, 10,
               "kernels: expected a mapping of kernel names, got a plain");
  expect_error("kernels:\n  K: 5\n", 2, 6,
               "kernels.K: expected a mapping of capacity");
  expect_error("kernels:\n  K:\n", 2, 5, "got an empty value");
  expect_error("- device\n", 1, 1, "at the top level, got a sequence");
  expect_error("just text\n", 1, 1, "at the top level, got a plain scalar");
  expect_error("{a: b}: 1\n", 1, 1, "expected a key name, got a mapping");
  /* numbers are unquoted: "8" is a string */
  expect_error("device: \"1\"\n", 1, 9,
               "device: expected an unquoted integer, got a quoted string");
  expect_error("kernels:\n  K: {grid: '4'}\n", 2, 13,
               "expected an unquoted integer or auto");
  (void)state;
}

static void test_config_bad_value(void **state) {
  expect_error("kernels:\n  K:\n    capacity: 1000\n", 3, 15,
               "kernels.K.capacity: expected a power of two from 2 to "
               "1073741824, got 1000");
  expect_error("kernels:\n  K: {capacity: 2147483648}\n", 2, 17,
               "from 2 to 1073741824, got '2147483648' (out of range)");
  expect_error("kernels:\n  K: {capacity: 1}\n", 2, 17, "(out of range)");
  expect_error("kernels:\n  K: {block: 0}\n", 2, 14,
               "expected an integer from 1 to 1024, got '0'");
  expect_error("kernels:\n  K: {block: 1025}\n", 2, 14, "(out of range)");
  expect_error("kernels:\n  K: {grid: 65536}\n", 2, 13, "or auto");
  expect_error("kernels:\n  K: {cpu_threads: 2000}\n", 2, 20,
               "from 1 to 1024");
  expect_error("device: -1\n", 1, 9, "got '-1' (negative)");
  expect_error("device: 12abc\n", 1, 9, "got '12abc' (trailing characters)");
  expect_error("device: 1.0\n", 1, 9, "(trailing characters)");
  expect_error("device: 0x10\n", 1, 9, "(trailing characters)");
  expect_error("device: 010\n", 1, 9, "without leading zeros");
  expect_error("device: 99999999999999999999999\n", 1, 9, "(out of range)");
  expect_error("device:\n", 1, 8, "device: expected an integer");
  expect_error("device: ''\n", 1, 9, "got a quoted string");
  expect_error("backend: gpu\n", 1, 10,
               "backend: expected auto, cuda or cpu, got 'gpu'");
  expect_error("backend:\n", 1, 9, "expected auto, cuda or cpu, got ''");
  expect_error("log_level: INFO\n", 1, 12, "got 'INFO'");
  expect_error("kernels:\n  K: {backend: opencl}\n", 2, 16,
               "kernels.K.backend: expected auto, cuda or cpu");
  expect_error("cache_dir: ''\n", 1, 12,
               "cache_dir: expected a directory path, got an empty value");
  expect_error("cache_dir: ~bob/x\n", 1, 12, "not ~user");
  expect_error("kernels:\n  9K: {}\n", 2, 3,
               "kernels: expected a kernel name (letters, digits and _");
  expect_error("kernels:\n  a.b: {}\n", 2, 3, "got 'a.b'");
  (void)state;
}

static void test_config_yaml_booleans_refused(void **state) {
  expect_error("device: yes\n", 1, 9, "got 'yes' (a YAML boolean)");
  expect_error("kernels:\n  K: {cpu_threads: on}\n", 2, 20,
               "(a YAML boolean)");
  expect_error("kernels:\n  K: {grid: false}\n", 2, 13,
               "got 'false' (a YAML boolean) or auto");
  /* for the enum-like strings a boolean is simply not one of the values */
  expect_error("backend: no\n", 1, 10, "expected auto, cuda or cpu, got 'no'");
  expect_error("log_level: off\n", 1, 12, "got 'off'");
  /* a path that YAML 1.1 reads as a boolean or null must be quoted */
  expect_error("cache_dir: off\n", 1, 12,
               "expected a directory path, got 'off', a YAML boolean");
  expect_error("cache_dir: ~\n", 1, 12, "a YAML null");
  {
    rk_config *cfg = load_ok("cache_dir: 'off'\n");
    rk_settings s;
    rk__config_settings(cfg, &s);
    assert_string_equal(s.cache_dir, "off");
    rk_config_free(cfg);
  }
  (void)state;
}

static void test_config_cache_dir_home(void **state) {
  rk_config *cfg;
  rk_settings s;
  char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("HOME", "/h", 1);
  cfg = load_ok("cache_dir: \"~\"\n");
  rk__config_settings(cfg, &s);
  assert_string_equal(s.cache_dir, "/h");
  rk_config_free(cfg);
  cfg = load_ok("cache_dir: /abs/~/x\n");
  rk__config_settings(cfg, &s);
  assert_string_equal(s.cache_dir, "/abs/~/x"); /* only a leading ~ */
  rk_config_free(cfg);
  unsetenv("HOME");
  expect_error("cache_dir: ~/x\n", 1, 12, "HOME is not set");
  if (old) setenv("HOME", old, 1);
  free(old);
  (void)state;
}

/* ------------------------------------------------- YAML-level errors */

static void test_config_syntax_error_has_position(void **state) {
  expect_error("device: 0\nbackend: [cpu\n", 3, 1,
               "syntax error: did not find expected ',' or ']'");
  expect_error("device: 0\n  backend: cpu\n", 2, 10,
               "syntax error: mapping values are not allowed");
  expect_error("a: 'unterminated\n", 2, 1, "syntax error: found unexpected "
               "end of stream (while scanning a quoted scalar at 1:4)");
  (void)state;
}

static void test_config_control_bytes_refused(void **state) {
  static const char nul[] = "device: 0\nback\0end: cpu\n";
  expect_error_n(nul, sizeof nul - 1, 2, 5, "control characters are not "
                 "allowed");
  expect_error("device: 0\nlog_level: \xff\n", 2, 12, "(byte 0xff): "
               "expected UTF-8 text");
  /* a NUL written as an escape reaches the value: refused there */
  expect_error("cache_dir: \"/a\\0b\"\n", 1, 12, "got a NUL character");
  (void)state;
}

static void test_config_nesting_deeper_than_32(void **state) {
  char yaml[256];
  size_t o = (size_t)snprintf(yaml, sizeof yaml, "device: ");
  for (int i = 0; i < 40; i++) yaml[o++] = '[';
  for (int i = 0; i < 40; i++) yaml[o++] = ']';
  yaml[o++] = '\n';
  yaml[o] = '\0';
  /* the root mapping is level 1: the 32nd '[' is level 33, column 9 + 31 */
  expect_error(yaml, 1, 40, "nested deeper than 32 levels");
  (void)state;
}

static void test_config_anchors_and_aliases_refused(void **state) {
  expect_error("kernels:\n  A: &k {block: 8}\n  B: *k\n", 2, 6,
               "anchors and aliases are not supported");
  expect_error("device: *x\n", 1, 9, "anchors and aliases are not supported");
  expect_error("kernels:\n  A: {block: 8}\n  <<: *A\n", 3, 7,
               "anchors and aliases are not supported");
  (void)state;
}

static void test_config_tags_refused(void **state) {
  expect_error("device: !!int 3\n", 1, 9, "tags are not supported");
  expect_error("kernels: !!map {}\n", 1, 10, "tags are not supported");
  expect_error("%TAG !e! tag:example.com,2000:\n---\ndevice: 1\n", 1, 1,
               "tags are not supported (%TAG directive)");
  (void)state;
}

static void test_config_multiple_documents_refused(void **state) {
  expect_error("device: 0\n---\ndevice: 1\n", 2, 1,
               "a second document: expected one YAML document per config");
  expect_error("---\n...\n---\n", 3, 1, "a second document");
  (void)state;
}

static void test_config_utf16_bom_refused(void **state) {
  static const char le[] = "\xff\xfe" "d\0:\0";
  static const char be[] = "\xfe\xff" "\0d\0:";
  expect_error_n(le, sizeof le - 1, 1, 1, "UTF-16 or UTF-32 byte-order mark");
  expect_error_n(be, sizeof be - 1, 1, 1, "expected UTF-8 text");
  (void)state;
}

static void test_config_yaml_error_wins_over_schema_error(void **state) {
  /* the unknown key comes first, but the alias later is what is wrong with
  ** the file as YAML: it is reported. */
  expect_error("bakend: cpu\ndevice: *a\n", 2, 9, "anchors and aliases");
  expect_error("bakend: cpu\ndevice: [0\n", 3, 1, "syntax error");
  (void)state;
}

static void test_config_too_large_refused(void **state) {
  size_t n = (1u << 20) + 1;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, '#', n);
  expect_error_n(big, n, 1, 1, "expected a config of at most 1048576 bytes");
  free(big);
  (void)state;
}

static void test_config_null_arguments(void **state) {
  rk_config *cfg = NULL;
  assert_int_equal(rk_config_load_yaml_string("x", 1, NULL, NULL),
                   RK_E_INVALID);
  assert_int_equal(rk_config_load_yaml_string(NULL, 3, NULL, &cfg),
                   RK_E_INVALID);
  assert_null(cfg);
  assert_int_equal(rk_config_load_yaml_string(NULL, 0, NULL, &cfg), RK_OK);
  rk_config_free(cfg);
  assert_int_equal(rk_config_load_yaml_string("x: 1", 4, NULL, &cfg),
                   RK_E_CONFIG);
  assert_true(strncmp(rk_error_detail(), "<string>:1:1: ", 14) == 0);
  assert_int_equal(rk_config_load_yaml(NULL, &cfg), RK_E_INVALID);
  assert_int_equal(rk_config_new(NULL), RK_E_INVALID);
  assert_int_equal(rk_config_set(NULL, "device", "1"), RK_E_INVALID);
  (void)state;
}

/* ----------------------------------------------------- rk_config_set */

static void test_config_set_valid(void **state) {
  rk_config *cfg = NULL;
  rk_settings s;
  rk_kernel_cfg k;
  assert_int_equal(rk_config_new(&cfg), RK_OK);
  assert_int_equal(rk_config_set(cfg, "backend", "cpu"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "device", "7"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "log_level", "error"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "cache_dir", "/var/rk"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "cache_dir", "/var/rk2"), RK_OK);
  assert_int_equal(
      rk_config_set(cfg, "kernels.VectorAddProcessor.cpu_threads", "4"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "kernels.VectorAddProcessor.grid",
                                 "auto"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "kernels.Other.capacity", "1024"),
                   RK_OK);
  assert_int_equal(rk_config_set(cfg, "kernels.Other.backend", "cuda"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "kernels.Other.block", "32"), RK_OK);
  assert_string_equal(rk_error_detail(), "");
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend, RK_BACKEND_CPU);
  assert_int_equal(s.backend_from_program, 1);
  assert_int_equal(s.backend_from_config, 1);
  assert_int_equal(s.device, 7);
  assert_int_equal(s.log_level, RK_LOG_ERROR);
  assert_string_equal(s.cache_dir, "/var/rk2");
  rk__config_kernel(cfg, "VectorAddProcessor", &k);
  assert_int_equal(k.cpu_threads, 4);
  assert_int_equal(k.grid_auto, 1);
  rk__config_kernel(cfg, "Other", &k);
  assert_int_equal(k.capacity, 1024);
  assert_int_equal(k.block, 32);
  assert_int_equal(k.backend, RK_BACKEND_CUDA);
  assert_int_equal(k.has_backend, 1);
  rk_config_free(cfg);
  (void)state;
}

static void test_config_set_from_yaml_backend_is_not_program(void **state) {
  rk_config *cfg = load_ok("backend: cuda\n");
  rk_settings s;
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend_from_program, 0);
  assert_int_equal(rk_config_set(cfg, "device", "1"), RK_OK);
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend_from_program, 0); /* only "backend" marks it */
  assert_int_equal(rk_config_set(cfg, "backend", "auto"), RK_OK);
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend_from_program, 1);
  assert_int_equal(s.backend, RK_BACKEND_AUTO);
  rk_config_free(cfg);
  (void)state;
}

static void expect_set_error(rk_config *cfg, const char *key,
                             const char *value, const char *fragment) {
  rk_status st = rk_config_set(cfg, key, value);
  if (st != RK_E_CONFIG || !strstr(rk_error_detail(), fragment))
    print_error("%s=%s: %s '%s'\n", key, value, rk_status_str(st),
                rk_error_detail());
  assert_int_equal(st, RK_E_CONFIG);
  assert_non_null(strstr(rk_error_detail(), fragment));
}

static void test_config_set_invalid(void **state) {
  rk_config *cfg = NULL;
  rk_settings s;
  rk_kernel_cfg k;
  assert_int_equal(rk_config_new(&cfg), RK_OK);
  assert_int_equal(rk_config_set(cfg, "kernels.K.block", "64"), RK_OK);
  expect_set_error(cfg, "bakend", "cpu", "unknown key 'bakend'");
  expect_set_error(cfg, "kernels", "x", "unknown key 'kernels'");
  expect_set_error(cfg, "kernels.K", "8", "unknown key 'kernels.K'");
  expect_set_error(cfg, "kernels.K.threads", "8", "FIELD one of capacity");
  expect_set_error(cfg, "kernels.9.block", "8", "unknown key");
  expect_set_error(cfg, "backend", "gpu", "backend: expected auto, cuda or cpu");
  expect_set_error(cfg, "device", "yes", "(a YAML boolean)");
  expect_set_error(cfg, "device", "-2", "(negative)");
  expect_set_error(cfg, "device", "", "got an empty value");
  expect_set_error(cfg, "kernels.K.capacity", "12",
                   "kernels.K.capacity: expected a power of two");
  expect_set_error(cfg, "kernels.K.block", "64 ", "(trailing characters)");
  expect_set_error(cfg, "kernels.K.grid", "0", "or auto");
  expect_set_error(cfg, "log_level", "verbose", "expected error, warn");
  expect_set_error(cfg, "cache_dir", "", "expected a directory path");
  /* nothing changed by the failed calls */
  rk__config_settings(cfg, &s);
  assert_int_equal(s.backend, RK_BACKEND_AUTO);
  assert_int_equal(s.backend_from_program, 0);
  assert_int_equal(s.device, 0);
  assert_string_equal(s.cache_dir, "");
  rk__config_kernel(cfg, "K", &k);
  assert_int_equal(k.block, 64);
  assert_int_equal(k.capacity, 0);
  assert_int_equal(k.grid + k.grid_auto, 0);
  rk__config_kernel(cfg, "9", &k);
  assert_int_equal(k.block, 0);
  rk_config_free(cfg);
  (void)state;
}

/* ------------------------------------------------------------- clone */

static void test_config_clone_is_deep(void **state) {
  rk_config *cfg = load_ok("backend: cpu\ncache_dir: /c\nkernels:\n"
                           "  A: {capacity: 64}\n  B: {grid: 3}\n");
  rk_config *copy = NULL, *def = NULL;
  rk_settings s;
  rk_kernel_cfg k;
  assert_int_equal(rk_config_set(cfg, "backend", "cuda"), RK_OK);
  assert_int_equal(rk__config_clone(cfg, &copy), RK_OK);
  assert_non_null(copy);
  /* change and free the original: the copy keeps its own values */
  assert_int_equal(rk_config_set(cfg, "kernels.A.capacity", "128"), RK_OK);
  assert_int_equal(rk_config_set(cfg, "cache_dir", "/other"), RK_OK);
  rk_config_free(cfg);
  rk__config_settings(copy, &s);
  assert_int_equal(s.backend, RK_BACKEND_CUDA);
  assert_int_equal(s.backend_from_program, 1);
  assert_string_equal(s.cache_dir, "/c");
  rk__config_kernel(copy, "A", &k);
  assert_int_equal(k.capacity, 64);
  rk__config_kernel(copy, "B", &k);
  assert_int_equal(k.grid, 3);
  rk_config_free(copy);
  /* a clone of NULL is a config of defaults */
  assert_int_equal(rk__config_clone(NULL, &def), RK_OK);
  rk__config_settings(def, &s);
  assert_int_equal(s.backend, RK_BACKEND_AUTO);
  rk_config_free(def);
  (void)state;
}

/* ------------------------------------------------- fuzz corpus replay */

/* Every file of fuzz/corpus/config (seeds and crashes kept as regression
** inputs) loads to RK_OK or RK_E_CONFIG, never anything else. */
static void test_config_corpus_replay(void **state) {
  DIR *d = opendir(RK_CONFIG_CORPUS);
  struct dirent *e;
  int files = 0;
  assert_non_null(d);
  while ((e = readdir(d))) {
    char path[4096];
    rk_config *cfg = NULL;
    rk_status st;
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", RK_CONFIG_CORPUS, e->d_name);
    st = rk_config_load_yaml(path, &cfg);
    if (st != RK_OK && st != RK_E_CONFIG)
      print_error("%s: %s %s\n", path, rk_status_str(st), rk_error_detail());
    assert_true(st == RK_OK || st == RK_E_CONFIG);
    assert_true((st == RK_OK) == (cfg != NULL));
    rk_config_free(cfg);
    files++;
  }
  closedir(d);
  assert_true(files >= 10);
  (void)state;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_spec_example_loads),
      cmocka_unit_test(test_config_two_kernels_override_separately),
      cmocka_unit_test(test_config_empty_inputs_are_defaults),
      cmocka_unit_test(test_config_new_and_null_are_defaults),
      cmocka_unit_test(test_config_utf8_bom_accepted),
      cmocka_unit_test(test_config_load_file),
      cmocka_unit_test(test_config_unknown_key),
      cmocka_unit_test(test_config_duplicate_key),
      cmocka_unit_test(test_config_wrong_type),
      cmocka_unit_test(test_config_bad_value),
      cmocka_unit_test(test_config_yaml_booleans_refused),
      cmocka_unit_test(test_config_cache_dir_home),
      cmocka_unit_test(test_config_syntax_error_has_position),
      cmocka_unit_test(test_config_control_bytes_refused),
      cmocka_unit_test(test_config_nesting_deeper_than_32),
      cmocka_unit_test(test_config_anchors_and_aliases_refused),
      cmocka_unit_test(test_config_tags_refused),
      cmocka_unit_test(test_config_multiple_documents_refused),
      cmocka_unit_test(test_config_utf16_bom_refused),
      cmocka_unit_test(test_config_yaml_error_wins_over_schema_error),
      cmocka_unit_test(test_config_too_large_refused),
      cmocka_unit_test(test_config_null_arguments),
      cmocka_unit_test(test_config_set_valid),
      cmocka_unit_test(test_config_set_from_yaml_backend_is_not_program),
      cmocka_unit_test(test_config_set_invalid),
      cmocka_unit_test(test_config_clone_is_deep),
      cmocka_unit_test(test_config_corpus_replay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
