/* SPDX-License-Identifier: MIT */
/*
** rkc_test.h: what the rkc front-end tests share: a diagnostic sink that
** keeps every diagnostic's text, and compiling a string with it.
*/
#ifndef RKC_TEST_H
#define RKC_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rkc.h"

typedef struct diags {
  char *all;    /* every diagnostic, concatenated */
  size_t len;
  unsigned n;
} diags;

static inline void diags_sink(void *user, const char *text) {
  diags *d = user;
  size_t n = strlen(text);
  char *p = realloc(d->all, d->len + n + 1);
  assert_non_null(p);
  memcpy(p + d->len, text, n + 1);
  d->all = p;
  d->len += n;
  d->n++;
}

/* The first line of the i-th diagnostic ("file:line:col: error: msg"),
** written into buf. */
static inline const char *diags_line(const diags *d, unsigned i, char *buf,
                              size_t cap) {
  const char *p = d->all;
  unsigned k = 0;
  while (p != NULL && *p) {
    if (strstr(p, ": error: ") != NULL && (p == d->all || p[-1] == '\n')) {
      const char *nl = strchr(p, '\n');
      size_t n = nl ? (size_t)(nl - p) : strlen(p);
      /* a diagnostic line, not a source line: has "error:" before '\n' */
      const char *e = strstr(p, ": error: ");
      if (e < p + n) {
        if (k == i) {
          snprintf(buf, cap, "%.*s", (int)n, p);
          return buf;
        }
        k++;
      }
    }
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  snprintf(buf, cap, "<none>");
  return buf;
}

/* Compiles src as "t.rk"; the context and sink stay for inspection. */
static inline rkc_file *compile(rkc_ctx **c, diags *d, const char *src) {
  memset(d, 0, sizeof *d);
  *c = rkc_new();
  assert_non_null(*c);
  rkc_set_diag(*c, diags_sink, d);
  return rkc_compile_string(*c, "t.rk", src, strlen(src));
}

static inline void done(rkc_ctx *c, diags *d) {
  rkc_free(c);
  free(d->all);
  memset(d, 0, sizeof *d);
}

/* Asserts that src gives exactly one diagnostic, whose first line is
** "t.rk:" + want. */
#define assert_one_error(src, want)                                        \
  do {                                                                     \
    rkc_ctx *c_;                                                           \
    diags d_;                                                              \
    char b_[512];                                                          \
    assert_null(compile(&c_, &d_, (src)));                                 \
    if (d_.n != 1)                                                         \
      print_error("diagnostics:\n%s", d_.all ? d_.all : "");               \
    assert_int_equal(d_.n, 1);                                             \
    assert_string_equal(diags_line(&d_, 0, b_, sizeof b_), "t.rk:" want);  \
    done(c_, &d_);                                                         \
  } while (0)

#endif /* RKC_TEST_H */
