/* SPDX-License-Identifier: MIT */
/*
** internal.h: what the compiler's own files share: the context, arena and
** interning helpers, per-file side tables, and the entry points between the
** scanner/parser (grammar/), parse.c, sema.c and diag.c. Not installed.
*/
#ifndef RKC_INTERNAL_H
#define RKC_INTERNAL_H

#include <stdarg.h>

#include "arena.h"
#include "rkc.h"

/* Limits, each quoted in the diagnostic that enforces it. */
#define RKC_MAX_ARRAY 1048576u               /* elements of one array */
#define RKC_MAX_MESSAGE_SIZE (16u << 20)     /* bytes of one C struct */
#define RKC_MAX_CAPACITY (1u << 24)          /* queue slots of a kernel */
#define RKC_MAX_BLOCK 1024u                  /* threads per worker */
#define RKC_MAX_GRID 65535u                  /* workers of a kernel */
#define RKC_MAX_IMPORT_DEPTH 256u            /* nested imports */
#define RKC_MAX_FILE_SIZE (64u << 20)        /* bytes of one .rk file */
#define RKC_MAX_ERRORS 1000u                 /* diagnostics printed */
#define RKC_MAX_NESTING 64u                  /* messages nested by value */

/* What sema knows about a file besides its AST. */
typedef struct rkc_file_info {
  rkc_map scope;        /* interned name -> rkc_decl */
  uint32_t *lines;      /* offsets of line starts, built on first error */
  uint32_t n_lines;
  const char *real;     /* interned realpath (or name for strings) */
  int state;            /* 0 new, 1 importing, 2 imports done, 3 checked */
  int failed;           /* had an error */
  int parse_failed;     /* a syntax error, or an import not loaded */
  int closure_failed;   /* an import (transitively) had an error */
  int any_decl;         /* a declaration was seen (for 'package' first) */
  uint32_t n_order;     /* messages placed in msg_order so far */
} rkc_file_info;

typedef enum rkc_decl_kind {
  RKC_D_MESSAGE = 1,
  RKC_D_ENUM,
  RKC_D_CONST,
  RKC_D_KERNEL
} rkc_decl_kind;

typedef struct rkc_decl {
  rkc_decl_kind kind;
  const char *name;
  rkc_loc loc;
  void *node; /* rkc_message, rkc_enum, rkc_const or rkc_kernel */
  rkc_file *file;
} rkc_decl;

struct rkc_ctx {
  rkc_arena arena;
  rkc_intern_tab names;
  rkc_diag_fn diag;
  void *diag_user;
  unsigned errors;
  rkc_file **files; /* malloc'ed; index = rkc_file.id */
  rkc_file_info *info;
  size_t n_files, cap_files;
  const char **inc; /* malloc'ed array of arena strings */
  size_t n_inc, cap_inc;
  rkc_map by_real;  /* interned realpath -> rkc_file */
  rkc_map ids;      /* type id + 1 -> rkc_message */
  int oom;
};

/* Arena memory (zeroed) living until rkc_free; NULL when out of memory
** (the context then reports one "out of memory" error). */
void *rkc_alloc(rkc_ctx *c, size_t n);
/* A NUL-terminated copy of s (or s[0..n)) in the arena. */
char *rkc_strdup(rkc_ctx *c, const char *s);
char *rkc_strndup(rkc_ctx *c, const char *s, size_t n);
/* The interned copy of s[0..n): equal strings give equal pointers. Never
** NULL: on out of memory it returns "" and marks the context failed. */
const char *rkc_intern(rkc_ctx *c, const char *s, size_t n);
const char *rkc_intern_cstr(rkc_ctx *c, const char *s);
/* arena sprintf */
char *rkc_fmt(rkc_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

rkc_file_info *rkc_info(rkc_ctx *c, const rkc_file *f);
void rkc_verror(rkc_ctx *c, rkc_loc loc, const char *fmt, va_list ap);
/* Error not tied to a place in a file (file == UINT32_MAX). */
#define RKC_NOWHERE ((rkc_loc){UINT32_MAX, 0, 0})
/* "file:line:col" of loc, in the arena. */
const char *rkc_where(rkc_ctx *c, rkc_loc loc);

/* grammar/rk.y: parses f->src into f's lists. Returns the number of syntax
** errors (each already reported). */
int rkc_parse_file(rkc_ctx *c, rkc_file *f);
/* sema.c: checks f (its imports already resolved and checked) and fills in
** the facts of ast.h. Errors are reported; returns how many. */
unsigned rkc_sema_file(rkc_ctx *c, rkc_file *f);
/* Every C name the outputs of root and its imports declare is unique;
** -1 (each clash reported) otherwise. */
int rkc_sema_names(rkc_ctx *c, rkc_file *root);
/* sema.c: the type, const and enum lookup used by the parser-independent
** resolution; finds name (plain or qualified) from file f. */
rkc_decl *rkc_lookup(rkc_ctx *c, rkc_file *f, const char *name, rkc_loc loc,
                     int report);
/* sema.c: 1 when name is a C11, C++17 or CUDA keyword or reserved name. */
int rkc_is_reserved(const char *name);

#endif /* RKC_INTERNAL_H */
