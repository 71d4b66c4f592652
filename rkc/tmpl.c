/* SPDX-License-Identifier: MIT */
/*
** tmpl.c: the template engine described in tmpl.h. A template is parsed
** into a small tree (text, variable, each, if, partial, line) and the tree
** is rendered against a chain of dictionaries. Dictionaries live in a pool
** owned by their root; nothing here knows what the text means.
*/
#include "tmpl.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RKT_MAX_DEPTH 64 /* nesting of blocks, partials and scopes */

/* ------------------------------------------------------------ buffer */

void rkt_buf_init(rkt_buf *b) {
  memset(b, 0, sizeof *b);
  b->line = 1;
}

void rkt_buf_free(rkt_buf *b) {
  free(b->p);
  rkt_buf_init(b);
}

/* Appends n bytes (keeps p NUL-terminated); on failure sets oom. */
void rkt_buf_add(rkt_buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->cap - b->len <= n) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n) {
      if (cap > SIZE_MAX / 2) { b->oom = 1; return; }
      cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return; }
    b->p = p;
    b->cap = cap;
  }
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\n') b->line++;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* -------------------------------------------------------------- pool */

typedef struct rkt_block {
  struct rkt_block *next;
  size_t used, size;
  max_align_t data[];
} rkt_block;

typedef struct rkt_pool {
  rkt_block *head;
  int oom;
} rkt_pool;

static void *pool_alloc(rkt_pool *p, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (!p->head || p->head->size - p->head->used < n) {
    size_t size = n > 16384 ? n : 16384;
    rkt_block *b = malloc(sizeof *b + size);
    if (!b) { p->oom = 1; return NULL; }
    b->next = p->head;
    b->used = 0;
    b->size = size;
    p->head = b;
  }
  void *r = (char *)p->head->data + p->head->used;
  p->head->used += n;
  memset(r, 0, n);
  return r;
}

static char *pool_strndup(rkt_pool *p, const char *s, size_t n) {
  char *r = pool_alloc(p, n + 1);
  if (!r) return NULL;
  memcpy(r, s, n);
  r[n] = '\0';
  return r;
}

static void pool_free(rkt_pool *p) {
  while (p->head) {
    rkt_block *n = p->head->next;
    free(p->head);
    p->head = n;
  }
}

/* -------------------------------------------------------- dictionary */

enum { V_STR = 1, V_FLAG, V_LIST };

typedef struct rkt_entry {
  const char *key;
  int type;
  const char *str;
  int flag;
  rkt_dict *first, *last; /* V_LIST items */
  size_t count;
  struct rkt_entry *next;
} rkt_entry;

struct rkt_dict {
  rkt_pool *pool;
  rkt_entry *first, *last;
  rkt_dict *next_item; /* next dictionary of the same list */
};

rkt_dict *rkt_new(void) {
  rkt_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  rkt_dict *d = pool_alloc(p, sizeof *d);
  if (!d) { free(p); return NULL; }
  d->pool = p;
  return d;
}

void rkt_free(rkt_dict *root) {
  if (!root) return;
  rkt_pool *p = root->pool;
  pool_free(p);
  free(p);
}

int rkt_failed(const rkt_dict *d) { return d->pool->oom; }

static rkt_entry *dict_find(const rkt_dict *d, const char *key, size_t n) {
  for (rkt_entry *e = d->first; e; e = e->next)
    if (strncmp(e->key, key, n) == 0 && e->key[n] == '\0') return e;
  return NULL;
}

/* The entry for key, created (and typed) when missing; NULL on OOM. */
static rkt_entry *dict_slot(rkt_dict *d, const char *key) {
  rkt_entry *e = dict_find(d, key, strlen(key));
  if (e) return e;
  e = pool_alloc(d->pool, sizeof *e);
  if (!e) return NULL;
  e->key = pool_strndup(d->pool, key, strlen(key));
  if (!e->key) return NULL;
  if (d->last) d->last->next = e; else d->first = e;
  d->last = e;
  return e;
}

void rkt_setn(rkt_dict *d, const char *key, const char *val, size_t n) {
  rkt_entry *e = dict_slot(d, key);
  if (!e) return;
  e->type = V_STR;
  e->str = pool_strndup(d->pool, val, n);
}

void rkt_set(rkt_dict *d, const char *key, const char *val) {
  rkt_setn(d, key, val, strlen(val));
}

void rkt_setf(rkt_dict *d, const char *key, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) { d->pool->oom = 1; return; }
  if ((size_t)n < sizeof small) { rkt_set(d, key, small); return; }
  char *big = malloc((size_t)n + 1);
  if (!big) { d->pool->oom = 1; return; }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  rkt_set(d, key, big);
  free(big);
}

void rkt_set_flag(rkt_dict *d, const char *key, int on) {
  rkt_entry *e = dict_slot(d, key);
  if (!e) return;
  e->type = V_FLAG;
  e->flag = on != 0;
}

void rkt_list(rkt_dict *d, const char *key) {
  rkt_entry *e = dict_slot(d, key);
  if (e && e->type != V_LIST) {
    e->type = V_LIST;
    e->first = e->last = NULL;
    e->count = 0;
  }
}

rkt_dict *rkt_add(rkt_dict *d, const char *key) {
  rkt_list(d, key);
  rkt_entry *e = dict_find(d, key, strlen(key));
  if (!e) return NULL;
  rkt_dict *item = pool_alloc(d->pool, sizeof *item);
  if (!item) return NULL;
  item->pool = d->pool;
  if (e->last) e->last->next_item = item; else e->first = item;
  e->last = item;
  e->count++;
  return item;
}

/* ------------------------------------------------------------ parser */

typedef enum { N_TEXT, N_VAR, N_EACH, N_IF, N_PARTIAL, N_LINE, N_NEXTLINE } nkind;

typedef struct node {
  nkind kind;
  const char *s; /* text or name */
  size_t n;
  int neg;       /* $#if !name$ */
  unsigned line; /* template line of the tag */
  struct node *body, *alt, *next;
} node;

typedef struct parser {
  const char *name, *src;
  size_t len, pos;
  unsigned line;
  rkt_pool pool;
  char *err;
  size_t errsz;
  int failed;
} parser;

static void perr(parser *p, unsigned line, const char *fmt, const char *a,
                 size_t an) {
  if (p->failed) return;
  p->failed = 1;
  int k = snprintf(p->err, p->errsz, "%s:%u: ", p->name, line);
  if (k >= 0 && (size_t)k < p->errsz)
    snprintf(p->err + k, p->errsz - (size_t)k, fmt, (int)an, a);
}

static node *new_node(parser *p, nkind k, const char *s, size_t n) {
  node *x = pool_alloc(&p->pool, sizeof *x);
  if (!x) { perr(p, p->line, "out of memory%.*s", "", 0); return NULL; }
  x->kind = k;
  x->s = s;
  x->n = n;
  x->line = p->line;
  return x;
}

static int is_name(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z')))
      return 0;
  }
  return 1;
}

/* Is the tag [ts, te) alone on its line (blanks around)? If so, *ls gets
** the line start and *le the offset after its newline. */
static int standalone(const parser *p, size_t ts, size_t te, size_t *ls,
                      size_t *le) {
  size_t a = ts;
  while (a > 0 && (p->src[a - 1] == ' ' || p->src[a - 1] == '\t')) a--;
  if (a > 0 && p->src[a - 1] != '\n') return 0;
  size_t b = te;
  while (b < p->len && (p->src[b] == ' ' || p->src[b] == '\t')) b++;
  if (b < p->len && p->src[b] != '\n') return 0;
  if (b < p->len) b++;
  *ls = a;
  *le = b;
  return 1;
}

typedef struct seq {
  node *head, *tail;
} seq;

static void seq_add(seq *q, node *x) {
  if (!x) return;
  if (q->tail) q->tail->next = x; else q->head = x;
  q->tail = x;
}

static void add_text(parser *p, seq *q, size_t a, size_t b) {
  if (b > a) seq_add(q, new_node(p, N_TEXT, p->src + a, b - a));
}

/* The tag that ended a sequence: 0 end of input, else '/', or 'e' for
** $#else$. tag and tn give the end tag's text. */
typedef struct stop {
  int what;
  const char *tag;
  size_t tn;
  unsigned line;
} stop;

static void count_lines(parser *p, size_t a, size_t b) {
  for (size_t i = a; i < b; i++)
    if (p->src[i] == '\n') p->line++;
}

static node *parse_seq(parser *p, stop *st, int depth);

/* Parses a block tag's body up to its end; x is the block node. */
static void parse_block(parser *p, node *x, const char *want, int depth) {
  stop st;
  x->body = parse_seq(p, &st, depth + 1);
  if (p->failed) return;
  if (st.what == 'e' && x->kind == N_IF)
    x->alt = parse_seq(p, &st, depth + 1);
  if (p->failed) return;
  size_t wn = strlen(want);
  if (st.what != '/' || st.tn != wn || memcmp(st.tag, want, wn) != 0)
    perr(p, x->line, "block opened here is not closed by $%.*s$", want, wn);
}

/* Handles one tag [ts, te) with contents c[0..cn); returns 1 when it ends
** the current sequence (st filled). */
static int parse_tag(parser *p, seq *q, size_t text0, size_t ts, size_t te,
                     const char *c, size_t cn, stop *st, int depth) {
  int block = cn > 0 && (c[0] == '#' || c[0] == '/' || c[0] == '!' ||
                        c[0] == '>');
  size_t ls = ts, le = te;
  if (!(block && standalone(p, ts, te, &ls, &le))) ls = ts, le = te;
  add_text(p, q, text0, ls);
  unsigned tag_line = p->line;
  count_lines(p, ts, le);
  p->pos = le;
  if (cn > 0 && c[0] == '!') return 0;
  if (cn > 0 && c[0] == '/') {
    st->what = '/';
    st->tag = c;
    st->tn = cn;
    st->line = tag_line;
    return 1;
  }
  if (cn == 5 && memcmp(c, "#else", 5) == 0) {
    st->what = 'e';
    st->line = tag_line;
    return 1;
  }
  node *x = NULL;
  if (cn > 6 && memcmp(c, "#each ", 6) == 0 && is_name(c + 6, cn - 6)) {
    x = new_node(p, N_EACH, c + 6, cn - 6);
    if (x) x->line = tag_line, parse_block(p, x, "/each", depth);
  } else if (cn > 4 && memcmp(c, "#if ", 4) == 0) {
    int neg = c[4] == '!';
    if (is_name(c + 4 + neg, cn - 4 - (size_t)neg)) {
      x = new_node(p, N_IF, c + 4 + neg, cn - 4 - (size_t)neg);
      if (x) x->neg = neg, x->line = tag_line, parse_block(p, x, "/if", depth);
    }
  } else if (cn > 1 && c[0] == '>' && is_name(c + 1, cn - 1)) {
    x = new_node(p, N_PARTIAL, c + 1, cn - 1);
  } else if (cn == 5 && memcmp(c, "@line", 5) == 0) {
    x = new_node(p, N_LINE, c, cn);
  } else if (cn == 10 && memcmp(c, "@next_line", 10) == 0) {
    x = new_node(p, N_NEXTLINE, c, cn);
  } else if (is_name(c, cn)) {
    x = new_node(p, N_VAR, c, cn);
  }
  if (!x && !p->failed) perr(p, tag_line, "bad tag $%.*s$", c, cn);
  if (x) x->line = tag_line;
  seq_add(q, x);
  return 0;
}

/* Parses text and tags until an end tag ($/...$ or $#else$) or the end. */
static node *parse_seq(parser *p, stop *st, int depth) {
  seq q = {NULL, NULL};
  st->what = 0;
  if (depth > RKT_MAX_DEPTH) {
    perr(p, p->line, "blocks nested deeper than %.*s", "64", 2);
    return NULL;
  }
  size_t text0 = p->pos;
  while (!p->failed && p->pos < p->len) {
    const char *d = memchr(p->src + p->pos, '$', p->len - p->pos);
    if (!d) { p->pos = p->len; break; }
    size_t ts = (size_t)(d - p->src);
    if (ts + 1 < p->len && p->src[ts + 1] == '$') { /* "$$": one '$' */
      add_text(p, &q, text0, ts + 1);
      count_lines(p, text0, ts + 1);
      p->pos = text0 = ts + 2;
      continue;
    }
    const char *e = memchr(p->src + ts + 1, '$', p->len - ts - 1);
    const char *nl = memchr(p->src + ts + 1, '\n', p->len - ts - 1);
    if (!e || (nl && nl < e && p->src[ts + 1] != '!')) {
      count_lines(p, text0, ts);
      perr(p, p->line, "unterminated tag $%.*s", p->src + ts + 1,
           e ? (size_t)(e - p->src) - ts - 1 : 0);
      break;
    }
    size_t te = (size_t)(e - p->src) + 1;
    count_lines(p, text0, ts);
    /* count_lines from text0 was done; parse_tag counts the tag itself */
    size_t t0 = text0;
    if (parse_tag(p, &q, t0, ts, te, p->src + ts + 1, te - ts - 2, st, depth))
      return q.head;
    text0 = p->pos;
  }
  if (!p->failed) {
    add_text(p, &q, text0, p->len);
    count_lines(p, text0, p->len);
  }
  return q.head;
}

/* ------------------------------------------------------------ render */

typedef struct frame {
  const rkt_dict *d;
  int each;           /* an iteration of $#each$ */
  size_t index, count;
} frame;

typedef struct render {
  const char *name;
  frame fr[RKT_MAX_DEPTH + 2];
  int nfr;
  rkt_lookup_fn lookup;
  void *user;
  rkt_buf *out;
  char *err;
  size_t errsz;
  int failed;
  int depth;
} render;

static void rerr(render *r, unsigned line, const char *what, const char *s,
                 size_t n) {
  if (r->failed) return;
  r->failed = 1;
  snprintf(r->err, r->errsz, "%s:%u: %s '%.*s'", r->name, line, what, (int)n,
           s);
}

/* Looks name up from the innermost scope out. Returns the entry, or NULL;
** for _first/_last/_index of an iteration, *special gets 1/0 (flags) or
** the index + 2 (so 0 means "not special"). */
static const rkt_entry *lookup(const render *r, const char *s, size_t n,
                               size_t *special) {
  *special = 0;
  for (int i = r->nfr - 1; i >= 0; i--) {
    const frame *f = &r->fr[i];
    if (f->each && n >= 5 && s[0] == '_') {
      if (n == 6 && memcmp(s, "_first", 6) == 0) {
        *special = f->index == 0 ? 1 : 0;
        return NULL;
      }
      if (n == 5 && memcmp(s, "_last", 5) == 0) {
        *special = f->index + 1 == f->count ? 1 : 0;
        return NULL;
      }
      if (n == 6 && memcmp(s, "_index", 6) == 0) {
        *special = f->index + 2;
        return NULL;
      }
    }
    const rkt_entry *e = dict_find(f->d, s, n);
    if (e) return e;
  }
  *special = (size_t)-1; /* missing */
  return NULL;
}

static int is_special_name(const char *s, size_t n) {
  return (n == 6 && memcmp(s, "_first", 6) == 0) ||
         (n == 5 && memcmp(s, "_last", 5) == 0) ||
         (n == 6 && memcmp(s, "_index", 6) == 0);
}

static void render_seq(render *r, const node *x);

static void render_var(render *r, const node *x) {
  size_t sp;
  const rkt_entry *e = lookup(r, x->s, x->n, &sp);
  if (!e && sp == (size_t)-1) { rerr(r, x->line, "missing variable", x->s, x->n); return; }
  if (!e && sp >= 2 && is_special_name(x->s, x->n) && x->s[1] == 'i') {
    char num[32];
    int k = snprintf(num, sizeof num, "%zu", sp - 2);
    rkt_buf_add(r->out, num, (size_t)k);
    return;
  }
  if (!e || e->type != V_STR) { rerr(r, x->line, "not a string:", x->s, x->n); return; }
  rkt_buf_add(r->out, e->str, strlen(e->str));
}

static void render_if(render *r, const node *x) {
  size_t sp;
  const rkt_entry *e = lookup(r, x->s, x->n, &sp);
  int on;
  if (e)
    on = e->type == V_FLAG ? e->flag
       : e->type == V_STR ? e->str[0] != '\0' : e->count > 0;
  else if (sp == (size_t)-1) { rerr(r, x->line, "missing variable", x->s, x->n); return; }
  else
    on = sp != 0;
  if (x->neg) on = !on;
  render_seq(r, on ? x->body : x->alt);
}

static void render_each(render *r, const node *x) {
  size_t sp;
  const rkt_entry *e = lookup(r, x->s, x->n, &sp);
  if (!e) { rerr(r, x->line, "missing list", x->s, x->n); return; }
  if (e->type != V_LIST) { rerr(r, x->line, "not a list:", x->s, x->n); return; }
  if (r->nfr >= RKT_MAX_DEPTH) { rerr(r, x->line, "scopes nested too deep at", x->s, x->n); return; }
  size_t i = 0;
  for (const rkt_dict *d = e->first; d && !r->failed; d = d->next_item, i++) {
    frame *f = &r->fr[r->nfr++];
    f->d = d;
    f->each = 1;
    f->index = i;
    f->count = e->count;
    render_seq(r, x->body);
    r->nfr--;
  }
}

static void render_partial(render *r, const node *x) {
  char name[128];
  if (x->n >= sizeof name) { rerr(r, x->line, "partial name too long:", x->s, x->n); return; }
  memcpy(name, x->s, x->n);
  name[x->n] = '\0';
  size_t len = 0;
  const char *text = r->lookup ? r->lookup(r->user, name, &len) : NULL;
  if (!text) { rerr(r, x->line, "missing template", x->s, x->n); return; }
  if (r->depth >= 16) { rerr(r, x->line, "partials nested too deep at", x->s, x->n); return; }
  parser p;
  memset(&p, 0, sizeof p);
  p.name = name; p.src = text; p.len = len; p.line = 1;
  p.err = r->err; p.errsz = r->errsz;
  stop st;
  node *tree = parse_seq(&p, &st, 0);
  if (!p.failed && st.what != 0)
    perr(&p, st.line, "unexpected end tag%.*s", "", 0);
  if (p.failed) { r->failed = 1; pool_free(&p.pool); return; }
  const char *saved = r->name;
  r->name = name;
  r->depth++;
  render_seq(r, tree);
  r->depth--;
  if (!r->failed) r->name = saved;
  pool_free(&p.pool);
}

static void render_seq(render *r, const node *x) {
  for (; x && !r->failed; x = x->next) {
    char num[32];
    int k;
    switch (x->kind) {
    case N_TEXT: rkt_buf_add(r->out, x->s, x->n); break;
    case N_VAR: render_var(r, x); break;
    case N_IF: render_if(r, x); break;
    case N_EACH: render_each(r, x); break;
    case N_PARTIAL: render_partial(r, x); break;
    case N_LINE:
    case N_NEXTLINE:
      k = snprintf(num, sizeof num, "%u",
                   r->out->line + (x->kind == N_NEXTLINE ? 1u : 0u));
      rkt_buf_add(r->out, num, (size_t)k);
      break;
    }
  }
}

int rkt_render(const char *name, const char *text, size_t len,
               const rkt_dict *d, rkt_lookup_fn lookup_fn, void *user,
               rkt_buf *out, char *err, size_t errsz) {
  parser p;
  memset(&p, 0, sizeof p);
  p.name = name; p.src = text; p.len = len; p.line = 1;
  p.err = err; p.errsz = errsz;
  stop st;
  node *tree = parse_seq(&p, &st, 0);
  if (!p.failed && st.what != 0)
    perr(&p, st.line, "end tag without a block%.*s", "", 0);
  if (p.failed) { pool_free(&p.pool); return -1; }
  render *r = calloc(1, sizeof *r);
  if (!r) { pool_free(&p.pool); snprintf(err, errsz, "%s: out of memory", name); return -1; }
  r->name = name;
  r->fr[0].d = d;
  r->nfr = 1;
  r->lookup = lookup_fn;
  r->user = user;
  r->out = out;
  r->err = err;
  r->errsz = errsz;
  render_seq(r, tree);
  int failed = r->failed;
  free(r);
  pool_free(&p.pool);
  if (!failed && (out->oom || rkt_failed(d))) {
    snprintf(err, errsz, "%s: out of memory", name);
    failed = 1;
  }
  return failed ? -1 : 0;
}

const char *rkt_embedded_lookup(void *user, const char *name, size_t *len) {
  (void)user;
  for (size_t i = 0; i < rkt_embedded_count; i++)
    if (strcmp(rkt_embedded_templates[i].name, name) == 0) {
      *len = rkt_embedded_templates[i].len;
      return (const char *)rkt_embedded_templates[i].text;
    }
  return NULL;
}
