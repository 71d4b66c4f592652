/* SPDX-License-Identifier: MIT */
/*
** gen.h: what gen.c and manifest.c share: the C names of schema
** declarations (one naming scheme, docs/design.md "Generated code") and the
** manifest writer.
*/
#ifndef RKC_GEN_H
#define RKC_GEN_H

#include "internal.h"
#include "tmpl.h"

/* The C spelling of a scalar kind ("uint32_t"), or NULL for enum/message. */
const char *rkc_gen_scalar_ctype(rkc_type_kind k);
/* The schema spelling of a scalar kind ("u32"). */
const char *rkc_gen_scalar_name(rkc_type_kind k);

/* Appends the YAML manifest of f (every message's and state's size,
** alignment, id and fields; enums; constants; kernels) to out. Returns 0, or
** -1 with a message in err. Written with libyaml's emitter. */
int rkc_manifest(rkc_ctx *c, rkc_file *f, rkt_buf *out, char *err,
                 size_t errsz);

#endif /* RKC_GEN_H */
