/* SPDX-License-Identifier: MIT */
/*
** parse.c: the compiler context, arena helpers, file loading and import
** resolution. A file is parsed once (files are keyed by their realpath);
** imports are searched beside the importing file, then in each -I folder in
** order; cycles are found with an explicit stack and reported by name. Then
** sema checks the files in post-order, imports before importers.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static void oom(rkc_ctx *c) {
  if (!c->oom) {
    c->oom = 1;
    rkc_error(c, RKC_NOWHERE, "out of memory");
  }
}

void *rkc_alloc(rkc_ctx *c, size_t n) {
  void *p = rkc_arena_alloc(&c->arena, n);
  if (p == NULL)
    oom(c);
  return p;
}

char *rkc_strndup(rkc_ctx *c, const char *s, size_t n) {
  char *p = rkc_alloc(c, n + 1);
  if (p == NULL)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *rkc_strdup(rkc_ctx *c, const char *s) {
  return rkc_strndup(c, s, strlen(s));
}

const char *rkc_intern(rkc_ctx *c, const char *s, size_t n) {
  const char *p = rkc_intern_str(&c->names, &c->arena, s, n);
  if (p == NULL) {
    oom(c);
    return "";
  }
  return p;
}

const char *rkc_intern_cstr(rkc_ctx *c, const char *s) {
  return rkc_intern(c, s ? s : "", s ? strlen(s) : 0);
}

char *rkc_fmt(rkc_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return rkc_strdup(c, "");
  char *p = rkc_alloc(c, (size_t)n + 1);
  if (p == NULL)
    return (char *)"";
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

rkc_file_info *rkc_info(rkc_ctx *c, const rkc_file *f) {
  return &c->info[f->id];
}

rkc_ctx *rkc_new(void) { return calloc(1, sizeof(rkc_ctx)); }

void rkc_free(rkc_ctx *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n_files; i++)
    rkc_map_free(&c->info[i].scope);
  free(c->files);
  free(c->info);
  free(c->inc);
  rkc_map_free(&c->by_real);
  rkc_map_free(&c->ids);
  rkc_intern_free(&c->names);
  rkc_arena_free(&c->arena);
  free(c);
}

void rkc_set_diag(rkc_ctx *c, rkc_diag_fn fn, void *user) {
  c->diag = fn;
  c->diag_user = user;
}

int rkc_add_include_dir(rkc_ctx *c, const char *dir) {
  if (c->n_inc == c->cap_inc) {
    size_t cap = c->cap_inc ? c->cap_inc * 2 : 8;
    const char **p = realloc(c->inc, cap * sizeof *p);
    if (p == NULL)
      return -1;
    c->inc = p;
    c->cap_inc = cap;
  }
  const char *d = rkc_strdup(c, dir);
  if (d == NULL)
    return -1;
  c->inc[c->n_inc++] = d;
  return 0;
}

size_t rkc_file_count(const rkc_ctx *c) { return c->n_files; }

rkc_file *rkc_file_at(const rkc_ctx *c, size_t i) {
  return i < c->n_files ? c->files[i] : NULL;
}

/* The file name of path without its folder and a trailing ".rk". */
static const char *base_name(rkc_ctx *c, const char *path) {
  const char *s = strrchr(path, '/');
  s = s ? s + 1 : path;
  size_t n = strlen(s);
  if (n > 3 && strcmp(s + n - 3, ".rk") == 0)
    n -= 3;
  return rkc_intern(c, s, n);
}

/* Registers a new file (src is owned by the arena); NULL when out of memory. */
static rkc_file *add_file(rkc_ctx *c, const char *path, const char *real,
                          const char *src, size_t len) {
  if (c->n_files == c->cap_files) {
    size_t cap = c->cap_files ? c->cap_files * 2 : 16;
    rkc_file **fs = realloc(c->files, cap * sizeof *fs);
    if (fs == NULL)
      return oom(c), NULL;
    c->files = fs;
    rkc_file_info *in = realloc(c->info, cap * sizeof *in);
    if (in == NULL)
      return oom(c), NULL;
    c->info = in;
    c->cap_files = cap;
  }
  rkc_file *f = rkc_alloc(c, sizeof *f);
  if (f == NULL)
    return NULL;
  f->id = (uint32_t)c->n_files;
  f->path = rkc_strdup(c, path);
  f->base = base_name(c, path);
  f->src = src;
  f->len = len;
  c->files[c->n_files] = f;
  memset(&c->info[c->n_files], 0, sizeof c->info[0]);
  c->info[c->n_files].real = real;
  c->n_files++;
  rkc_map_put(&c->by_real, (uintptr_t)real, f);
  return f;
}

/* Adds a file and parses it; a file whose parse reported errors is marked
** parse_failed (check() then runs no sema on it or on its importers, so one
** mistake does not cascade). NULL when out of memory. */
static rkc_file *add_and_parse(rkc_ctx *c, const char *path, const char *real,
                               const char *src, size_t len) {
  rkc_file *f = add_file(c, path, real, src, len);
  if (f == NULL)
    return NULL;
  unsigned before = c->errors;
  rkc_parse_file(c, f);
  if (c->errors != before)
    c->info[f->id].parse_failed = 1;
  return f;
}

/* Reads a regular file into the arena (NUL-terminated). Returns NULL and
** sets *why (a static string or errno text) on failure. */
static char *read_file(rkc_ctx *c, const char *path, size_t *len,
                       const char **why) {
  FILE *in = fopen(path, "rb");
  if (in == NULL) {
    *why = strerror(errno);
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(in);
    *why = "not a regular file";
    return NULL;
  }
  if ((uint64_t)st.st_size > RKC_MAX_FILE_SIZE) {
    fclose(in);
    *why = "file too large (RKC_MAX_FILE_SIZE is 64 MiB)";
    return NULL;
  }
  size_t n = (size_t)st.st_size;
  char *buf = rkc_alloc(c, n + 1);
  if (buf == NULL) {
    fclose(in);
    *why = "out of memory";
    return NULL;
  }
  *len = fread(buf, 1, n, in);
  buf[*len] = '\0';
  int bad = ferror(in);
  fclose(in);
  if (bad) {
    *why = "read error";
    return NULL;
  }
  return buf;
}

/* The interned realpath of path, or NULL when it is not a regular file. */
static const char *real_of(rkc_ctx *c, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return NULL;
  char *r = realpath(path, NULL);
  if (r == NULL)
    return NULL;
  const char *s = rkc_intern_cstr(c, r);
  free(r);
  return s;
}

/* Loads and parses path (already known to exist as real). */
static rkc_file *load(rkc_ctx *c, const char *path, const char *real,
                      rkc_loc from) {
  size_t len = 0;
  const char *why = NULL;
  char *src = read_file(c, path, &len, &why);
  if (src == NULL) {
    rkc_error(c, from, "cannot read '%s': %s", path, why);
    return NULL;
  }
  return add_and_parse(c, path, real, src, len);
}

/* The folder part of path ("" when none). */
static const char *dir_of(rkc_ctx *c, const char *path) {
  const char *s = strrchr(path, '/');
  return s ? rkc_strndup(c, path, (size_t)(s - path) + 1) : "";
}

/* Finds the file an import names: beside the importer, then in each -I
** folder. Returns its path and sets *real, or NULL after reporting where it
** searched. */
static const char *find_import(rkc_ctx *c, rkc_file *f, rkc_import *im,
                               const char **real) {
  char *tried = "";
  const char *cand;
  if (im->path[0] == '/') {
    cand = im->path;
    if ((*real = real_of(c, cand)) != NULL)
      return cand;
    tried = rkc_fmt(c, "%s", cand);
  } else {
    cand = rkc_fmt(c, "%s%s", dir_of(c, f->path), im->path);
    if ((*real = real_of(c, cand)) != NULL)
      return cand;
    tried = rkc_fmt(c, "%s", cand);
    for (size_t i = 0; i < c->n_inc; i++) {
      const char *d = c->inc[i];
      size_t dl = strlen(d);
      cand = rkc_fmt(c, "%s%s%s", d, dl && d[dl - 1] == '/' ? "" : "/",
                     im->path);
      if ((*real = real_of(c, cand)) != NULL)
        return cand;
      tried = rkc_fmt(c, "%s, %s", tried, cand);
    }
  }
  rkc_error(c, im->loc, "cannot find import \"%s\" (searched %s)", im->path,
            tried);
  return NULL;
}

typedef struct rkc_stack {
  rkc_file **v;
  size_t n, cap;
} rkc_stack;

static int push(rkc_stack *s, rkc_file *f) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    rkc_file **v = realloc(s->v, cap * sizeof *v);
    if (v == NULL)
      return -1;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = f;
  return 0;
}

static const char *file_name(const rkc_file *f) {
  const char *s = strrchr(f->path, '/');
  return s ? s + 1 : f->path;
}

/* Reports the cycle closed by the import im (from the top of the stack back
** to g): "a.rk -> b.rk -> a.rk". */
static void report_cycle(rkc_ctx *c, rkc_stack *s, rkc_file *g,
                         rkc_import *im) {
  size_t i = s->n;
  while (i > 0 && s->v[i - 1] != g)
    i--;
  const char *chain = "";
  for (size_t k = i ? i - 1 : 0; k < s->n; k++)
    chain = rkc_fmt(c, "%s%s -> ", chain, file_name(s->v[k]));
  rkc_error(c, im->loc, "import cycle: %s%s", chain, file_name(g));
}

/* Resolves f's imports depth-first, loading and parsing new files. */
static void resolve(rkc_ctx *c, rkc_file *f, rkc_stack *s) {
  c->info[f->id].state = 1;
  if (push(s, f) != 0) {
    oom(c);
    return;
  }
  for (rkc_import *im = f->imports; im; im = im->next) {
    const char *real = NULL;
    const char *path = find_import(c, f, im, &real);
    if (path == NULL) {
      c->info[f->id].parse_failed = 1;
      continue;
    }
    rkc_file *g = rkc_map_get(&c->by_real, (uintptr_t)real);
    if (g != NULL && c->info[g->id].state == 1) {
      report_cycle(c, s, g, im);
      c->info[f->id].parse_failed = 1;
      continue;
    }
    if (g == NULL) {
      if (s->n >= RKC_MAX_IMPORT_DEPTH) {
        rkc_error(c, im->loc, "imports nested too deep: at most %u levels "
                  "(RKC_MAX_IMPORT_DEPTH)", RKC_MAX_IMPORT_DEPTH);
        c->info[f->id].parse_failed = 1;
        continue;
      }
      g = load(c, path, real, im->loc);
      if (g == NULL) {
        c->info[f->id].parse_failed = 1;
        continue;
      }
      resolve(c, g, s);
    }
    im->file = g;
  }
  s->n--;
  c->info[f->id].state = 2;
}

/* Checks f after its imports (post-order); returns 0 when f and everything
** it imports is free of errors. Runs sema on f only when f and its imports
** parsed cleanly, so one mistake does not cascade. */
static int check(rkc_ctx *c, rkc_file *f) {
  rkc_file_info *fi = &c->info[f->id];
  if (fi->state == 3)
    return fi->failed || fi->closure_failed ? -1 : 0;
  fi->state = 3;
  int bad = 0, imports_parsed = 1;
  for (rkc_import *im = f->imports; im; im = im->next) {
    if (im->file == NULL)
      continue;
    if (check(c, im->file) != 0)
      bad = 1;
    if (c->info[im->file->id].parse_failed)
      imports_parsed = 0;
  }
  fi = &c->info[f->id];
  if (!fi->parse_failed && imports_parsed)
    rkc_sema_file(c, f);
  fi = &c->info[f->id];
  fi->closure_failed = bad;
  return bad || fi->failed || fi->parse_failed ? -1 : 0;
}

/* Resolves and checks root; returns it when it and its imports are clean. */
static rkc_file *finish(rkc_ctx *c, rkc_file *root) {
  rkc_stack s = {0};
  resolve(c, root, &s);
  free(s.v);
  int rc = check(c, root);
  if (rc == 0 && !c->oom)
    rc = rkc_sema_names(c, root);
  return rc == 0 && !c->oom ? root : NULL;
}

rkc_file *rkc_compile_file(rkc_ctx *c, const char *path) {
  errno = 0;
  const char *real = real_of(c, path);
  if (real == NULL) {
    const char *why = errno ? strerror(errno) : "not a regular file";
    rkc_error(c, RKC_NOWHERE, "cannot open '%s': %s", path, why);
    return NULL;
  }
  rkc_file *f = rkc_map_get(&c->by_real, (uintptr_t)real);
  if (f == NULL) {
    f = load(c, path, real, RKC_NOWHERE);
    if (f == NULL)
      return NULL;
  }
  if (c->info[f->id].state != 0)
    return check(c, f) == 0 && rkc_sema_names(c, f) == 0 ? f : NULL;
  return finish(c, f);
}

rkc_file *rkc_compile_string(rkc_ctx *c, const char *name, const char *src,
                             size_t len) {
  char *copy = rkc_strndup(c, src, len);
  if (copy == NULL)
    return NULL;
  /* A unique key: a string is never the same file as another one. */
  const char *key = rkc_intern_cstr(c, rkc_fmt(c, "\001%zu:%s", c->n_files,
                                              name));
  rkc_file *f = add_and_parse(c, name, key, copy, len);
  return f ? finish(c, f) : NULL;
}
