/* SPDX-License-Identifier: MIT */
/*
** rkc.h: the compiler as a library (librkc_core). main.c is a thin CLI over
** it and the tests call it directly. A context owns the arena, the interned
** names, the loaded files and the diagnostics; rkc_free releases all.
*/
#ifndef RKC_RKC_H
#define RKC_RKC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ast.h"

#define RKC_VERSION "0.1.0"

typedef struct rkc_ctx rkc_ctx;

/* Receives each diagnostic, already formatted as gcc does: the
** "file:line:col: error: message" line, the source line and the caret line,
** each ending in '\n'. Default: written to stderr. */
typedef void (*rkc_diag_fn)(void *user, const char *text);

rkc_ctx *rkc_new(void);                 /* NULL only when out of memory */
void rkc_free(rkc_ctx *c);
void rkc_set_diag(rkc_ctx *c, rkc_diag_fn fn, void *user);
/* Adds a folder searched for imports after the importing file's own. */
int rkc_add_include_dir(rkc_ctx *c, const char *dir);

/* Loads, parses and checks path and, recursively, what it imports. Every
** error found is reported through the diagnostic function. Returns the file,
** or NULL when there was any error. */
rkc_file *rkc_compile_file(rkc_ctx *c, const char *path);
/* The same for source text in memory; name is shown in diagnostics and is
** the base for imports (its folder) and the default prefix. */
rkc_file *rkc_compile_string(rkc_ctx *c, const char *name, const char *src,
                             size_t len);

/* Number of errors reported so far. */
unsigned rkc_error_count(const rkc_ctx *c);

/* Reports "file:line:col: error: <fmt>" with source line and caret. */
void rkc_error(rkc_ctx *c, rkc_loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Every file loaded (the root, then imports), for depfiles. */
size_t rkc_file_count(const rkc_ctx *c);
rkc_file *rkc_file_at(const rkc_ctx *c, size_t i);

/* What rkc_generate writes. */
enum {
  RKC_EMIT_C = 1u,        /* NAME.rk.h and NAME.rk.c */
  RKC_EMIT_CUDA = 2u,     /* NAME.rk.cu */
  RKC_EMIT_MANIFEST = 4u  /* NAME.rk.yaml */
};

/* Writes the outputs for file f into out_dir (NAME is f's base name).
** Each file is written to a temporary name and renamed, so nothing is left
** half-written. Returns 0, or -1 after reporting the error. The paths
** written are appended to *outputs (if not NULL; a NULL-terminated array
** allocated in the context's arena). */
int rkc_generate(rkc_ctx *c, rkc_file *f, unsigned emit, const char *out_dir,
                 const char ***outputs);

#endif /* RKC_RKC_H */
