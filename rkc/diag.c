/* SPDX-License-Identifier: MIT */
/*
** diag.c: diagnostics as gcc prints them: "file:line:col: error: msg", the
** source line and a caret line (tabs copied so the caret lines up; columns
** count bytes from 1). Line and column are computed from byte offsets only
** here, through a per-file table of line starts built on the first error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Builds the line-start table of f; returns 0, or -1 when out of memory. */
static int build_lines(rkc_ctx *c, rkc_file *f, rkc_file_info *fi) {
  uint32_t n = 1;
  for (size_t i = 0; i < f->len; i++)
    n += f->src[i] == '\n';
  fi->lines = rkc_alloc(c, (size_t)n * sizeof *fi->lines);
  if (fi->lines == NULL)
    return -1;
  uint32_t k = 0;
  fi->lines[k++] = 0;
  for (size_t i = 0; i < f->len; i++)
    if (f->src[i] == '\n')
      fi->lines[k++] = (uint32_t)i + 1;
  fi->n_lines = n;
  return 0;
}

/* Finds the 0-based line holding offset off (binary search). */
static uint32_t line_of(const rkc_file_info *fi, uint32_t off) {
  uint32_t lo = 0, hi = fi->n_lines;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (fi->lines[mid] <= off)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* Resolves loc to file, 1-based line and column; returns NULL when loc is
** not in a loaded file. */
static rkc_file *locate(rkc_ctx *c, rkc_loc loc, uint32_t *line,
                        uint32_t *col) {
  if (loc.file >= c->n_files)
    return NULL;
  rkc_file *f = c->files[loc.file];
  rkc_file_info *fi = &c->info[loc.file];
  if (fi->lines == NULL && build_lines(c, f, fi) != 0)
    return NULL;
  if (loc.begin > f->len)
    loc.begin = (uint32_t)f->len;
  uint32_t l = line_of(fi, loc.begin);
  *line = l + 1;
  *col = loc.begin - fi->lines[l] + 1;
  return f;
}

const char *rkc_where(rkc_ctx *c, rkc_loc loc) {
  uint32_t line, col;
  rkc_file *f = locate(c, loc, &line, &col);
  if (f == NULL)
    return "<unknown>";
  return rkc_fmt(c, "%s:%u:%u", f->path, line, col);
}

/* Appends the source line of loc and its caret line to buf. */
static void source_lines(rkc_ctx *c, rkc_file *f, rkc_loc loc, uint32_t line,
                         FILE *m) {
  const rkc_file_info *fi = &c->info[f->id];
  uint32_t start = fi->lines[line - 1];
  uint32_t stop = start;
  while (stop < f->len && f->src[stop] != '\n')
    stop++;
  uint32_t shown = stop;
  if (shown > start && f->src[shown - 1] == '\r')
    shown--;
  for (uint32_t i = start; i < shown; i++)
    fputc(f->src[i] == '\0' ? ' ' : f->src[i], m);
  fputc('\n', m);
  uint32_t b = loc.begin < start ? start : loc.begin;
  for (uint32_t i = start; i < b && i < shown; i++) {
    unsigned char ch = (unsigned char)f->src[i];
    if ((ch & 0xc0) == 0x80)
      continue; /* a UTF-8 continuation byte takes no column on screen */
    fputc(ch == '\t' ? '\t' : ' ', m);
  }
  fputc('^', m);
  uint32_t e = loc.end < shown ? loc.end : shown;
  for (uint32_t i = b + 1; i < e; i++)
    if (((unsigned char)f->src[i] & 0xc0) != 0x80)
      fputc('~', m);
  fputc('\n', m);
}

void rkc_verror(rkc_ctx *c, rkc_loc loc, const char *fmt, va_list ap) {
  c->errors++;
  if (loc.file < c->n_files)
    c->info[loc.file].failed = 1;
  if (c->errors > RKC_MAX_ERRORS)
    return;
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (m == NULL)
    return;
  uint32_t line = 0, col = 0;
  rkc_file *f = locate(c, loc, &line, &col);
  if (f != NULL)
    fprintf(m, "%s:%u:%u: error: ", f->path, line, col);
  else
    fputs("rkc: error: ", m);
  vfprintf(m, fmt, ap);
  fputc('\n', m);
  if (f != NULL)
    source_lines(c, f, loc, line, m);
  if (c->errors == RKC_MAX_ERRORS)
    fprintf(m, "rkc: error: too many errors; at most %u are shown\n",
            RKC_MAX_ERRORS);
  fclose(m);
  if (c->diag != NULL)
    c->diag(c->diag_user, text);
  else
    fputs(text, stderr);
  free(text);
}

void rkc_error(rkc_ctx *c, rkc_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rkc_verror(c, loc, fmt, ap);
  va_end(ap);
}

unsigned rkc_error_count(const rkc_ctx *c) { return c->errors; }
