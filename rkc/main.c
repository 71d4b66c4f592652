/* SPDX-License-Identifier: MIT */
/*
** main.c: the rkc command line, a thin layer over librkc_core. Every input
** is parsed and checked before anything is written, so a schema error
** leaves no output. Exit 0 on success, 1 on schema (or output) errors, 2 on
** usage errors.
*/
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rkc.h"

static const char usage[] =
    "usage: rkc [options] file.rk...\n"
    "Compiles ringkernel schemas into C host code and CUDA kernel source.\n"
    "\n"
    "options:\n"
    "  -o DIR               write outputs into DIR (default: .)\n"
    "  -I DIR               search DIR for imports (repeatable; after the\n"
    "                       importing file's own folder)\n"
    "  --emit=LIST          what to write, comma-separated: c (NAME.rk.h and\n"
    "                       NAME.rk.c), cuda (NAME.rk.cu), manifest\n"
    "                       (NAME.rk.yaml); default c,cuda\n"
    "  -M FILE, --depfile FILE\n"
    "                       write a make-style depfile: every output as a\n"
    "                       target, every .rk read as a prerequisite\n"
    "  --version            print the version and exit\n"
    "  --help               print this help and exit\n"
    "\n"
    "exit status: 0 success, 1 schema errors (nothing written), 2 usage\n";

typedef struct opts {
  const char *out_dir;
  const char *depfile;
  unsigned emit;
  const char **inc;
  size_t n_inc;
  const char **files;
  size_t n_files;
} opts;

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "rkc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'rkc --help'.\n");
  return 2;
}

/* Parses "c,cuda,manifest" into *emit; -1 on an unknown word. */
static int parse_emit(const char *s, unsigned *emit) {
  *emit = 0;
  while (*s) {
    size_t n = strcspn(s, ",");
    if (n == 1 && strncmp(s, "c", 1) == 0) *emit |= RKC_EMIT_C;
    else if (n == 4 && strncmp(s, "cuda", 4) == 0) *emit |= RKC_EMIT_CUDA;
    else if (n == 8 && strncmp(s, "manifest", 8) == 0) *emit |= RKC_EMIT_MANIFEST;
    else return -1;
    s += n;
    if (*s == ',') s++;
  }
  return *emit ? 0 : -1;
}

/* The value of an option that takes one: "-oDIR", "-o DIR", "--x=V",
** "--x V". Returns NULL (after a usage message) when it is missing. */
static const char *opt_value(int argc, char **argv, int *i, size_t skip) {
  const char *a = argv[*i];
  if (a[skip] == '=' && a[1] == '-') return a + skip + 1;
  if (a[skip] != '\0' && a[1] != '-') return a + skip;
  if (a[skip] != '\0') return NULL;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, opts *o) {
  int only_files = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (only_files || a[0] != '-' || a[1] == '\0') {
      o->files[o->n_files++] = a;
    } else if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      printf("rkc %s\n", RKC_VERSION);
      return 0;
    } else if (strncmp(a, "-o", 2) == 0) {
      if (!(v = opt_value(argc, argv, &i, 2))) return usage_error("%s needs a folder", a);
      o->out_dir = v;
    } else if (strncmp(a, "-I", 2) == 0) {
      if (!(v = opt_value(argc, argv, &i, 2))) return usage_error("%s needs a folder", a);
      o->inc[o->n_inc++] = v;
    } else if (strcmp(a, "-M") == 0 || strncmp(a, "--depfile", 9) == 0) {
      if (!(v = opt_value(argc, argv, &i, a[1] == '-' ? 9 : 2)) || !*v)
        return usage_error("%s needs a file name", a);
      o->depfile = v;
    } else if (strncmp(a, "--emit", 6) == 0 && (a[6] == '=' || a[6] == '\0')) {
      if (!(v = opt_value(argc, argv, &i, 6)))
        return usage_error("%s needs a list", a);
      if (parse_emit(v, &o->emit) != 0)
        return usage_error("bad --emit list '%s' (words: c, cuda, manifest)", v);
    } else {
      return usage_error("unknown option '%s'", a);
    }
  }
  if (o->n_files == 0) return usage_error("%s", "no input files");
  return -1;
}

/* Appends path to f with make's escapes (space, '#', '$'). */
static void dep_path(FILE *f, const char *p) {
  for (; *p; p++) {
    if (*p == ' ' || *p == '#' || *p == '\\') fputc('\\', f);
    if (*p == '$') fputc('$', f);
    fputc(*p, f);
  }
}

/* Writes the depfile through a temporary name; 0 or -1 (reported). */
static int write_depfile(const char *path, rkc_ctx *c, const char **outs) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) return -1;
  snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd >= 0) (void)fchmod(fd, 0644); /* mkstemp makes it 0600 */
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    fprintf(stderr, "rkc: cannot write %s: %s\n", path, strerror(errno));
    if (fd >= 0) { close(fd); unlink(tmp); }
    free(tmp);
    return -1;
  }
  for (size_t i = 0; outs && outs[i]; i++) {
    if (i) fputs(" \\\n ", f);
    dep_path(f, outs[i]);
  }
  fputc(':', f);
  for (size_t i = 0; i < rkc_file_count(c); i++) {
    fputs(" \\\n ", f);
    dep_path(f, rkc_file_at(c, i)->path);
  }
  fputc('\n', f);
  int bad = ferror(f);
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    fprintf(stderr, "rkc: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}

/* Creates dir and the folders above it that are missing (as mkdir -p), so
** that -o names a folder the build has not made yet. 0 when it exists. */
static int make_dirs(const char *dir) {
  char *p = strdup(dir);
  if (!p) { fprintf(stderr, "rkc: out of memory\n"); return -1; }
  for (char *q = p + 1;; q++) {
    if (*q != '/' && *q != '\0') continue;
    char keep = *q;
    *q = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "rkc: cannot create folder %s: %s\n", p,
              strerror(errno));
      free(p);
      return -1;
    }
    *q = keep;
    if (keep == '\0') break;
  }
  free(p);
  return 0;
}

/* Compiles every input, then (only when all are clean) generates them. */
static int run(const opts *o) {
  rkc_ctx *c = rkc_new();
  if (!c) { fprintf(stderr, "rkc: out of memory\n"); return 1; }
  int rc = 0;
  for (size_t i = 0; i < o->n_inc; i++) rkc_add_include_dir(c, o->inc[i]);
  rkc_file **fs = calloc(o->n_files, sizeof *fs);
  if (!fs) { rkc_free(c); return 1; }
  for (size_t i = 0; i < o->n_files; i++) {
    fs[i] = rkc_compile_file(c, o->files[i]);
    if (!fs[i]) rc = 1;
  }
  if (rkc_error_count(c) > 0) rc = 1;
  const char **outs = NULL;
  if (rc == 0 && o->out_dir && *o->out_dir && make_dirs(o->out_dir) != 0)
    rc = 1;
  for (size_t i = 0; rc == 0 && i < o->n_files; i++)
    if (rkc_generate(c, fs[i], o->emit, o->out_dir, &outs) != 0) rc = 1;
  if (rc == 0 && o->depfile && write_depfile(o->depfile, c, outs) != 0) rc = 1;
  free(fs);
  rkc_free(c);
  return rc;
}

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof o);
  o.emit = RKC_EMIT_C | RKC_EMIT_CUDA;
  o.out_dir = ".";
  o.inc = calloc((size_t)argc, sizeof *o.inc);
  o.files = calloc((size_t)argc, sizeof *o.files);
  if (!o.inc || !o.files) return 1;
  int st = parse_args(argc, argv, &o);
  if (st < 0) st = run(&o);
  free(o.inc);
  free(o.files);
  return st;
}
