/* SPDX-License-Identifier: MIT */
/*
** wire.c: rk_wire_encode / rk_wire_decode, driven by the rk_wire_msg tables
** that rkc generates. Wire form: little-endian, fields in declaration order,
** no padding, bool one byte 0/1, an enum as its base type (a declared value
** only), nested messages inline, @len arrays only their meaningful elements.
** Invariant of both directions: pos <= limit, so "limit - pos" never wraps.
*/
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define RK_WIRE_MAX_DEPTH 64 /* nesting of messages by value (rkc's limit) */

typedef struct wctx {
  const rk_wire_msg *top;
  uint8_t *out;        /* encode */
  const uint8_t *in;   /* decode */
  size_t pos, limit;   /* pos <= limit always */
} wctx;

/* Bytes one element of kind k takes on the wire (0 for RK_W_MSG). */
static size_t kind_size(uint32_t k) {
  switch (k) {
  case RK_W_BOOL: case RK_W_I8: case RK_W_U8: return 1;
  case RK_W_I16: case RK_W_U16: return 2;
  case RK_W_I32: case RK_W_U32: case RK_W_F32: return 4;
  case RK_W_I64: case RK_W_U64: case RK_W_F64: return 8;
  default: return 0;
  }
}

/* The scalar at p (kind k) as a 64-bit pattern, sign-extended for signed
** kinds (so it compares with rk_wire_field.enum_values). */
static uint64_t load_scalar(const uint8_t *p, uint32_t k) {
  switch (k) {
  case RK_W_BOOL: case RK_W_U8: return *p;
  case RK_W_I8: { int8_t v; memcpy(&v, p, 1); return (uint64_t)(int64_t)v; }
  case RK_W_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
  case RK_W_I16: { int16_t v; memcpy(&v, p, 2); return (uint64_t)(int64_t)v; }
  case RK_W_U32: case RK_W_F32: { uint32_t v; memcpy(&v, p, 4); return v; }
  case RK_W_I32: { int32_t v; memcpy(&v, p, 4); return (uint64_t)(int64_t)v; }
  default: { uint64_t v; memcpy(&v, p, 8); return v; }
  }
}

/* Stores the low kind_size(k) bytes of v at p (the C struct's field). */
static void store_scalar(uint8_t *p, uint32_t k, uint64_t v) {
  switch (kind_size(k)) {
  case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
  case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
  case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
  default: memcpy(p, &v, 8); break;
  }
}

static int enum_ok(const rk_wire_field *f, uint64_t v) {
  for (uint32_t i = 0; i < f->n_enum; i++)
    if (f->enum_values[i] == v) return 1;
  return 0;
}

/* How many elements of field f are on the wire for the struct at m: 1 for
** a scalar, the @len field's value (not yet checked against the bound), or
** the fixed count. */
static uint64_t wire_count(const rk_wire_msg *d, const rk_wire_field *f,
                           const uint8_t *m) {
  if (f->count == 0) return 1;
  if (f->len_field < 0) return f->count;
  const rk_wire_field *lf = &d->fields[f->len_field];
  return load_scalar(m + lf->offset, lf->kind);
}

/* Element stride in the C struct. */
static size_t elem_stride(const rk_wire_field *f) {
  return f->kind == RK_W_MSG ? f->msg->size : kind_size(f->kind);
}

/* ------------------------------------------------------------ encode */

static rk_status enc_msg(wctx *w, const rk_wire_msg *d, const uint8_t *m,
                         int depth);

static rk_status enc_field(wctx *w, const rk_wire_msg *d, uint32_t i,
                           const uint8_t *m, int depth) {
  const rk_wire_field *f = &d->fields[i];
  uint64_t n = wire_count(d, f, m);
  if (f->count && n > f->count)
    return rk__fail(RK_E_INVALID, "encode %s: field %u: length %llu over its bound %u",
                    d->name, i, (unsigned long long)n, f->count);
  const uint8_t *p = m + f->offset;
  size_t stride = elem_stride(f), es = kind_size(f->kind);
  for (uint64_t e = 0; e < n; e++, p += stride) {
    if (f->kind == RK_W_MSG) {
      rk_status s = enc_msg(w, f->msg, p, depth + 1);
      if (s != RK_OK) return s;
      continue;
    }
    if (w->limit - w->pos < es) /* pos <= limit: no wrap */
      return rk__fail(RK_E_INVALID, "encode %s: field %u: buffer of %zu bytes is too small (%llu needed at most)",
                      w->top->name, i, w->limit, (unsigned long long)w->top->encoded_max);
    uint64_t v = load_scalar(p, f->kind);
    if (f->kind == RK_W_BOOL) v = v != 0;
    if (f->n_enum && !enum_ok(f, v))
      return rk__fail(RK_E_INVALID, "encode %s: field %u: %llu is not a declared enum value",
                      d->name, i, (unsigned long long)v);
    for (size_t b = 0; b < es; b++) w->out[w->pos + b] = (uint8_t)(v >> (8 * b));
    w->pos += es;
  }
  return RK_OK;
}

static rk_status enc_msg(wctx *w, const rk_wire_msg *d, const uint8_t *m,
                         int depth) {
  if (depth > RK_WIRE_MAX_DEPTH)
    return rk__fail(RK_E_INVALID, "encode %s: messages nested deeper than %d",
                    w->top->name, RK_WIRE_MAX_DEPTH);
  for (uint32_t i = 0; i < d->n_fields; i++) {
    rk_status s = enc_field(w, d, i, m, depth);
    if (s != RK_OK) return s;
  }
  return RK_OK;
}

RK_API rk_status rk_wire_encode(const rk_wire_msg *d, const void *m,
                                uint8_t *buf, size_t cap, size_t *len) {
  if (len) *len = 0;
  if (!d || !m || !len || (!buf && cap))
    return rk__fail(RK_E_INVALID, "rk_wire_encode: NULL argument");
  wctx w = {d, buf, NULL, 0, cap};
  rk_status s = enc_msg(&w, d, m, 0);
  if (s != RK_OK) return s;
  *len = w.pos;
  rk__clear_detail();
  return RK_OK;
}

/* ------------------------------------------------------------ decode */

static rk_status dec_msg(wctx *w, const rk_wire_msg *d, uint8_t *m, int depth);

static rk_status dec_scalar(wctx *w, const rk_wire_msg *d, uint32_t i,
                            uint8_t *p) {
  const rk_wire_field *f = &d->fields[i];
  size_t es = kind_size(f->kind);
  if (w->limit - w->pos < es) /* pos <= limit: no wrap */
    return rk__fail(RK_E_DECODE, "decode %s: field %u (%s): short buffer at byte %zu (%zu needed, %zu left)",
                    w->top->name, i, d->name, w->pos, es, w->limit - w->pos);
  uint64_t v = 0;
  for (size_t b = 0; b < es; b++) v |= (uint64_t)w->in[w->pos + b] << (8 * b);
  if (f->kind == RK_W_BOOL && v > 1)
    return rk__fail(RK_E_DECODE, "decode %s: field %u (%s): bool byte %llu at byte %zu is not 0 or 1",
                    w->top->name, i, d->name, (unsigned long long)v, w->pos);
  store_scalar(p, f->kind, v);
  if (f->n_enum) {
    uint64_t ext = load_scalar(p, f->kind); /* sign-extended as declared */
    if (!enum_ok(f, ext))
      return rk__fail(RK_E_DECODE, "decode %s: field %u (%s): enum value %lld at byte %zu is not declared",
                      w->top->name, i, d->name, (long long)ext, w->pos);
  }
  w->pos += es;
  return RK_OK;
}

static rk_status dec_field(wctx *w, const rk_wire_msg *d, uint32_t i,
                           uint8_t *m, int depth) {
  const rk_wire_field *f = &d->fields[i];
  /* the @len field was declared earlier, so it is decoded already */
  uint64_t n = wire_count(d, f, m);
  if (f->count && n > f->count)
    return rk__fail(RK_E_DECODE, "decode %s: field %u (%s): length %llu over its bound %u (before byte %zu)",
                    w->top->name, i, d->name, (unsigned long long)n, f->count, w->pos);
  uint8_t *p = m + f->offset;
  size_t stride = elem_stride(f);
  for (uint64_t e = 0; e < n; e++, p += stride) {
    rk_status s = f->kind == RK_W_MSG ? dec_msg(w, f->msg, p, depth + 1)
                                      : dec_scalar(w, d, i, p);
    if (s != RK_OK) return s;
  }
  return RK_OK;
}

static rk_status dec_msg(wctx *w, const rk_wire_msg *d, uint8_t *m,
                         int depth) {
  if (depth > RK_WIRE_MAX_DEPTH)
    return rk__fail(RK_E_DECODE, "decode %s: messages nested deeper than %d",
                    w->top->name, RK_WIRE_MAX_DEPTH);
  for (uint32_t i = 0; i < d->n_fields; i++) {
    rk_status s = dec_field(w, d, i, m, depth);
    if (s != RK_OK) return s;
  }
  return RK_OK;
}

RK_API rk_status rk_wire_decode(const rk_wire_msg *d, void *m,
                                const uint8_t *buf, size_t len) {
  if (!d || !m || (!buf && len))
    return rk__fail(RK_E_INVALID, "rk_wire_decode: NULL argument");
  memset(m, 0, d->size);
  wctx w = {d, NULL, buf, 0, len};
  rk_status s = dec_msg(&w, d, m, 0);
  if (s != RK_OK) return s;
  if (w.pos != len)
    return rk__fail(RK_E_DECODE, "decode %s: %zu trailing bytes at byte %zu",
                    d->name, len - w.pos, w.pos);
  rk__clear_detail();
  return RK_OK;
}
