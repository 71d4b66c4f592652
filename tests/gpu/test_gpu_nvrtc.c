/* SPDX-License-Identifier: MIT */
/*
** test_gpu_nvrtc.c: the parts of the CUDA backend that need no GPU, run in
** CI: probing with no driver and with the toolkit's stub driver, NVRTC
** compiling to a cubin for sm_90 and reporting a syntax error with its log,
** and the image cache (a hit compiles nothing; a damaged entry is deleted
** and compiled again). Without NVRTC the NVRTC tests are skipped.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nvrtc.h"

static const char *tiny_src =
    "typedef unsigned int uint32_t;\n"
    "extern \"C\" __global__ void rk_tiny(uint32_t *p) { p[threadIdx.x] = "
    "threadIdx.x * 2u; }\n";

static char g_cache[256];
/* Tests skipped (no NVRTC, no stub driver): with none failed, main exits
** 77, which ctest shows as "Skipped" (SKIP_RETURN_CODE), not as passed. */
static int g_skipped;

/* NVRTC present, or the test is skipped with the reason. */
static void need_nvrtc(void) {
  if (rk__nvrtc_load(0) != RK_OK) {
    fprintf(stderr, "SKIP: no NVRTC: %s\n", rk_error_detail());
    g_skipped++;
    skip();
  }
}

static void test_probe_no_driver(void **st) {
  (void)st;
  setenv("RK_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  rk_status s = rk__cuda_probe(0);
  unsetenv("RK_CUDA_DRIVER");
  assert_int_equal(s, RK_E_NO_DEVICE);
  assert_non_null(strstr(rk_error_detail(), "no CUDA driver"));
}

/* The real libcuda.so.1 of this machine: no device here means NO_DEVICE;
** on a GPU machine the probe succeeds. Either way a reason is given. */
static void test_probe_default(void **st) {
  (void)st;
  rk_status s = rk__cuda_probe(0);
  if (s == RK_OK)
    return;
  assert_int_equal(s, RK_E_NO_DEVICE);
  assert_true(strlen(rk_error_detail()) > 10);
}

static void test_probe_stub_driver(void **st) {
  (void)st;
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (access(stub, R_OK) != 0) {
    fprintf(stderr, "SKIP: no stub driver at %s\n", stub);
    g_skipped++;
    skip();
  }
  setenv("RK_CUDA_DRIVER", stub, 1);
  rk_status s = rk__cuda_probe(0);
  unsetenv("RK_CUDA_DRIVER");
  assert_int_equal(s, RK_E_NO_DEVICE);
  assert_non_null(strstr(rk_error_detail(), "stub"));
}

static int is_elf(const rk_image *img) {
  return img->size > 4 && memcmp(img->data, "\x7f" "ELF", 4) == 0;
}

static void test_nvrtc_compile_cubin_sm90(void **st) {
  (void)st;
  need_nvrtc();
  rk_image img;
  assert_int_equal(rk__nvrtc_compile(tiny_src, "tiny.cu", 90, &img), RK_OK);
  assert_false(img.is_ptx);
  assert_true(is_elf(&img));
  rk__image_free(&img);
}

static void test_nvrtc_syntax_error_has_log(void **st) {
  (void)st;
  need_nvrtc();
  rk_image img;
  const char *bad = "extern \"C\" __global__ void k(void) { int x = ; }\n";
  assert_int_equal(rk__nvrtc_compile(bad, "bad.rk.cu", 90, &img),
                   RK_E_COMPILE);
  const char *d = rk_error_detail();
  assert_non_null(strstr(d, "bad.rk.cu"));
  assert_non_null(strstr(d, "error"));
}

static void test_cache_dir_rules(void **st) {
  (void)st;
  char out[512];
  setenv("RK_CACHE_DIR", "/tmp/rk-a", 1);
  assert_int_equal(rk__cache_dir("", out, sizeof out), 0);
  assert_string_equal(out, "/tmp/rk-a");
  assert_int_equal(rk__cache_dir("/tmp/rk-b", out, sizeof out), 0);
  assert_string_equal(out, "/tmp/rk-b");
  unsetenv("RK_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  assert_int_equal(rk__cache_dir(NULL, out, sizeof out), 0);
  assert_string_equal(out, "/tmp/xdg/ringkernel");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/home/u", 1);
  assert_int_equal(rk__cache_dir(NULL, out, sizeof out), 0);
  assert_string_equal(out, "/home/u/.cache/ringkernel");
  setenv("RK_CACHE_DISABLE", "1", 1);
  assert_int_equal(rk__cache_dir("/tmp/rk-b", out, sizeof out), -1);
  unsetenv("RK_CACHE_DISABLE");
}

static void test_cache_second_get_compiles_nothing(void **st) {
  (void)st;
  need_nvrtc();
  rk_image a, b;
  int hit = -1;
  char key[33];
  assert_int_equal(rk__image_get(tiny_src, "tiny.cu", 90, g_cache, &a, &hit,
                                 key), RK_OK);
  assert_int_equal(hit, 0);
  uint64_t n = rk__nvrtc_compile_count();
  assert_int_equal(rk__image_get(tiny_src, "tiny.cu", 90, g_cache, &b, &hit,
                                 NULL), RK_OK);
  assert_int_equal(hit, 1);
  assert_int_equal(rk__nvrtc_compile_count(), n);
  assert_int_equal(a.size, b.size);
  assert_memory_equal(a.data, b.data, a.size);
  /* another arch is another key */
  char key2[33];
  rk__cache_key(tiny_src, 80, key2);
  assert_string_not_equal(key, key2);
  rk__image_free(&a);
  rk__image_free(&b);
}

/* Flips one byte of the entry's image: the checksum catches it, the entry
** is deleted, and the image is compiled again and stored whole. */
static void test_cache_damaged_entry_recompiled(void **st) {
  (void)st;
  need_nvrtc();
  rk_image a;
  char key[33], path[512];
  assert_int_equal(rk__image_get(tiny_src, "tiny.cu", 90, g_cache, &a, NULL,
                                 key), RK_OK);
  rk__image_free(&a);
  snprintf(path, sizeof path, "%s/%s.rkimg", g_cache, key);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  assert_int_equal(fseek(f, 100, SEEK_SET), 0);
  int c = fgetc(f);
  assert_int_equal(fseek(f, 100, SEEK_SET), 0);
  fputc(c ^ 0x5a, f);
  fclose(f);
  assert_int_equal(rk__cache_get(g_cache, key, &a), 0); /* detected */
  assert_int_not_equal(access(path, F_OK), 0);           /* and deleted */
  uint64_t n = rk__nvrtc_compile_count();
  int hit = -1;
  assert_int_equal(rk__image_get(tiny_src, "tiny.cu", 90, g_cache, &a, &hit,
                                 NULL), RK_OK);
  assert_int_equal(hit, 0);
  assert_int_equal(rk__nvrtc_compile_count(), n + 1);
  assert_true(is_elf(&a));
  rk__image_free(&a);
  /* a truncated entry is refused too */
  assert_int_equal(truncate(path, 40), 0);
  assert_int_equal(rk__cache_get(g_cache, key, &a), 0);
}

int main(void) {
  snprintf(g_cache, sizeof g_cache, "/tmp/rk-test-cache-%d", (int)getpid());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probe_no_driver),
      cmocka_unit_test(test_probe_stub_driver),
      cmocka_unit_test(test_probe_default),
      cmocka_unit_test(test_nvrtc_compile_cubin_sm90),
      cmocka_unit_test(test_nvrtc_syntax_error_has_log),
      cmocka_unit_test(test_cache_dir_rules),
      cmocka_unit_test(test_cache_second_get_compiles_nothing),
      cmocka_unit_test(test_cache_damaged_entry_recompiled),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_cache);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_cache);
  if (r == 0 && g_skipped) {
    fprintf(stderr, "test_gpu_nvrtc: %d test(s) skipped (see SKIP above): "
            "exit 77, not a pass\n", g_skipped);
    return 77;
  }
  return r;
}
