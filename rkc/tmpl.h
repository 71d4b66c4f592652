/* SPDX-License-Identifier: MIT */
/*
** tmpl.h: rkc's template engine. C code fills a tree of dictionaries and a
** template (a file in templates/, embedded at build time) says what text to
** write. The engine knows nothing of C: gen.c never writes C syntax itself.
** Rendering is deterministic: the same dictionary gives the same bytes.
*/
#ifndef RKC_TMPL_H
#define RKC_TMPL_H

#include <stddef.h>

/*
** Template syntax. Everything outside $...$ is copied as is.
**
**   $name$            the string value of name (missing name: an error)
**   $$                a literal '$'
**   $!comment$        nothing (a note for the template's reader)
**   $#each list$ ... $/each$
**                     the body once per dictionary of list, in the order they
**                     were added; inside it names are looked up in that
**                     dictionary first, then outwards. Each iteration also
**                     sees _first, _last (flags) and _index (0, 1, ...).
**   $#if name$ ... [$#else$ ...] $/if$
**                     the first part when name is true, else the second.
**                     $#if !name$ negates. True: a flag set to 1, a non-empty
**                     string or a non-empty list. A missing name is an error.
**   $>name$           the embedded template name, rendered in the current
**                     scope (a partial).
**   $@line$           the number of the output line it is on (1-based);
**   $@next_line$      that number plus one (for "#line N" directives).
**
** A line holding only a block tag ($#each, $/each, $#if, $#else, $/if, $!,
** $>)
** and blanks is dropped whole, so block tags can sit on lines of their own.
** Names are [A-Za-z0-9_]+.
*/

typedef struct rkt_dict rkt_dict;

/* A growing output buffer. */
typedef struct rkt_buf {
  char *p;
  size_t len, cap;
  unsigned line;   /* 1 + the newlines in p */
  int oom;         /* an allocation failed: p holds a truncated text */
} rkt_buf;

void rkt_buf_init(rkt_buf *b);
void rkt_buf_free(rkt_buf *b);
void rkt_buf_add(rkt_buf *b, const char *s, size_t n);

/* A new root dictionary owning a memory pool; NULL when out of memory.
** Every dictionary and string added under it lives in that pool until
** rkt_free(root). */
rkt_dict *rkt_new(void);
void rkt_free(rkt_dict *root);

/* Sets key to a copy of val (the last set wins). Keys are copied too. */
void rkt_set(rkt_dict *d, const char *key, const char *val);
/* The same for val[0..n) (which need not be NUL-terminated). */
void rkt_setn(rkt_dict *d, const char *key, const char *val, size_t n);
void rkt_setf(rkt_dict *d, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A flag (for $#if$). */
void rkt_set_flag(rkt_dict *d, const char *key, int on);
/* Makes key an (empty) list if it is not one yet (so $#each$ over a list
** that got no items is not a missing name). */
void rkt_list(rkt_dict *d, const char *key);
/* Appends a new dictionary to the list key (created when missing) and
** returns it; NULL when out of memory. */
rkt_dict *rkt_add(rkt_dict *d, const char *key);
/* 1 when an allocation under this root failed (the results are then not to
** be used). */
int rkt_failed(const rkt_dict *d);

/* Finds a template by name for $>name$; returns NULL when there is none. */
typedef const char *(*rkt_lookup_fn)(void *user, const char *name,
                                     size_t *len);

/* Renders text (len bytes; name is used in messages) with dictionary d,
** appending to out. Returns 0, or -1 with a message "name:line: ..." in err
** (errsz bytes) for a syntax error, a missing name, a missing partial or
** out of memory. lookup may be NULL (then $>name$ is an error). */
int rkt_render(const char *name, const char *text, size_t len,
               const rkt_dict *d, rkt_lookup_fn lookup, void *user,
               rkt_buf *out, char *err, size_t errsz);

/* The templates embedded at build time (cmake/embed.cmake writes the
** table). */
typedef struct rkt_embedded {
  const char *name;          /* file name without ".tmpl" */
  const unsigned char *text;
  size_t len;
} rkt_embedded;

extern const rkt_embedded rkt_embedded_templates[];
extern const size_t rkt_embedded_count;

/* An rkt_lookup_fn over the embedded table (user is ignored). */
const char *rkt_embedded_lookup(void *user, const char *name, size_t *len);

#endif /* RKC_TMPL_H */
