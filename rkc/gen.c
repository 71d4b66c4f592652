/* SPDX-License-Identifier: MIT */
/*
** gen.c: rkc_generate. Fills one dictionary tree from a checked file (names,
** layouts, literals, bodies) and renders templates/{header,source,cuda}.tmpl
** with it; the YAML manifest comes from manifest.c. Outputs are written to
** temporary files in the output folder and renamed only when all are
** complete. Nothing here writes C syntax; it only spells names and values.
*/
#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct gen {
  rkc_ctx *c;
  rkc_file *f;
  rkt_dict *root;
  rkc_map need_init; /* message pointer -> 1 (no) or 2 (yes) */
  rkc_map on_device; /* message pointer -> DEV_* bits (what .rk.cu needs) */
  uint32_t *lines;   /* line starts of the current file, for #line */
  size_t n_lines;
  const rkc_file *lines_of;
  int failed;
} gen;

/* ------------------------------------------------------------- names */

const char *rkc_gen_scalar_ctype(rkc_type_kind k) {
  switch (k) {
  case RKC_T_BOOL: return "bool";
  case RKC_T_I8: return "int8_t";
  case RKC_T_U8: return "uint8_t";
  case RKC_T_I16: return "int16_t";
  case RKC_T_U16: return "uint16_t";
  case RKC_T_I32: return "int32_t";
  case RKC_T_U32: return "uint32_t";
  case RKC_T_I64: return "int64_t";
  case RKC_T_U64: return "uint64_t";
  case RKC_T_F32: return "float";
  case RKC_T_F64: return "double";
  default: return NULL;
  }
}

const char *rkc_gen_scalar_name(rkc_type_kind k) {
  static const char *const names[] = {NULL, "bool", "i8", "u8", "i16", "u16",
                                      "i32", "u32", "i64", "u64", "f32", "f64"};
  return k >= RKC_T_BOOL && k <= RKC_T_F64 ? names[k] : NULL;
}

/* The wire kind's name in rk.h ("RK_W_U32"); enums use their base. */
static const char *wire_kind(rkc_type_kind k) {
  static const char *const names[] = {
      NULL, "RK_W_BOOL", "RK_W_I8", "RK_W_U8", "RK_W_I16", "RK_W_U16",
      "RK_W_I32", "RK_W_U32", "RK_W_I64", "RK_W_U64", "RK_W_F32", "RK_W_F64"};
  return k >= RKC_T_BOOL && k <= RKC_T_F64 ? names[k] : "RK_W_MSG";
}

static char *upper(gen *g, const char *s) {
  char *r = rkc_strdup(g->c, s);
  for (char *p = r; p && *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
  return r;
}

static const char *msg_cname(gen *g, const rkc_message *m) {
  return rkc_fmt(g->c, "%s%s", m->file->prefix, m->name);
}

static const char *msg_id_macro(gen *g, const rkc_message *m) {
  return rkc_fmt(g->c, "%s%s_ID", m->file->PREFIX, upper(g, m->name));
}

static const char *msg_qname(gen *g, const rkc_message *m) {
  return rkc_fmt(g->c, "%s.%s", m->file->qual, m->name);
}

static const char *type_ctype(gen *g, const rkc_typeref *t) {
  if (t->kind == RKC_T_ENUM)
    return rkc_fmt(g->c, "%s%s", t->enm->file->prefix, t->enm->name);
  if (t->kind == RKC_T_MESSAGE) return msg_cname(g, t->msg);
  return rkc_gen_scalar_ctype(t->kind);
}

/* A C string literal's contents for s ('\\' and '"' escaped), also safe
** inside a comment. */
static const char *c_escape(gen *g, const char *s) {
  size_t n = strlen(s);
  char *r = rkc_alloc(g->c, 2 * n + 1), *o = r;
  if (!r) return "";
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' || s[i] == '"') *o++ = '\\';
    if (s[i] == '/' && i > 0 && s[i - 1] == '*') *o++ = '\\';
    *o++ = (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
  }
  *o = '\0';
  return r;
}

/* ---------------------------------------------------------- literals */

static int is_signed_kind(rkc_type_kind k) {
  return k == RKC_T_I8 || k == RKC_T_I16 || k == RKC_T_I32 || k == RKC_T_I64;
}

/* An integer literal for a value of kind k; the template casts it. */
static const char *int_lit(gen *g, rkc_type_kind k, int neg, uint64_t mag) {
  if (k == RKC_T_BOOL) return mag ? "true" : "false";
  if (k == RKC_T_F32) return rkc_fmt(g->c, "%s%" PRIu64 ".0f", neg ? "-" : "", mag);
  if (k == RKC_T_F64) return rkc_fmt(g->c, "%s%" PRIu64 ".0", neg ? "-" : "", mag);
  if (neg && mag == 0) neg = 0;
  if (neg && mag == UINT64_C(9223372036854775808))
    return "(-9223372036854775807ll - 1)";
  int wide = k == RKC_T_I64 || k == RKC_T_U64;
  if (neg) return rkc_fmt(g->c, "(-%" PRIu64 "%s)", mag, wide ? "ll" : "");
  if (is_signed_kind(k)) return rkc_fmt(g->c, "%" PRIu64 "%s", mag, wide ? "ll" : "");
  return rkc_fmt(g->c, "%" PRIu64 "%s", mag, wide ? "ull" : "u");
}

/* A float literal: shortest round-tripping text with a '.' or exponent. */
static const char *float_lit(gen *g, rkc_type_kind k, double v) {
  char buf[64];
  int prec = k == RKC_T_F32 ? 9 : 17;
  for (int p = 1; p <= prec; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, v);
    if (k == RKC_T_F32 ? (float)strtod(buf, NULL) == (float)v
                       : strtod(buf, NULL) == v)
      break;
  }
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  if (k == RKC_T_F32) strcat(buf, "f");
  return rkc_strdup(g->c, buf);
}

static rkc_const *find_const(gen *g, rkc_file *from, const char *name,
                             rkc_loc loc) {
  rkc_decl *d = rkc_lookup(g->c, from, name, loc, 0);
  return d && d->kind == RKC_D_CONST ? (rkc_const *)d->node : NULL;
}

static const char *value_text(gen *g, rkc_file *from, const rkc_typeref *t,
                              const rkc_value *v);

/* The macro of an enum value or constant that v names, or NULL. */
static const char *ident_text(gen *g, rkc_file *from, const rkc_typeref *t,
                              const rkc_value *v) {
  const char *name = v->text, *dot = strrchr(name, '.');
  if (t->kind == RKC_T_ENUM && t->enm) {
    const char *last = dot ? dot + 1 : name;
    for (rkc_enum_value *e = t->enm->values; e; e = e->next)
      if (strcmp(e->name, last) == 0)
        return rkc_fmt(g->c, "%s%s_%s", t->enm->file->PREFIX,
                       upper(g, t->enm->name), upper(g, e->name));
  }
  rkc_const *k = find_const(g, from, name, v->loc);
  if (k) return rkc_fmt(g->c, "%s%s", k->file->PREFIX, upper(g, k->name));
  return NULL;
}

/* The text of value v for a field or constant of type t. */
static const char *value_text(gen *g, rkc_file *from, const rkc_typeref *t,
                              const rkc_value *v) {
  rkc_type_kind k = t->kind == RKC_T_ENUM ? t->enm->base : t->kind;
  switch (v->kind) {
  case RKC_V_INT: return int_lit(g, k, v->neg, v->mag);
  case RKC_V_FLOAT:
    return float_lit(g, k == RKC_T_F32 ? RKC_T_F32 : RKC_T_F64, v->f);
  case RKC_V_BOOL: return v->b ? "true" : "false";
  case RKC_V_IDENT: {
    const char *s = ident_text(g, from, t, v);
    if (s) return s;
    break;
  }
  default: break;
  }
  rkc_error(g->c, v->loc, "cannot generate this value");
  g->failed = 1;
  return "0";
}

/* ------------------------------------------------------- doc, lines */

/* Sets list "doc" of d: one {text} per line of the /// comment. */
static void set_doc(rkt_dict *d, const char *doc) {
  rkt_list(d, "doc");
  while (doc && *doc) {
    const char *e = strchr(doc, '\n');
    size_t n = e ? (size_t)(e - doc) : strlen(doc);
    const char *s = doc;
    if (n > 0 && *s == ' ') s++, n--;
    /* a trailing '\' would splice the next line into the // comment */
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\\' ||
                     s[n - 1] == '\r'))
      n--;
    char *t = malloc(n + 1);
    if (!t) return;
    memcpy(t, s, n);
    t[n] = '\0';
    /* "??/" and the other trigraphs are live in C11: break them up */
    for (size_t i = 0; i + 2 < n; i++)
      if (t[i] == '?' && t[i + 1] == '?' && strchr("=()/'<!>-", t[i + 2]))
        t[i + 1] = ' ';
    rkt_dict *x = rkt_add(d, "doc");
    if (x) rkt_set(x, "text", t);
    free(t);
    doc = e ? e + 1 : NULL;
  }
}

/* The 1-based line of byte offset off in file f. */
static unsigned line_of(gen *g, const rkc_file *f, uint32_t off) {
  if (g->lines_of != f) {
    free(g->lines);
    g->lines = NULL;
    g->n_lines = 0;
    size_t n = 1;
    for (size_t i = 0; i < f->len; i++) n += f->src[i] == '\n';
    g->lines = malloc(n * sizeof *g->lines);
    if (!g->lines) { g->failed = 1; return 1; }
    g->lines[g->n_lines++] = 0;
    for (size_t i = 0; i < f->len; i++)
      if (f->src[i] == '\n') g->lines[g->n_lines++] = (uint32_t)i + 1;
    g->lines_of = f;
  }
  size_t lo = 0, hi = g->n_lines;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (g->lines[mid] <= off) lo = mid; else hi = mid;
  }
  return (unsigned)lo + 1;
}

/* ----------------------------------------------------------- fields */

/* 1 when an object of m needs more than zeroing (defaults, nested ones). */
static int needs_init(gen *g, rkc_message *m) {
  uintptr_t v = (uintptr_t)rkc_map_get(&g->need_init, (uint64_t)(uintptr_t)m);
  if (v) return v == 2;
  int r = 0;
  for (rkc_field *fl = m->fields; fl && !r; fl = fl->next)
    r = fl->has_default ||
        (fl->type.kind == RKC_T_MESSAGE && needs_init(g, fl->type.msg));
  rkc_map_put(&g->need_init, (uint64_t)(uintptr_t)m, (void *)(uintptr_t)(r ? 2 : 1));
  return r;
}

enum { DEV_DINIT = 1, DEV_DEFAULTS = 2 };

/* The DEV_* bits of m (a cell in the arena; rkc_map values are set once). */
static uintptr_t *dev_cell(gen *g, rkc_message *m) {
  static uintptr_t none;
  uintptr_t *c = rkc_map_get(&g->on_device, (uint64_t)(uintptr_t)m);
  if (c) return c;
  c = rkc_alloc(g->c, sizeof *c);
  if (!c) { none = 0; return &none; }
  rkc_map_put(&g->on_device, (uint64_t)(uintptr_t)m, c);
  return c;
}

/* Marks m (a response, or nested in one) as needing its device defaults
** function, and so on for its nested messages that need init. */
static void mark_ddefaults(gen *g, rkc_message *m) {
  uintptr_t *v = dev_cell(g, m);
  if ((*v & DEV_DEFAULTS) || !needs_init(g, m)) return;
  *v |= DEV_DEFAULTS;
  for (rkc_field *fl = m->fields; fl; fl = fl->next)
    if (fl->type.kind == RKC_T_MESSAGE) mark_ddefaults(g, fl->type.msg);
}

/* The response types of f's kernels get a device _dinit (and defaults):
** only those, as nvcc warns about unused static functions. */
static void mark_device(gen *g, rkc_file *f) {
  for (rkc_kernel *k = f->kernels; k; k = k->next)
    for (rkc_handler *h = k->handlers; h; h = h->next)
      if (h->has_resp) {
        *dev_cell(g, h->resp.msg) |= DEV_DINIT;
        mark_ddefaults(g, h->resp.msg);
      }
}

static uintptr_t device_bits(gen *g, rkc_message *m) {
  uintptr_t *c = rkc_map_get(&g->on_device, (uint64_t)(uintptr_t)m);
  return c ? *c : 0;
}

/* Adds one {name, is_array, count, is_msg, msg_c, value} to list for each
** field of fl that needs something besides zero. */
static void fill_inits(gen *g, rkc_file *from, rkt_dict *d, const char *list,
                       rkc_field *fl) {
  rkt_list(d, list);
  for (; fl; fl = fl->next) {
    int is_msg = fl->type.kind == RKC_T_MESSAGE;
    if (!(fl->has_default || (is_msg && needs_init(g, fl->type.msg))))
      continue;
    rkt_dict *x = rkt_add(d, list);
    if (!x) return;
    rkt_set(x, "name", fl->name);
    rkt_set_flag(x, "is_array", fl->count > 0);
    rkt_setf(x, "count", "%" PRIu32, fl->count);
    rkt_set_flag(x, "is_msg", is_msg);
    rkt_set(x, "msg_c", is_msg ? msg_cname(g, fl->type.msg) : "");
    rkt_set(x, "value",
            fl->has_default ? value_text(g, from, &fl->type, &fl->def) : "");
  }
}

/* Fills list with one dictionary per field (C declaration, layout, wire). */
static void fill_fields(gen *g, rkt_dict *d, const char *list,
                        const char *owner_c, rkc_field *fl) {
  rkt_list(d, list);
  for (; fl; fl = fl->next) {
    rkt_dict *x = rkt_add(d, list);
    if (!x) return;
    const rkc_typeref *t = &fl->type;
    rkt_set(x, "name", fl->name);
    rkt_set(x, "ctype", type_ctype(g, t));
    rkt_set_flag(x, "is_array", fl->count > 0);
    rkt_setf(x, "count", "%" PRIu32, fl->count);
    rkt_setf(x, "offset", "%" PRIu32, fl->offset);
    rkt_set(x, "msg_c_name", owner_c);
    set_doc(x, fl->doc);
    rkc_type_kind wk = t->kind == RKC_T_ENUM ? t->enm->base : t->kind;
    rkt_set(x, "wire_kind", wire_kind(wk));
    rkt_setf(x, "len_index", "%" PRId32,
             fl->len_field ? (int32_t)fl->len_field->index : -1);
    rkt_set_flag(x, "is_enum", t->kind == RKC_T_ENUM);
    rkt_setf(x, "n_enum", "%" PRIu32, t->kind == RKC_T_ENUM ? t->enm->n_values : 0);
    rkt_set(x, "enum_c_name", t->kind == RKC_T_ENUM ? type_ctype(g, t) : "");
    rkt_set_flag(x, "is_msg", t->kind == RKC_T_MESSAGE);
    rkt_set(x, "type_c_name", t->kind == RKC_T_MESSAGE ? type_ctype(g, t) : "");
  }
}

/* ------------------------------------------------------ declarations */

static void fill_consts(gen *g, rkt_dict *d, rkc_file *f) {
  rkt_list(d, "consts");
  for (rkc_const *k = f->consts; k; k = k->next) {
    rkt_dict *x = rkt_add(d, "consts");
    if (!x) return;
    rkt_setf(x, "macro", "%s%s", f->PREFIX, upper(g, k->name));
    rkt_set(x, "ctype", type_ctype(g, &k->type));
    rkt_set(x, "lit", value_text(g, f, &k->type, &k->v));
    set_doc(x, k->doc);
  }
}

static void fill_enums(gen *g, rkt_dict *d, rkc_file *f) {
  rkt_list(d, "enums");
  for (rkc_enum *e = f->enums; e; e = e->next) {
    rkt_dict *x = rkt_add(d, "enums");
    if (!x) return;
    const char *cname = rkc_fmt(g->c, "%s%s", f->prefix, e->name);
    rkt_set(x, "c_name", cname);
    rkt_set(x, "ctype", rkc_gen_scalar_ctype(e->base));
    rkt_setf(x, "n_values", "%" PRIu32, e->n_values);
    set_doc(x, e->doc);
    rkt_list(x, "values");
    for (rkc_enum_value *v = e->values; v; v = v->next) {
      rkt_dict *y = rkt_add(x, "values");
      if (!y) return;
      rkt_setf(y, "macro", "%s%s_%s", f->PREFIX, upper(g, e->name),
               upper(g, v->name));
      uint64_t mag = v->neg ? (uint64_t)0 - v->value : v->value;
      rkt_set(y, "lit", int_lit(g, e->base, v->neg, mag));
      rkt_setf(y, "pattern", "%" PRIu64, v->value);
      set_doc(y, v->doc);
    }
  }
}

static void fill_messages(gen *g, rkt_dict *d, rkc_file *f) {
  rkt_list(d, "messages");
  for (uint32_t i = 0; i < f->n_messages; i++) {
    rkc_message *m = f->msg_order[i];
    rkt_dict *x = rkt_add(d, "messages");
    if (!x) return;
    const char *cname = msg_cname(g, m);
    rkt_set(x, "c_name", cname);
    rkt_set(x, "name", m->name);
    rkt_set(x, "qname", msg_qname(g, m));
    rkt_setf(x, "id", "%" PRIu32, m->id);
    rkt_set(x, "id_macro", msg_id_macro(g, m));
    rkt_setf(x, "size", "%" PRIu32, m->size);
    rkt_setf(x, "align", "%" PRIu32, m->align);
    rkt_setf(x, "encoded_max", "%" PRIu64, m->encoded_max);
    rkt_setf(x, "n_fields", "%" PRIu32, m->n_fields);
    rkt_set_flag(x, "empty", m->fields == NULL);
    rkt_set_flag(x, "needs_init", needs_init(g, m));
    rkt_set_flag(x, "dev_dinit", (device_bits(g, m) & DEV_DINIT) != 0);
    rkt_set_flag(x, "dev_defaults", (device_bits(g, m) & DEV_DEFAULTS) != 0);
    set_doc(x, m->doc);
    fill_fields(g, x, "fields", cname, m->fields);
    fill_inits(g, f, x, "inits", m->fields);
  }
}

/* Constants, enums and messages of f, under the names the templates use. */
static void fill_decls(gen *g, rkt_dict *d, rkc_file *f) {
  rkt_set(d, "source", c_escape(g, f->path));
  rkt_set(d, "prefix", f->prefix);
  rkt_set(d, "PREFIX", f->PREFIX);
  fill_consts(g, d, f);
  fill_enums(g, d, f);
  fill_messages(g, d, f);
}

/* Appends f's imports (depth first, each once) and then f to "units". */
static void fill_units(gen *g, rkc_map *seen, rkc_file *f) {
  if (rkc_map_get(seen, (uint64_t)f->id + 1)) return;
  rkc_map_put(seen, (uint64_t)f->id + 1, f);
  for (rkc_import *im = f->imports; im; im = im->next)
    if (im->file) fill_units(g, seen, im->file);
  rkt_dict *u = rkt_add(g->root, "units");
  if (u) fill_decls(g, u, f);
}

/* ----------------------------------------------------------- kernels */

static void add_type(gen *g, rkt_dict *k, const rkc_message **seen,
                     uint32_t *n, const rkc_message *m) {
  for (uint32_t i = 0; i < *n; i++)
    if (seen[i] == m) return;
  seen[(*n)++] = m;
  rkt_dict *x = rkt_add(k, "types");
  if (!x) return;
  rkt_set(x, "id_macro", msg_id_macro(g, m));
  rkt_set(x, "type_c", msg_cname(g, m));
  rkt_set(x, "qname", msg_qname(g, m));
}

static void fill_handler(gen *g, rkt_dict *k, const char *kc, rkc_handler *h) {
  rkt_dict *x = rkt_add(k, "handlers");
  if (!x) return;
  rkc_message *req = h->req.msg;
  rkt_setf(x, "fn", "rk_h_%s_%s", kc, req->name);
  rkt_set(x, "req_c", msg_cname(g, req));
  rkt_set(x, "req_name", req->name);
  rkt_set(x, "req_id_macro", msg_id_macro(g, req));
  rkt_set(x, "req_var", h->req_var);
  rkt_set_flag(x, "has_resp", h->has_resp);
  rkt_set(x, "resp_c", h->has_resp ? msg_cname(g, h->resp.msg) : "");
  rkt_set(x, "resp_id_macro", h->has_resp ? msg_id_macro(g, h->resp.msg) : "");
  rkt_set(x, "resp_var", h->has_resp ? h->resp_var : "");
  rkt_setn(x, "body", h->body, h->body_len);
  rkt_setf(x, "body_line", "%u", line_of(g, g->f, h->body_loc.begin));
  set_doc(x, h->doc);
}

static void fill_kernel_handlers(gen *g, rkt_dict *x, rkc_kernel *k,
                                 const char *kc) {
  uint32_t nh = 0, nt = 0, nr = 0, req_max = 0, resp_max = 0;
  for (rkc_handler *h = k->handlers; h; h = h->next) nh++;
  const rkc_message **types = calloc(2 * (size_t)nh + 1, sizeof *types);
  const rkc_message **resps = calloc((size_t)nh + 1, sizeof *resps);
  if (!types || !resps) { free(types); free(resps); g->failed = 1; return; }
  rkt_list(x, "handlers");
  rkt_list(x, "types");
  rkt_list(x, "resps");
  for (rkc_handler *h = k->handlers; h; h = h->next) {
    fill_handler(g, x, kc, h);
    add_type(g, x, types, &nt, h->req.msg);
    if (h->req.msg->size > req_max) req_max = h->req.msg->size;
    if (!h->has_resp) continue;
    const rkc_message *r = h->resp.msg;
    add_type(g, x, types, &nt, r);
    if (r->size > resp_max) resp_max = r->size;
    int dup = 0;
    for (uint32_t i = 0; i < nr; i++) dup |= resps[i] == r;
    if (dup) continue;
    resps[nr++] = r;
    rkt_dict *y = rkt_add(x, "resps");
    if (!y) break;
    rkt_set(y, "resp_c", msg_cname(g, r));
    rkt_set(y, "resp_name", r->name);
    rkt_set(y, "resp_id_macro", msg_id_macro(g, r));
  }
  free(types);
  free(resps);
  rkt_setf(x, "n_handlers", "%" PRIu32, nh);
  rkt_setf(x, "n_types", "%" PRIu32, nt);
  rkt_setf(x, "req_max", "%" PRIu32, req_max);
  rkt_setf(x, "resp_max", "%" PRIu32, resp_max);
}

static void fill_kernel(gen *g, rkc_kernel *k) {
  static const char *const backends[] = {"RK_BACKEND_AUTO", "RK_BACKEND_CPU",
                                         "RK_BACKEND_CUDA"};
  rkt_dict *x = rkt_add(g->root, "kernels");
  if (!x) return;
  const char *kc = rkc_fmt(g->c, "%s%s", g->f->prefix, k->name);
  rkt_set(x, "c_name", kc);
  rkt_set(x, "kernel_c_name", kc);
  rkt_set(x, "kernel", k->name);
  rkt_set(x, "name", k->name);
  rkt_setf(x, "qname", "%s.%s", g->f->qual, k->name);
  set_doc(x, k->doc);
  rkt_set_flag(x, "has_state", k->has_state);
  rkt_set(x, "state_type", k->has_state ? rkc_fmt(g->c, "%s_state", kc) : "void");
  rkt_set_flag(x, "state_empty", k->has_state && k->state == NULL);
  rkt_setf(x, "state_size", "%" PRIu32, k->state_size);
  rkt_setf(x, "state_align", "%" PRIu32, k->state_align);
  fill_fields(g, x, "state_fields", rkc_fmt(g->c, "%s_state", kc), k->state);
  fill_inits(g, g->f, x, "state_inits", k->state);
  rkt_setf(x, "capacity", "%" PRIu32, k->capacity);
  rkt_setf(x, "block", "%" PRIu32, k->block);
  rkt_setf(x, "grid", "%" PRIu32, k->grid);
  rkt_setf(x, "actors", "%" PRIu32, k->has_state ? k->actors : 1u);
  rkt_set(x, "backend", backends[k->backend <= RKC_BACKEND_CUDA ? k->backend : 0]);
  rkt_setf(x, "dispatch", "rk_dispatch_%s", kc);
  rkt_setf(x, "ddispatch", "rk_ddispatch_%s", kc);
  rkt_setf(x, "entry", "rk_kernel_%s", kc);
  fill_kernel_handlers(g, x, k, kc);
}

/* --------------------------------------------------------- the root */

static void fill_root(gen *g) {
  rkc_file *f = g->f;
  rkt_dict *d = g->root;
  rkt_set(d, "version", RKC_VERSION);
  rkt_set(d, "base", f->base);
  rkt_setf(d, "h_file", "%s.rk.h", f->base);
  rkt_setf(d, "c_file", "%s.rk.c", f->base);
  rkt_setf(d, "cu_file", "%s.rk.cu", f->base);
  char *guard = upper(g, rkc_fmt(g->c, "RK_GEN_%s_RK_H", f->base));
  for (char *p = guard; p && *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) *p = '_';
  rkt_set(d, "guard", guard ? guard : "RK_GEN_H");
  rkt_set(d, "source_c", c_escape(g, f->path));
  set_doc(d, f->doc);
  fill_decls(g, d, f);
  rkt_list(d, "imports");
  for (rkc_import *im = f->imports; im; im = im->next)
    if (im->file)
      rkt_setf(rkt_add(d, "imports"), "header", "%s.rk.h",
               c_escape(g, im->file->base));
  rkt_list(d, "units");
  mark_device(g, f);
  rkc_map seen = {0};
  fill_units(g, &seen, f);
  rkc_map_free(&seen);
  rkt_list(d, "codes");
  for (rkc_code *cb = f->codes; cb; cb = cb->next) {
    rkt_dict *x = rkt_add(d, "codes");
    if (!x) break;
    rkt_setn(x, "body", cb->body, cb->body_len);
    rkt_setf(x, "line", "%u", line_of(g, f, cb->loc.begin));
  }
  rkt_list(d, "kernels");
  for (rkc_kernel *k = f->kernels; k; k = k->next) fill_kernel(g, k);
}

/* Sets cuda_bytes (the text as a char array initializer of decimal bytes,
** NUL included, 32 to a line) and cuda_len. */
static void set_cuda_bytes(gen *g, const rkt_buf *cu) {
  size_t n = cu->len + 1, per = 32;
  char *s = malloc(n * 4 + n / per + 16), *o = s;
  if (!s) { g->failed = 1; return; }
  for (size_t i = 0; i < n; i++) {
    unsigned b = i < cu->len ? (unsigned char)cu->p[i] : 0u;
    if (i % per == 0 && i) *o++ = '\n';
    if (b >= 100) *o++ = (char)('0' + b / 100);
    if (b >= 10) *o++ = (char)('0' + b / 10 % 10);
    *o++ = (char)('0' + b % 10);
    *o++ = ',';
  }
  *o = '\0';
  rkt_set(g->root, "cuda_bytes", s);
  rkt_setf(g->root, "cuda_len", "%zu", n);
  free(s);
}

/* ----------------------------------------------------------- output */

typedef struct outfile {
  const char *path, *tmp;
  rkt_buf text;
} outfile;

/* Writes every file to a temporary name, then renames them all. On any
** failure the temporaries are removed and -1 returned (after an error). */
static int write_all(gen *g, outfile *o, size_t n) {
  size_t bad = n;
  int err = 0;
  for (size_t i = 0; i < n && bad == n; i++) {
    char *tmp = rkc_fmt(g->c, "%s.tmpXXXXXX", o[i].path);
    int fd = tmp ? mkstemp(tmp) : -1;
    if (fd < 0) { bad = i; err = errno; break; }
    o[i].tmp = tmp;
    size_t off = 0;
    while (off < o[i].text.len) {
      ssize_t w = write(fd, o[i].text.p + off, o[i].text.len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
    if (off != o[i].text.len || fchmod(fd, 0644) != 0) bad = i, err = errno;
    if (close(fd) != 0 && bad == n) bad = i, err = errno;
  }
  for (size_t j = 0; j < n && bad == n; j++)
    if (rename(o[j].tmp, o[j].path) != 0) bad = j, err = errno;
  if (bad == n) return 0;
  rkc_error(g->c, RKC_NOWHERE, "cannot write %s: %s", o[bad].path,
            strerror(err ? err : EIO));
  for (size_t j = 0; j < n; j++)
    if (o[j].tmp) unlink(o[j].tmp);
  return -1;
}

static int render(gen *g, const char *tmpl, rkt_buf *out) {
  size_t len = 0;
  const char *text = rkt_embedded_lookup(NULL, tmpl, &len);
  char err[512];
  if (!text) {
    rkc_error(g->c, RKC_NOWHERE, "template %s is not built into rkc", tmpl);
    return -1;
  }
  if (rkt_render(tmpl, text, len, g->root, rkt_embedded_lookup, NULL, out, err,
                 sizeof err) != 0) {
    rkc_error(g->c, RKC_NOWHERE, "template %s", err);
    return -1;
  }
  return 0;
}

/* Renders every requested output of g->f into o[]; returns how many, or -1
** after an error. */
static int render_all(gen *g, unsigned emit, const char *dir, outfile *o) {
  const char *b = g->f->base;
  int n = 0;
  rkt_buf cu;
  rkt_buf_init(&cu);
  /* the .rk.c embeds the .rk.cu text, so C output needs it too */
  if (emit & (RKC_EMIT_C | RKC_EMIT_CUDA)) {
    if (render(g, "cuda", &cu) != 0) return -1;
    set_cuda_bytes(g, &cu);
  }
  if (emit & RKC_EMIT_C) {
    o[n].path = rkc_fmt(g->c, "%s/%s.rk.h", dir, b);
    if (render(g, "header", &o[n++].text) != 0) goto fail;
    o[n].path = rkc_fmt(g->c, "%s/%s.rk.c", dir, b);
    if (render(g, "source", &o[n++].text) != 0) goto fail;
  }
  if (emit & RKC_EMIT_CUDA) {
    o[n].path = rkc_fmt(g->c, "%s/%s.rk.cu", dir, b);
    o[n++].text = cu;
    rkt_buf_init(&cu);
  }
  if (emit & RKC_EMIT_MANIFEST) {
    char err[512];
    o[n].path = rkc_fmt(g->c, "%s/%s.rk.yaml", dir, b);
    if (rkc_manifest(g->c, g->f, &o[n++].text, err, sizeof err) != 0) {
      rkc_error(g->c, RKC_NOWHERE, "manifest: %s", err);
      goto fail;
    }
  }
  rkt_buf_free(&cu);
  return n;
fail:
  rkt_buf_free(&cu);
  return -1;
}

int rkc_generate(rkc_ctx *c, rkc_file *f, unsigned emit, const char *out_dir,
                 const char ***outputs) {
  gen g;
  memset(&g, 0, sizeof g);
  g.c = c;
  g.f = f;
  g.root = rkt_new();
  if (!g.root) {
    rkc_error(c, RKC_NOWHERE, "out of memory");
    return -1;
  }
  outfile o[4];
  memset(o, 0, sizeof o);
  for (int i = 0; i < 4; i++) rkt_buf_init(&o[i].text);
  fill_root(&g);
  int n = -1;
  if (!g.failed && !rkt_failed(g.root))
    n = render_all(&g, emit, out_dir && *out_dir ? out_dir : ".", o);
  else if (!g.failed)
    rkc_error(c, RKC_NOWHERE, "out of memory");
  int rc = n < 0 || g.failed ? -1 : write_all(&g, o, (size_t)n);
  if (rc == 0 && outputs) {
    size_t have = 0;
    while (*outputs && (*outputs)[have]) have++;
    const char **arr = rkc_alloc(c, (have + (size_t)n + 1) * sizeof *arr);
    if (arr) {
      for (size_t i = 0; i < have; i++) arr[i] = (*outputs)[i];
      for (int i = 0; i < n; i++) arr[have + (size_t)i] = o[i].path;
      *outputs = arr;
    }
  }
  for (int i = 0; i < 4; i++) rkt_buf_free(&o[i].text);
  free(g.lines);
  rkc_map_free(&g.need_init);
  rkc_map_free(&g.on_device);
  rkt_free(g.root);
  return rc;
}
