/* SPDX-License-Identifier: MIT */
/*
** sema.c: the semantic checks of one file (its imports already checked) and
** the facts they add to the AST: resolved types, constant array sizes, enum
** values, C layouts (natural alignment), wire maxima, type ids, kernel
** options with defaults, and the dependency order of messages. Every check
** reports at the offending name and goes on, so one run shows every error.
*/
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Names that would break the generated C11, C++17 or CUDA code (sorted for
** bsearch). Names beginning with "__" or "_" and a capital are reserved too. */
static const char *const reserved[] = {
    "NULL", "alignas", "alignof", "and", "and_eq", "asm", "assert", "auto",
    "bitand", "bitor", "blockDim", "blockIdx", "bool", "break", "case",
    "catch", "char", "char16_t", "char32_t", "char8_t", "class", "co_await",
    "co_return", "co_yield", "compl", "concept", "const", "const_cast",
    "consteval", "constexpr", "constinit", "continue", "decltype", "default",
    "delete", "do", "double", "dynamic_cast", "else", "enum", "errno",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "gridDim", "if", "inline", "int", "int16_t", "int32_t", "int64_t",
    "int8_t", "intptr_t", "long", "mutable", "namespace", "new", "noexcept",
    "not", "not_eq", "nullptr", "offsetof", "operator", "or", "or_eq",
    "private", "protected", "ptrdiff_t", "public", "register",
    "reinterpret_cast", "requires", "restrict", "return", "short", "signed",
    "size_t", "sizeof", "static", "static_assert", "static_cast", "struct",
    "switch", "template", "this", "threadIdx", "thread_local", "throw",
    "true", "try", "typedef", "typeid", "typename", "uint16_t", "uint32_t",
    "uint64_t", "uint8_t", "uintptr_t", "union", "unsigned", "using",
    "virtual", "void", "volatile", "warpSize", "wchar_t", "while", "xor",
    "xor_eq"};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rkc_is_reserved(const char *n) {
  if (n[0] == '_' && (n[1] == '_' || (n[1] >= 'A' && n[1] <= 'Z')))
    return 1;
  return bsearch(&n, reserved, sizeof reserved / sizeof reserved[0],
                 sizeof reserved[0], cmp_str) != NULL;
}

/* Macros and names of the headers the output includes (stdint.h,
** stddef.h, math.h, string.h) and GNU's predefined `linux` and `unix`
** (sorted, strcmp order): a struct member or parameter by one of these
** names does not compile. Declared names (messages, enums, constants,
** kernels) carry the package prefix and cannot meet them. */
static const char *const macros[] = {
    "FP_INFINITE", "FP_NAN", "FP_NORMAL", "FP_SUBNORMAL", "FP_ZERO",
    "HUGE_VAL", "HUGE_VALF", "HUGE_VALL", "INFINITY", "INT16_C", "INT16_MAX",
    "INT16_MIN", "INT32_C", "INT32_MAX", "INT32_MIN", "INT64_C", "INT64_MAX",
    "INT64_MIN", "INT8_C", "INT8_MAX", "INT8_MIN", "INTMAX_C", "INTPTR_MAX",
    "INTPTR_MIN", "MATH_ERREXCEPT", "MATH_ERRNO", "M_1_PI", "M_2_PI",
    "M_2_SQRTPI", "M_E", "M_LN10", "M_LN2", "M_LOG10E", "M_LOG2E", "M_PI",
    "M_PI_2", "M_PI_4", "M_SQRT1_2", "M_SQRT2", "NAN", "PTRDIFF_MAX",
    "PTRDIFF_MIN", "SIZE_MAX", "UINT16_C", "UINT16_MAX", "UINT32_C",
    "UINT32_MAX", "UINT64_C", "UINT64_MAX", "UINT8_C", "UINT8_MAX",
    "UINTMAX_C", "UINTPTR_MAX", "linux", "math_errhandling", "typeof",
    "unix"};

/* Reports name when the output could not use it. */
static void check_name(rkc_ctx *c, const char *name, rkc_loc loc,
                       const char *what) {
  if (rkc_is_reserved(name))
    rkc_error(c, loc, "%s name '%s' is reserved in C, C++ or CUDA", what,
              name);
}

/* check_name for fields and handler variables: they appear in the output
** unprefixed, so they also must not be one of the headers' macros nor
** begin with "RK_" or "rk_" (librk's and the device prelude's names). */
static void check_member_name(rkc_ctx *c, const char *name, rkc_loc loc,
                              const char *what) {
  if (rkc_is_reserved(name))
    check_name(c, name, loc, what);
  else if (strncmp(name, "RK_", 3) == 0 || strncmp(name, "rk_", 3) == 0)
    rkc_error(c, loc, "%s name '%s' is reserved: names beginning with RK_ "
              "or rk_ are librk's", what, name);
  else if (bsearch(&name, macros, sizeof macros / sizeof macros[0],
                   sizeof macros[0], cmp_str))
    rkc_error(c, loc, "%s name '%s' is reserved: a macro of the C headers "
              "the generated code includes", what, name);
}

static const char *const kind_names[] = {
    "?", "bool", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32",
    "f64", "enum", "message"};

static int is_int(rkc_type_kind k) { return k >= RKC_T_I8 && k <= RKC_T_U64; }
static int is_unsigned(rkc_type_kind k) {
  return k == RKC_T_U8 || k == RKC_T_U16 || k == RKC_T_U32 || k == RKC_T_U64;
}
static int is_float(rkc_type_kind k) { return k == RKC_T_F32 || k == RKC_T_F64; }

static uint32_t scalar_size(rkc_type_kind k) {
  switch (k) {
  case RKC_T_BOOL: case RKC_T_I8: case RKC_T_U8: return 1;
  case RKC_T_I16: case RKC_T_U16: return 2;
  case RKC_T_I32: case RKC_T_U32: case RKC_T_F32: return 4;
  case RKC_T_I64: case RKC_T_U64: case RKC_T_F64: return 8;
  default: return 0;
  }
}

/* Largest magnitude of a non-negative / negative value of integer type k. */
static uint64_t int_max(rkc_type_kind k) {
  unsigned bits = scalar_size(k) * 8;
  if (is_unsigned(k))
    return bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
  return (UINT64_C(1) << (bits - 1)) - 1;
}
static uint64_t int_min_mag(rkc_type_kind k) {
  return is_unsigned(k) ? 0 : UINT64_C(1) << (scalar_size(k) * 8 - 1);
}
static int int_fits(rkc_type_kind k, uint64_t mag, int neg) {
  return neg ? mag <= int_min_mag(k) : mag <= int_max(k);
}
static const char *range_text(rkc_ctx *c, rkc_type_kind k) {
  return is_unsigned(k)
             ? rkc_fmt(c, "0 to %llu", (unsigned long long)int_max(k))
             : rkc_fmt(c, "-%llu to %llu", (unsigned long long)int_min_mag(k),
                       (unsigned long long)int_max(k));
}

/* ---- names and scopes ---- */

static const char *file_qual(const rkc_file *f) {
  return f->package ? f->package : f->base;
}

static void declare(rkc_ctx *c, rkc_file *f, rkc_decl_kind kind,
                    const char *name, rkc_loc loc, void *node) {
  rkc_decl *d = rkc_alloc(c, sizeof *d);
  if (d == NULL)
    return;
  d->kind = kind;
  d->name = name;
  d->loc = loc;
  d->node = node;
  d->file = f;
  rkc_decl *prev = rkc_map_put(&rkc_info(c, f)->scope, (uintptr_t)name, d);
  if (prev != NULL && prev != d)
    rkc_error(c, loc, "duplicate name '%s': already declared at %s", name,
              rkc_where(c, prev->loc));
}

static rkc_decl *scope_get(rkc_ctx *c, rkc_file *f, const char *name) {
  return rkc_map_get(&rkc_info(c, f)->scope, (uintptr_t)name);
}

rkc_decl *rkc_lookup(rkc_ctx *c, rkc_file *f, const char *name, rkc_loc loc,
                     int report) {
  const char *dot = strrchr(name, '.');
  if (dot != NULL) {
    const char *qual = rkc_intern(c, name, (size_t)(dot - name));
    const char *n = rkc_intern_cstr(c, dot + 1);
    if (qual == file_qual(f))
      return scope_get(c, f, n);
    for (rkc_import *im = f->imports; im; im = im->next)
      if (im->file && file_qual(im->file) == qual) {
        rkc_decl *d = scope_get(c, im->file, n);
        if (d)
          return d;
      }
    return NULL;
  }
  rkc_decl *d = scope_get(c, f, name);
  if (d != NULL)
    return d;
  rkc_decl *found = NULL;
  for (rkc_import *im = f->imports; im; im = im->next) {
    if (im->file == NULL)
      continue;
    rkc_decl *e = scope_get(c, im->file, name);
    if (e == NULL || e == found)
      continue;
    if (found != NULL) {
      if (report)
        rkc_error(c, loc, "'%s' is ambiguous: declared in %s and in %s; "
                  "write %s.%s or %s.%s", name, found->file->path,
                  e->file->path, file_qual(found->file), name,
                  file_qual(e->file), name);
      return NULL;
    }
    found = e;
  }
  return found;
}

/* The declaration t's name refers to; NULL after reporting an unknown name
** (rkc_lookup reports an ambiguous one itself). */
static rkc_decl *lookup_type(rkc_ctx *c, rkc_file *f, const rkc_typeref *t) {
  unsigned before = c->errors;
  rkc_decl *d = rkc_lookup(c, f, t->name, t->loc, 1);
  if (d == NULL && c->errors == before)
    rkc_error(c, t->loc, "unknown type '%s'", t->name);
  return d;
}

/* Resolves t; reports an unknown name or a name that is not a type. */
static int resolve_type(rkc_ctx *c, rkc_file *f, rkc_typeref *t) {
  if (t->kind != RKC_T_NONE)
    return 0;
  rkc_decl *d = lookup_type(c, f, t);
  if (d == NULL)
    return -1;
  if (d->kind == RKC_D_ENUM) {
    t->kind = RKC_T_ENUM;
    t->enm = d->node;
  } else if (d->kind == RKC_D_MESSAGE) {
    t->kind = RKC_T_MESSAGE;
    t->msg = d->node;
  } else {
    rkc_error(c, t->loc, "'%s' is a %s, not a type", t->name,
              d->kind == RKC_D_CONST ? "const" : "kernel");
    return -1;
  }
  return 0;
}

/* ---- values ---- */

/* Finds the const named by an identifier value; NULL after an error. */
static rkc_const *find_const(rkc_ctx *c, rkc_file *f, const rkc_value *v) {
  unsigned before = c->errors;
  rkc_decl *d = rkc_lookup(c, f, v->text, v->loc, 1);
  if (d != NULL && d->kind == RKC_D_CONST)
    return d->node;
  if (c->errors == before)
    rkc_error(c, v->loc, d ? "'%s' is not a const" : "unknown const '%s'",
              v->text);
  return NULL;
}

/* An unsigned value from a literal or an integer const; -1 after an error. */
static int get_uint(rkc_ctx *c, rkc_file *f, const rkc_value *v,
                    const char *what, uint64_t *out) {
  const rkc_value *lit = v;
  if (v->kind == RKC_V_IDENT) {
    rkc_const *k = find_const(c, f, v);
    if (k == NULL)
      return -1;
    lit = &k->v;
  }
  if (lit->kind != RKC_V_INT || lit->neg) {
    rkc_error(c, v->loc, "%s must be a non-negative integer, not '%s'", what,
              v->text);
    return -1;
  }
  *out = lit->mag;
  return 0;
}

/* Checks that v can be stored in a field or const of type t (enum values
** by name, consts by name where allowed); reports as "<what> ...". */
static int check_value(rkc_ctx *c, rkc_file *f, const rkc_typeref *t,
                       const rkc_value *v, const char *what, int allow_const) {
  const rkc_value *lit = v;
  if (t->kind == RKC_T_ENUM) {
    if (v->kind == RKC_V_IDENT) {
      /* VALUE, or Enum.VALUE (also pkg.Enum.VALUE) where Enum must be the
      ** field's own enum: Other.RED names another enum's value */
      const char *n = strrchr(v->text, '.');
      int same = 1;
      if (n) {
        size_t plen = (size_t)(n - v->text), elen = strlen(t->enm->name);
        same = plen >= elen &&
               memcmp(n - elen, t->enm->name, elen) == 0 &&
               (plen == elen || n[-(ptrdiff_t)elen - 1] == '.');
        n = rkc_intern_cstr(c, n + 1);
      } else {
        n = v->text;
      }
      for (rkc_enum_value *ev = t->enm->values; same && ev; ev = ev->next)
        if (ev->name == n)
          return 0;
    }
    rkc_error(c, v->loc, "%s '%s' is not a value of enum '%s'", what, v->text,
              t->enm->name);
    return -1;
  }
  if (v->kind == RKC_V_IDENT && allow_const) {
    rkc_const *k = find_const(c, f, v);
    if (k == NULL)
      return -1;
    lit = &k->v;
  }
  if (t->kind == RKC_T_BOOL) {
    if (lit->kind == RKC_V_BOOL)
      return 0;
    rkc_error(c, v->loc, "%s '%s' is not a bool: write true or false", what,
              v->text);
    return -1;
  }
  if (is_int(t->kind)) {
    if (lit->kind != RKC_V_INT) {
      rkc_error(c, v->loc, "%s '%s' is not an integer, as %s needs", what,
                v->text, kind_names[t->kind]);
      return -1;
    }
    if (!int_fits(t->kind, lit->mag, lit->neg)) {
      rkc_error(c, v->loc, "%s %s does not fit %s (%s)", what, v->text,
                kind_names[t->kind], range_text(c, t->kind));
      return -1;
    }
    return 0;
  }
  if (is_float(t->kind)) {
    if (lit->kind != RKC_V_INT && lit->kind != RKC_V_FLOAT) {
      rkc_error(c, v->loc, "%s '%s' is not a number, as %s needs", what,
                v->text, kind_names[t->kind]);
      return -1;
    }
    double x = lit->f < 0 ? -lit->f : lit->f;
    /* An f32 takes what rounds to a finite float: below FLT_MAX plus half
    ** its ulp (2^103), so 3.4028235e38, FLT_MAX's usual spelling, fits. */
    const double f32_lim = (double)FLT_MAX + 0x1p103;
    if (x != x || (t->kind == RKC_T_F32 ? x >= f32_lim : x > DBL_MAX)) {
      rkc_error(c, v->loc, "%s %s does not fit %s", what, v->text,
                kind_names[t->kind]);
      return -1;
    }
    return 0;
  }
  return -1;
}

/* ---- consts and enums ---- */

static void check_const(rkc_ctx *c, rkc_file *f, rkc_const *k) {
  if (k->type.kind == RKC_T_NONE) {
    rkc_error(c, k->type.loc, "const '%s' must have a scalar type, not '%s'",
              k->name, k->type.name);
    return;
  }
  if (k->v.kind == RKC_V_IDENT || k->v.kind == RKC_V_AUTO) {
    rkc_error(c, k->v.loc, "const value '%s' must be a literal", k->v.text);
    return;
  }
  check_value(c, f, &k->type, &k->v, "const value", 0);
}

/* Key of an enum value pattern in a map (0 is kept for "empty"). */
static uint64_t value_key(uint64_t pattern, int *is_zero) {
  *is_zero = pattern == UINT64_MAX;
  return pattern + 1;
}

/* Checks e's base type and values (each fits, none repeats a value or a
** name); fills value/neg of each and n_values. seen and names are empty
** scratch maps. */
static void check_enum(rkc_ctx *c, rkc_enum *e, rkc_map *seen,
                       rkc_map *names) {
  if (!is_int(e->base)) {
    const rkc_loc *l = &e->base_loc;
    rkc_error(c, *l, "enum base type must be an integer type (i8 to u64), "
              "not '%.*s'", (int)(l->end - l->begin), e->file->src + l->begin);
    return;
  }
  if (e->values == NULL)
    rkc_error(c, e->loc, "enum '%s' has no values", e->name);
  uint64_t mag = 0;
  int neg = 0, first = 1, top_seen = 0, overflow = 0;
  rkc_enum_value *top_owner = NULL;
  for (rkc_enum_value *ev = e->values; ev; ev = ev->next) {
    e->n_values++;
    check_name(c, ev->name, ev->loc, "enum value");
    if (ev->has_value) {
      if (ev->v.kind != RKC_V_INT) {
        rkc_error(c, ev->v.loc, "enum value '%s' must be an integer",
                  ev->v.text);
        continue;
      }
      mag = ev->v.mag;
      neg = ev->v.neg;
      overflow = 0;
    } else if (!first) {
      if (neg) {
        mag--;
        neg = mag != 0;
      } else if (mag == UINT64_MAX) {
        overflow = 1;
      } else {
        mag++;
      }
    }
    first = 0;
    if (overflow || !int_fits(e->base, mag, neg)) {
      rkc_error(c, ev->loc, "value %s%llu of '%s' does not fit %s (%s)",
                neg ? "-" : "", overflow ? 0ULL : (unsigned long long)mag,
                ev->name, kind_names[e->base], range_text(c, e->base));
      continue;
    }
    ev->neg = neg;
    ev->value = neg ? (uint64_t)0 - mag : mag;
    int zero;
    uint64_t key = value_key(ev->value, &zero);
    rkc_enum_value *prev = zero ? (top_seen ? top_owner : NULL)
                                : rkc_map_put(seen, key, ev);
    if (zero && !top_seen)
      top_seen = 1, top_owner = ev;
    if (prev != NULL && prev != ev)
      rkc_error(c, ev->loc, "enum value '%s' repeats the value of '%s' (%s)",
                ev->name, prev->name,
                rkc_fmt(c, "%s%llu", neg ? "-" : "", (unsigned long long)mag));
    rkc_enum_value *o = rkc_map_put(names, (uintptr_t)ev->name, ev);
    if (o != NULL && o != ev)
      rkc_error(c, ev->loc, "duplicate enum value name '%s': already "
                "declared at %s", ev->name, rkc_where(c, o->loc));
  }
}

/* ---- fields and layout ---- */

/* Resolves the size of array fd (a literal or an integer const). */
static void check_array(rkc_ctx *c, rkc_file *f, rkc_field *fd) {
  uint64_t cnt = 0;
  if (get_uint(c, f, &fd->array_n, "array size", &cnt) != 0)
    return;
  if (cnt == 0)
    rkc_error(c, fd->array_n.loc, "array '%s' has size 0: at least 1 "
              "element", fd->name);
  else if (cnt > RKC_MAX_ARRAY)
    rkc_error(c, fd->array_n.loc, "array of %llu elements: at most %u "
              "(RKC_MAX_ARRAY)", (unsigned long long)cnt, RKC_MAX_ARRAY);
  else
    fd->count = (uint32_t)cnt;
}

/* Checks @len(n) of fd: n is an earlier unsigned field (names holds the
** fields seen so far) whose type can hold the array's bound. */
static void check_len(rkc_ctx *c, rkc_field *fd, rkc_map *names) {
  if (!fd->is_array) {
    rkc_error(c, fd->len_loc, "@len on '%s', which is not an array", fd->name);
    return;
  }
  rkc_field *lf = rkc_map_get(names, (uintptr_t)fd->len_name);
  if (lf == NULL || lf == fd) {
    int later = 0;
    for (rkc_field *o = fd->next; o; o = o->next)
      later |= o->name == fd->len_name;
    rkc_error(c, fd->len_loc, later ? "@len field '%s' must be declared "
              "before '%s'" : "@len names '%s', which is not a field "
              "here (of the array '%s')", fd->len_name, fd->name);
  } else if (!is_unsigned(lf->type.kind) || lf->is_array) {
    rkc_error(c, fd->len_loc, "@len field '%s' must be an unsigned "
              "integer (u8, u16, u32 or u64)", fd->len_name);
  } else if (fd->count != 0 && int_max(lf->type.kind) < fd->count) {
    rkc_error(c, fd->len_loc, "@len field '%s' is %s and cannot hold "
              "the bound %u", fd->len_name, kind_names[lf->type.kind],
              fd->count);
  } else {
    fd->len_field = lf;
  }
}

/* Checks a default: only on a scalar or enum field that is not an array. */
static void check_default(rkc_ctx *c, rkc_file *f, rkc_field *fd) {
  if (fd->is_array)
    rkc_error(c, fd->def.loc, "a default is not allowed on the array '%s'",
              fd->name);
  else if (fd->type.kind == RKC_T_MESSAGE)
    rkc_error(c, fd->def.loc, "a default is not allowed on the message "
              "field '%s'", fd->name);
  else
    check_value(c, f, &fd->type, &fd->def, "default", 1);
}

/* Checks a list of fields (of a message or a kernel state): names, types,
** array sizes, @len and defaults. names must be empty; it maps each field
** name to its field afterwards. Returns the number of fields. */
static uint32_t check_fields(rkc_ctx *c, rkc_file *f, rkc_field *fields,
                             rkc_map *names) {
  uint32_t n = 0;
  for (rkc_field *fd = fields; fd; fd = fd->next) {
    fd->index = n++;
    check_member_name(c, fd->name, fd->loc, "field");
    rkc_field *prev = rkc_map_put(names, (uintptr_t)fd->name, fd);
    if (prev != NULL && prev != fd)
      rkc_error(c, fd->loc, "duplicate field '%s': already declared at %s",
                fd->name, rkc_where(c, prev->loc));
    int typed = resolve_type(c, f, &fd->type) == 0;
    if (fd->is_array)
      check_array(c, f, fd);
    if (fd->len_name != NULL)
      check_len(c, fd, names);
    if (fd->has_default && typed)
      check_default(c, f, fd);
  }
  return n;
}

static void reset_map(rkc_map *m) {
  if (m->cap > 1024)
    rkc_map_free(m);
  else if (m->n != 0) {
    memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
  }
}

typedef struct layout_chain {
  rkc_message *v[RKC_MAX_NESTING + 1];
  uint32_t n;
} layout_chain;

static int layout_message(rkc_ctx *c, rkc_message *m, layout_chain *ch,
                          rkc_loc use);

/* Lays out fields in order with natural alignment. Returns -1 when a size
** is unknown (already reported). */
static int layout_fields(rkc_ctx *c, rkc_field *fields, layout_chain *ch,
                         uint64_t *size, uint32_t *align, uint64_t *enc) {
  uint64_t off = 0, e = 0;
  uint32_t al = 1;
  int ok = 0;
  for (rkc_field *fd = fields; fd; fd = fd->next) {
    uint32_t es, ea;
    uint64_t ee;
    if (fd->type.kind == RKC_T_MESSAGE) {
      if (layout_message(c, fd->type.msg, ch, fd->type.loc) != 0) {
        ok = -1;
        continue;
      }
      es = fd->type.msg->size;
      ea = fd->type.msg->align;
      ee = fd->type.msg->encoded_max;
    } else if (fd->type.kind == RKC_T_ENUM) {
      es = ea = scalar_size(fd->type.enm->base);
      ee = es;
    } else if (fd->type.kind != RKC_T_NONE) {
      es = ea = scalar_size(fd->type.kind);
      ee = es;
    } else {
      ok = -1;
      continue;
    }
    if (es == 0 || (fd->is_array && fd->count == 0)) {
      ok = -1;
      continue;
    }
    uint64_t n = fd->is_array ? fd->count : 1;
    off = (off + ea - 1) / ea * ea;
    fd->offset = off <= UINT32_MAX ? (uint32_t)off : UINT32_MAX;
    fd->align = ea;
    uint64_t bytes = n * es; /* <= 2^20 * 2^24: no overflow */
    fd->size = bytes <= UINT32_MAX ? (uint32_t)bytes : UINT32_MAX;
    off += bytes;
    e += n * ee;
    if (ea > al)
      al = ea;
  }
  if (off == 0)
    off = 1; /* an empty struct holds one reserved byte (C has none) */
  *size = (off + al - 1) / al * al;
  *align = al;
  *enc = e;
  return ok;
}

/* Lays out m once (recursing into nested messages), appends it to its
** file's dependency order, and reports a message that contains itself.
** Returns 0, or -1 when m's size is unknown. */
static int layout_message(rkc_ctx *c, rkc_message *m, layout_chain *ch,
                          rkc_loc use) {
  if (m->sema_state == 2)
    return m->size ? 0 : -1;
  if (m->sema_state == 1) {
    const char *path = "";
    uint32_t i = 0;
    while (i < ch->n && ch->v[i] != m)
      i++;
    for (; i < ch->n; i++)
      path = rkc_fmt(c, "%s%s -> ", path, ch->v[i]->name);
    rkc_error(c, use, "message '%s' contains itself: %s%s", m->name, path,
              m->name);
    return -1;
  }
  if (ch->n >= RKC_MAX_NESTING) {
    rkc_error(c, use, "messages nested more than %u deep (RKC_MAX_NESTING)",
              RKC_MAX_NESTING);
    return -1;
  }
  m->sema_state = 1;
  ch->v[ch->n++] = m;
  uint64_t size, enc;
  uint32_t align;
  int rc = layout_fields(c, m->fields, ch, &size, &align, &enc);
  ch->n--;
  m->sema_state = 2;
  if (rc == 0 && size > RKC_MAX_MESSAGE_SIZE) {
    rkc_error(c, m->loc, "message '%s' is %llu bytes: at most %u "
              "(RKC_MAX_MESSAGE_SIZE)", m->name, (unsigned long long)size,
              RKC_MAX_MESSAGE_SIZE);
    rc = -1;
  }
  if (rc == 0) {
    m->size = (uint32_t)size;
    m->align = align;
    m->encoded_max = enc;
  }
  rkc_file *f = m->file;
  if (f->msg_order != NULL && rkc_info(c, f)->state == 3) {
    m->topo = rkc_info(c, f)->n_order;
    f->msg_order[rkc_info(c, f)->n_order++] = m;
  }
  return rc;
}

/* ---- messages and ids ---- */

static void set_id(rkc_ctx *c, rkc_message *m) {
  if (m->has_id) {
    const rkc_value *v = &m->id_value;
    if (v->kind != RKC_V_INT || v->neg || v->mag < 1 || v->mag > 0x7fffffffu) {
      rkc_error(c, v->loc, "@id %s out of range: 1 to 2147483647", v->text);
      return;
    }
    m->id = (uint32_t)v->mag;
  } else {
    const char *q = rkc_fmt(c, "%s.%s", file_qual(m->file), m->name);
    m->id = rkc_fnv1a(q, strlen(q)) & 0x7fffffffu;
  }
  rkc_message *prev = rkc_map_put(&c->ids, (uint64_t)m->id + 1, m);
  /* A message declared twice was reported as a duplicate name already. */
  if (prev != NULL && prev != m &&
      !(prev->file == m->file && prev->name == m->name))
    rkc_error(c, m->has_id ? m->id_value.loc : m->loc,
              "type id 0x%08x of '%s.%s' collides with '%s.%s' (declared at "
              "%s); give one of them another @id", m->id, file_qual(m->file),
              m->name, file_qual(prev->file), prev->name,
              rkc_where(c, prev->loc));
}

/* ---- kernels ---- */

static const char *const option_keys[] = {"capacity", "block", "grid",
                                          "actors", "backend"};

static void kernel_option(rkc_ctx *c, rkc_file *f, rkc_kernel *k,
                          rkc_option *o, int which) {
  const rkc_value *v = &o->v;
  uint64_t x = 0;
  switch (which) {
  case 0:
    if (get_uint(c, f, v, "capacity", &x) != 0)
      return;
    if (x < 2 || x > RKC_MAX_CAPACITY || (x & (x - 1)) != 0)
      rkc_error(c, v->loc, "capacity %s is not a power of two from 2 to %u "
                "(RKC_MAX_CAPACITY)", v->text, RKC_MAX_CAPACITY);
    else
      k->capacity = (uint32_t)x;
    return;
  case 1:
    if (get_uint(c, f, v, "block", &x) != 0)
      return;
    if (x < 1 || x > RKC_MAX_BLOCK)
      rkc_error(c, v->loc, "block %s out of range: 1 to %u (RKC_MAX_BLOCK)",
                v->text, RKC_MAX_BLOCK);
    else
      k->block = (uint32_t)x;
    return;
  case 2:
    if (v->kind == RKC_V_AUTO) {
      k->grid = 0;
      return;
    }
    if (get_uint(c, f, v, "grid (or auto)", &x) != 0)
      return;
    if (x < 1 || x > RKC_MAX_GRID)
      rkc_error(c, v->loc, "grid %s out of range: auto or 1 to %u "
                "(RKC_MAX_GRID)", v->text, RKC_MAX_GRID);
    else
      k->grid = (uint32_t)x;
    return;
  case 3:
    if (get_uint(c, f, v, "actors", &x) != 0)
      return;
    if (x < 1 || x > UINT32_MAX)
      rkc_error(c, v->loc, "actors %s out of range: 1 to 4294967295",
                v->text);
    else
      k->actors = (uint32_t)x;
    if (!k->has_state)
      rkc_error(c, o->loc, "'actors' needs a 'state' block: kernel '%s' is "
                "stateless", k->name);
    return;
  default:
    if (v->kind == RKC_V_AUTO)
      k->backend = RKC_BACKEND_AUTO;
    else if (v->kind == RKC_V_IDENT && strcmp(v->text, "cuda") == 0)
      k->backend = RKC_BACKEND_CUDA;
    else if (v->kind == RKC_V_IDENT && strcmp(v->text, "cpu") == 0)
      k->backend = RKC_BACKEND_CPU;
    else
      rkc_error(c, v->loc, "backend '%s' is not one of auto, cuda, cpu",
                v->text);
  }
}

static void kernel_options(rkc_ctx *c, rkc_file *f, rkc_kernel *k) {
  k->capacity = 1024;
  k->block = 128;
  k->grid = 0;
  k->actors = 1;
  k->backend = RKC_BACKEND_AUTO;
  rkc_option *seen[5] = {NULL};
  for (rkc_option *o = k->options; o; o = o->next) {
    int which = -1;
    for (int i = 0; i < 5; i++)
      if (strcmp(o->key, option_keys[i]) == 0)
        which = i;
    if (which < 0) {
      rkc_error(c, o->loc, "unknown kernel option '%s' (expected capacity, "
                "block, grid, actors or backend)", o->key);
      continue;
    }
    if (seen[which] != NULL) {
      rkc_error(c, o->loc, "duplicate option '%s': already set at %s", o->key,
                rkc_where(c, seen[which]->loc));
      continue;
    }
    seen[which] = o;
    kernel_option(c, f, k, o, which);
  }
}

/* Resolves a handler's type, which must be a message; -1 otherwise. */
static int handler_type(rkc_ctx *c, rkc_file *f, rkc_typeref *t,
                        const char *what) {
  if (t->kind == RKC_T_NONE) {
    rkc_decl *d = lookup_type(c, f, t);
    if (d == NULL)
      return -1;
    if (d->kind == RKC_D_MESSAGE) {
      t->kind = RKC_T_MESSAGE;
      t->msg = d->node;
      return 0;
    }
  }
  rkc_error(c, t->loc, "%s type '%s' is not a message", what, t->name);
  return -1;
}

static void handler_var(rkc_ctx *c, const char *name, rkc_loc loc) {
  if (strcmp(name, "ctx") == 0 || strcmp(name, "state") == 0)
    rkc_error(c, loc, "handler variable '%s' is reserved: handlers see '%s' "
              "already", name, name);
  else
    check_member_name(c, name, loc, "handler variable");
}

static void check_handlers(rkc_ctx *c, rkc_file *f, rkc_kernel *k,
                           rkc_map *seen, layout_chain *ch) {
  for (rkc_handler *h = k->handlers; h; h = h->next) {
    k->n_handlers++;
    handler_var(c, h->req_var, h->req_var_loc);
    if (h->has_resp) {
      handler_var(c, h->resp_var, h->resp_var_loc);
      if (h->resp_var == h->req_var)
        rkc_error(c, h->resp_var_loc, "request and response are both named "
                  "'%s'", h->resp_var);
    }
    if (handler_type(c, f, &h->req, "handler") == 0) {
      rkc_handler *prev = rkc_map_put(seen, (uintptr_t)h->req.msg, h);
      if (prev != NULL && prev != h)
        rkc_error(c, h->req.loc, "kernel '%s' already handles '%s' at %s",
                  k->name, h->req.name, rkc_where(c, prev->loc));
      if (layout_message(c, h->req.msg, ch, h->req.loc) == 0 &&
          h->req.msg->size > k->req_max)
        k->req_max = h->req.msg->size;
    }
    if (h->has_resp && handler_type(c, f, &h->resp, "response") == 0 &&
        layout_message(c, h->resp.msg, ch, h->resp.loc) == 0 &&
        h->resp.msg->size > k->resp_max)
      k->resp_max = h->resp.msg->size;
  }
}

static void check_kernel(rkc_ctx *c, rkc_file *f, rkc_kernel *k,
                         rkc_map *tmp, layout_chain *ch) {
  kernel_options(c, f, k);
  reset_map(tmp);
  check_fields(c, f, k->state, tmp);
  if (k->has_state) {
    uint64_t size, enc;
    uint32_t align;
    if (layout_fields(c, k->state, ch, &size, &align, &enc) == 0) {
      if (size > RKC_MAX_MESSAGE_SIZE)
        rkc_error(c, k->state_loc, "state of kernel '%s' is %llu bytes: at "
                  "most %u (RKC_MAX_MESSAGE_SIZE)", k->name,
                  (unsigned long long)size, RKC_MAX_MESSAGE_SIZE);
      k->state_size = (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size);
      k->state_align = align;
    }
  }
  reset_map(tmp);
  check_handlers(c, f, k, tmp, ch);
}

/* ---- the file ---- */

static int c_ident(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
    return 0;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
          (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

static void set_prefix(rkc_ctx *c, rkc_file *f) {
  const char *q = file_qual(f);
  char *lo = rkc_fmt(c, "%s_", q);
  char *up = rkc_fmt(c, "%s_", q);
  for (char *p = lo; *p; p++)
    if (*p == '.')
      *p = '_';
  for (char *p = up; *p; p++)
    *p = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
  f->prefix = rkc_intern_cstr(c, lo);
  f->PREFIX = rkc_intern_cstr(c, up);
  f->qual = q;
  if (f->package == NULL && !c_ident(f->base))
    rkc_error(c, (rkc_loc){f->id, 0, 0}, "file name '%s' cannot be a C "
              "prefix: rename the file or declare a package", f->base);
  else if (strcmp(up, "RK_") == 0) /* RK_OK and the rest are librk's */
    rkc_error(c, f->package ? f->package_loc : (rkc_loc){f->id, 0, 0},
              "%s '%s' would give the C prefix rk_ / RK_, which is "
              "librk's: choose another", f->package ? "package" : "file name",
              q);
}

static void check_imports(rkc_ctx *c, rkc_file *f) {
  for (rkc_import *im = f->imports; im; im = im->next)
    for (rkc_import *o = f->imports; o != im; o = o->next)
      if (o->file != NULL && o->file == im->file) {
        rkc_error(c, im->loc, "\"%s\" is imported twice (first at %s)",
                  im->path, rkc_where(c, o->loc));
        break;
      }
}

static void declare_all(rkc_ctx *c, rkc_file *f) {
  for (rkc_const *k = f->consts; k; k = k->next) {
    check_name(c, k->name, k->loc, "const");
    declare(c, f, RKC_D_CONST, k->name, k->loc, k);
  }
  for (rkc_enum *e = f->enums; e; e = e->next) {
    check_name(c, e->name, e->loc, "enum");
    declare(c, f, RKC_D_ENUM, e->name, e->loc, e);
  }
  for (rkc_message *m = f->messages; m; m = m->next) {
    check_name(c, m->name, m->loc, "message");
    declare(c, f, RKC_D_MESSAGE, m->name, m->loc, m);
    f->n_messages++;
  }
  for (rkc_kernel *k = f->kernels; k; k = k->next) {
    check_name(c, k->name, k->loc, "kernel");
    declare(c, f, RKC_D_KERNEL, k->name, k->loc, k);
  }
}

typedef struct macro_use {
  const char *what; /* "const 'N'", "enum value 'Op.ADD'", "message 'M'" */
  rkc_loc loc;
} macro_use;

/* Records that a declaration becomes the macro PREFIX + upper(parts);
** reports when an earlier one of this file became the same macro. */
static void macro_name(rkc_ctx *c, rkc_file *f, rkc_map *seen,
                       const char *what, rkc_loc loc, const char *a,
                       const char *b) {
  char *m = b ? rkc_fmt(c, "%s%s_%s", f->PREFIX, a, b)
              : rkc_fmt(c, "%s%s", f->PREFIX, a);
  for (char *p = m; *p; p++)
    if (*p >= 'a' && *p <= 'z')
      *p = (char)(*p - 32);
  macro_use *u = rkc_alloc(c, sizeof *u);
  if (u == NULL)
    return;
  u->what = what;
  u->loc = loc;
  macro_use *prev = rkc_map_put(seen, (uintptr_t)rkc_intern_cstr(c, m), u);
  if (prev != NULL && prev != u) {
    if (prev->loc.begin > u->loc.begin) { /* report at the later one */
      macro_use *t = prev;
      prev = u;
      u = t;
    }
    rkc_error(c, u->loc, "%s and %s (at %s) both become %s in the generated "
              "code; rename one", u->what, prev->what, rkc_where(c, prev->loc),
              m);
  }
}

/* The upper-case names of the output (consts, enum values, type ids) must
** be distinct: C has one namespace for macros. */
static void check_macros(rkc_ctx *c, rkc_file *f) {
  rkc_map seen = {0};
  for (rkc_const *k = f->consts; k; k = k->next)
    macro_name(c, f, &seen, rkc_fmt(c, "const '%s'", k->name), k->loc,
               k->name, NULL);
  for (rkc_enum *e = f->enums; e; e = e->next)
    for (rkc_enum_value *v = e->values; v; v = v->next)
      macro_name(c, f, &seen, rkc_fmt(c, "enum value '%s.%s'", e->name,
                 v->name), v->loc, e->name, v->name);
  for (rkc_message *m = f->messages; m; m = m->next)
    macro_name(c, f, &seen, rkc_fmt(c, "the id of message '%s'", m->name),
               m->loc, m->name, "ID");
  rkc_map_free(&seen);
}

unsigned rkc_sema_file(rkc_ctx *c, rkc_file *f) {
  unsigned before = c->errors;
  rkc_map tmp = {0};
  layout_chain *ch = calloc(1, sizeof *ch);
  if (ch == NULL) {
    rkc_error(c, RKC_NOWHERE, "out of memory");
    return 1;
  }
  set_prefix(c, f);
  check_imports(c, f);
  declare_all(c, f);
  f->msg_order = rkc_alloc(c, (f->n_messages + 1) * sizeof *f->msg_order);
  for (rkc_const *k = f->consts; k; k = k->next)
    check_const(c, f, k);
  for (rkc_enum *e = f->enums; e; e = e->next) {
    rkc_map names = {0};
    reset_map(&tmp);
    check_enum(c, e, &tmp, &names);
    rkc_map_free(&names);
  }
  for (rkc_message *m = f->messages; m; m = m->next) {
    reset_map(&tmp);
    m->n_fields = check_fields(c, f, m->fields, &tmp);
  }
  for (rkc_message *m = f->messages; m; m = m->next) {
    layout_message(c, m, ch, m->loc);
    set_id(c, m);
  }
  for (rkc_kernel *k = f->kernels; k; k = k->next)
    check_kernel(c, f, k, &tmp, ch);
  if (c->errors == before)
    check_macros(c, f); /* only on a clean file: duplicates say it better */
  rkc_map_free(&tmp);
  free(ch);
  return c->errors - before;
}

/* ---- generated C names ----
** Every C identifier the outputs declare for a schema and its imports must
** be unique, or the generated code does not compile: message Foo beside
** message Foo_init, kernel K beside message K_launch, a kernel handling
** a.Point and b.Point (both give K_send_Point), package a.b's M beside
** package a's b_M. Checked once over the root and everything it imports. */

typedef struct gen_origin {
  const char *what; /* "message", "enum", "kernel" */
  const char *name; /* as declared */
  rkc_loc loc;
  const void *obj;  /* the declaration (or, for recv, the response) */
} gen_origin;

typedef struct gen_names {
  rkc_map seen;     /* interned C name -> gen_origin */
  int bad;
  const void *last_a, *last_b; /* the pair last reported: once a pair */
} gen_names;

static void gen_name(rkc_ctx *c, gen_names *g, const char *cname,
                     const char *what, const char *name, rkc_loc loc,
                     const void *obj) {
  const char *key = rkc_intern_cstr(c, cname);
  gen_origin *o = rkc_alloc(c, sizeof *o);
  if (key == NULL || o == NULL)
    return;
  *o = (gen_origin){what, name, loc, obj};
  gen_origin *was = rkc_map_put(&g->seen, (uintptr_t)key, o);
  if (was == NULL || was == o || was->obj == obj)
    return; /* new, or the same declaration again */
  g->bad = 1;
  if (g->last_a == obj && g->last_b == was->obj)
    return; /* this pair's first clash is reported */
  g->last_a = obj;
  g->last_b = was->obj;
  rkc_error(c, loc, "%s '%s' and %s '%s' (%s) both give the C name '%s': "
            "rename one", what, name, was->what, was->name,
            rkc_where(c, was->loc), cname);
}

static void gen_file_names(rkc_ctx *c, gen_names *g, rkc_file *f) {
  static const char *const msg_sfx[] = {"", "_init", "_encode", "_decode",
                                        "_encoded_max", "_wire",
                                        "_wire_fields", "_dinit"};
  static const char *const k_sfx[] = {"", "_launch", "_activate",
                                      "_deactivate", "_stats", "_terminate",
                                      "_desc", "_handlers", "_types",
                                      "_state", "_state_init"};
  const char *p = f->prefix;
  for (rkc_enum *e = f->enums; e; e = e->next) {
    gen_name(c, g, rkc_fmt(c, "%s%s", p, e->name), "enum", e->name, e->loc, e);
    gen_name(c, g, rkc_fmt(c, "%s%s_values", p, e->name), "enum", e->name,
             e->loc, e);
  }
  for (rkc_message *m = f->messages; m; m = m->next)
    for (size_t i = 0; i < sizeof msg_sfx / sizeof msg_sfx[0]; i++)
      gen_name(c, g, rkc_fmt(c, "%s%s%s", p, m->name, msg_sfx[i]),
               "message", m->name, m->loc, m);
  for (rkc_kernel *k = f->kernels; k; k = k->next) {
    for (size_t i = 0; i < sizeof k_sfx / sizeof k_sfx[0]; i++)
      gen_name(c, g, rkc_fmt(c, "%s%s%s", p, k->name, k_sfx[i]), "kernel",
               k->name, k->loc, k);
    for (rkc_handler *h = k->handlers; h; h = h->next) {
      const rkc_message *rq = h->req.msg, *rs = h->resp.msg;
      if (rq) {
        const char *base = rkc_fmt(c, "%s%s_send_%s", p, k->name, rq->name);
        const char *what = "handler of",
                   *n = rkc_fmt(c, "%s.%s", rq->file->qual, rq->name);
        gen_name(c, g, base, what, n, h->loc, h);
        gen_name(c, g, rkc_fmt(c, "%s_batch", base), what, n, h->loc, h);
        if (k->has_state) {
          gen_name(c, g, rkc_fmt(c, "%s_to", base), what, n, h->loc, h);
          gen_name(c, g, rkc_fmt(c, "%s_to_batch", base), what, n, h->loc, h);
        }
      }
      if (h->has_resp && rs) {
        /* one recv per response type: the same message again is no clash */
        const char *base = rkc_fmt(c, "%s%s_recv_%s", p, k->name, rs->name);
        const char *n = rkc_fmt(c, "%s.%s", rs->file->qual, rs->name);
        gen_name(c, g, base, "response", n, h->loc, rs);
        gen_name(c, g, rkc_fmt(c, "%s_batch", base), "response", n, h->loc,
                 rs);
      }
    }
  }
}

static void gen_walk(rkc_ctx *c, gen_names *g, rkc_file *f, rkc_map *done) {
  if (rkc_map_put(done, (uintptr_t)f, f) != NULL)
    return; /* visited */
  for (rkc_import *im = f->imports; im; im = im->next)
    if (im->file)
      gen_walk(c, g, im->file, done);
  gen_file_names(c, g, f);
}

int rkc_sema_names(rkc_ctx *c, rkc_file *root) {
  gen_names g = {{0}, 0, NULL, NULL};
  rkc_map done = {0};
  gen_walk(c, &g, root, &done);
  rkc_map_free(&g.seen);
  rkc_map_free(&done);
  return g.bad ? -1 : 0;
}
