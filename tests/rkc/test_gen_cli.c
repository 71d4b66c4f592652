/* SPDX-License-Identifier: MIT */
/*
** test_gen_cli.c: the rkc command line run as a user runs it: exit status
** 0 / 1 / 2, --version, --help, --emit, -o, -I, the depfile, and no output
** at all when any input has a schema error.
*/
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char out_buf[8192];

/* Runs rkc with args (a shell-free argv) in folder cwd (or here); returns
** its exit status; stdout+stderr go to out_buf. */
static int rkc(const char *cwd, const char *const *args) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    if (cwd && chdir(cwd) != 0) _exit(127);
    const char *argv[32] = {RKC_EXE};
    for (int i = 0; args[i] && i < 30; i++) argv[i + 1] = args[i];
    execv(RKC_EXE, (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while ((r = read(fds[0], out_buf + n, sizeof out_buf - 1 - n)) > 0) n += (size_t)r;
  out_buf[n] = '\0';
  close(fds[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static char dir[64];

static int setup(void **st) {
  (void)st;
  strcpy(dir, "/tmp/rkc-cli-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int count_files(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static int teardown(void **st) {
  (void)st;
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[512];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(dir);
  return 0;
}

static void write_file(const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_gen_cli_version_and_help(void **st) {
  (void)st;
  assert_int_equal(rkc(NULL, (const char *[]){"--version", NULL}), 0);
  assert_non_null(strstr(out_buf, "rkc 0.1.0"));
  assert_int_equal(rkc(NULL, (const char *[]){"--help", NULL}), 0);
  assert_non_null(strstr(out_buf, "--emit=LIST"));
  assert_non_null(strstr(out_buf, "--depfile"));
}

static void test_gen_cli_usage_errors_exit_2(void **st) {
  (void)st;
  assert_int_equal(rkc(NULL, (const char *[]){NULL}), 2);
  assert_non_null(strstr(out_buf, "no input files"));
  assert_int_equal(rkc(NULL, (const char *[]){"--frobnicate", "x.rk", NULL}), 2);
  assert_non_null(strstr(out_buf, "unknown option"));
  assert_int_equal(rkc(NULL, (const char *[]){"--emit=c,java", "x.rk", NULL}), 2);
  assert_int_equal(rkc(NULL, (const char *[]){"--emit=", "x.rk", NULL}), 2);
  assert_int_equal(rkc(NULL, (const char *[]){"x.rk", "-o", NULL}), 2);
  assert_int_equal(rkc(NULL, (const char *[]){"x.rk", "-M", NULL}), 2);
}

static void test_gen_cli_schema_error_writes_nothing(void **st) {
  (void)st;
  write_file("good.rk", "package good;\nmessage A { u32 x; }\n");
  write_file("bad.rk", "package bad;\nmessage B { nosuchtype x; }\n");
  assert_int_equal(rkc(dir, (const char *[]){"-o", ".", "-M", "d.d", "good.rk", "bad.rk", NULL}), 1);
  assert_non_null(strstr(out_buf, "bad.rk:2:"));
  assert_int_equal(count_files(), 2); /* only the two schemas */
  assert_int_equal(rkc(dir, (const char *[]){"-o", ".", "missing.rk", NULL}), 1);
  assert_int_equal(count_files(), 2);
}

/* -o names a folder that need not exist yet: rkc creates it (and the ones
** above), but only when the schemas are clean. */
static void test_gen_cli_output_folder_is_created(void **st) {
  (void)st;
  write_file("s.rk", "package s;\nmessage A { u32 x; }\n");
  write_file("bad.rk", "package bad;\nmessage B { nosuchtype x; }\n");
  char p[256], q[256];
  assert_int_equal(rkc(dir, (const char *[]){"-o", "nogen/x", "bad.rk", NULL}),
                   1);
  snprintf(p, sizeof p, "%s/nogen", dir);
  assert_int_equal(access(p, F_OK), -1); /* nothing made on an error */
  assert_int_equal(rkc(dir, (const char *[]){"-o", "gen/sub", "s.rk", NULL}),
                   0);
  const char *outs[] = {"s.rk.h", "s.rk.c", "s.rk.cu"};
  for (int i = 0; i < 3; i++) {
    snprintf(q, sizeof q, "%s/gen/sub/%s", dir, outs[i]);
    assert_int_equal(access(q, F_OK), 0);
    unlink(q);
  }
  snprintf(q, sizeof q, "%s/gen/sub", dir);
  assert_int_equal(rmdir(q), 0);
  snprintf(q, sizeof q, "%s/gen", dir);
  assert_int_equal(rmdir(q), 0);
}

static void test_gen_cli_emit_selects_outputs(void **st) {
  (void)st;
  write_file("s.rk", "package s;\nmessage A { u32 x; }\n");
  assert_int_equal(rkc(dir, (const char *[]){"--emit=manifest", "s.rk", NULL}), 0);
  assert_int_equal(count_files(), 2);
  char p[256];
  snprintf(p, sizeof p, "%s/s.rk.yaml", dir);
  assert_int_equal(access(p, F_OK), 0);
  assert_int_equal(rkc(dir, (const char *[]){"s.rk", NULL}), 0); /* c,cuda */
  assert_int_equal(count_files(), 5);
  snprintf(p, sizeof p, "%s/s.rk.cu", dir);
  assert_int_equal(access(p, F_OK), 0);
}

static void test_gen_cli_depfile_and_include_dirs(void **st) {
  (void)st;
  write_file("lib.rk", "package lib;\nmessage P { f32 x; }\n");
  write_file("app.rk", "package app;\nimport \"lib.rk\";\nmessage Q { lib.P p; }\n");
  char out[128], dep[160], app[128];
  snprintf(out, sizeof out, "%s", dir);
  snprintf(dep, sizeof dep, "%s/app.d", dir);
  snprintf(app, sizeof app, "%s/app.rk", dir);
  assert_int_equal(rkc(NULL, (const char *[]){"-o", out, "--depfile", dep, app, NULL}), 0);
  FILE *f = fopen(dep, "r");
  assert_non_null(f);
  char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  char *colon = strstr(text, ":");
  assert_non_null(colon);
  assert_non_null(strstr(text, "app.rk.h"));
  assert_non_null(strstr(text, "app.rk.cu"));
  assert_true(strstr(text, "app.rk.c ") != NULL || strstr(text, "app.rk.c\\") != NULL);
  assert_true(strstr(text, "app.rk.h") < colon);
  assert_non_null(strstr(colon, "app.rk"));
  assert_non_null(strstr(colon, "lib.rk"));
  /* an import found only through -I */
  char sub[128], user[160];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  snprintf(user, sizeof user, "%s/user.rk", sub);
  f = fopen(user, "w");
  assert_non_null(f);
  fputs("package user;\nimport \"lib.rk\";\nmessage R { lib.P p; }\n", f);
  fclose(f);
  assert_int_equal(rkc("/", (const char *[]){"-o", sub, user, NULL}), 1);
  assert_int_equal(rkc("/", (const char *[]){"-o", sub, "-I", out, user, NULL}), 0);
  char gen_h[200];
  snprintf(gen_h, sizeof gen_h, "%s/user.rk.h", sub);
  assert_int_equal(access(gen_h, F_OK), 0);
  const char *names[] = {"user.rk", "user.rk.h", "user.rk.c", "user.rk.cu"};
  for (size_t i = 0; i < 4; i++) {
    char q[256];
    snprintf(q, sizeof q, "%s/%s", sub, names[i]);
    unlink(q);
  }
  rmdir(sub);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gen_cli_version_and_help),
      cmocka_unit_test(test_gen_cli_usage_errors_exit_2),
      cmocka_unit_test_setup_teardown(test_gen_cli_schema_error_writes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_cli_output_folder_is_created, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_cli_emit_selects_outputs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_cli_depfile_and_include_dirs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
