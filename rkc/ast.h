/* SPDX-License-Identifier: MIT */
/*
** ast.h: the abstract syntax tree of a .rk schema, and the facts that the
** semantic pass adds to it (resolved types, layouts, ids, kernel options).
** Every node lives in the context's arena and is freed with it in one call;
** identifiers are interned, so two names are equal iff their pointers are.
** Lists are singly linked in source order.
*/
#ifndef RKC_AST_H
#define RKC_AST_H

#include <stddef.h>
#include <stdint.h>

/* A source position: file id and byte offsets; line and column are computed
** only when a diagnostic is printed. */
typedef struct rkc_loc {
  uint32_t file;
  uint32_t begin; /* offset of the first byte */
  uint32_t end;   /* offset one past the last byte */
} rkc_loc;

typedef enum rkc_type_kind {
  RKC_T_NONE = 0, /* not resolved (yet, or an error) */
  RKC_T_BOOL,
  RKC_T_I8,
  RKC_T_U8,
  RKC_T_I16,
  RKC_T_U16,
  RKC_T_I32,
  RKC_T_U32,
  RKC_T_I64,
  RKC_T_U64,
  RKC_T_F32,
  RKC_T_F64,
  RKC_T_ENUM,
  RKC_T_MESSAGE
} rkc_type_kind;

struct rkc_enum;
struct rkc_message;
struct rkc_file;

/* A type as written ("u32", "Op", "common.Point") and what it resolves to. */
typedef struct rkc_typeref {
  const char *name;   /* interned spelling */
  rkc_loc loc;
  rkc_type_kind kind; /* scalar kinds are known at parse time */
  struct rkc_enum *enm;       /* RKC_T_ENUM */
  struct rkc_message *msg;    /* RKC_T_MESSAGE */
} rkc_typeref;

/* A literal or a name used as a value. */
typedef enum rkc_value_kind {
  RKC_V_NONE = 0,
  RKC_V_INT,   /* mag with neg: -(2^63) .. 2^64-1 */
  RKC_V_FLOAT, /* f, and text as written */
  RKC_V_BOOL,  /* true / false: b */
  RKC_V_IDENT, /* a const or enum value name (ident), e.g. MAX_LEN, ADD */
  RKC_V_AUTO   /* the keyword auto (kernel options) */
} rkc_value_kind;

typedef struct rkc_value {
  rkc_value_kind kind;
  uint64_t mag;
  int neg;
  double f;
  int b;
  const char *text;  /* literal or identifier as written (interned) */
  rkc_loc loc;
} rkc_value;

typedef struct rkc_field {
  const char *name;
  rkc_loc loc;          /* of the name */
  const char *doc;      /* /// text, or NULL */
  rkc_typeref type;
  int is_array;
  rkc_value array_n;    /* [N]: a literal or a const name */
  const char *len_name; /* @len(f), or NULL */
  rkc_loc len_loc;
  int has_default;
  rkc_value def;
  struct rkc_field *next;
  /* set by sema */
  uint32_t count;                /* array length, 0 for a scalar */
  struct rkc_field *len_field;   /* the @len field */
  uint32_t index;                /* position in its message or state */
  uint32_t offset, size, align;  /* C layout; size includes the array */
} rkc_field;

typedef struct rkc_enum_value {
  const char *name;
  rkc_loc loc;
  const char *doc;
  int has_value;
  rkc_value v;
  struct rkc_enum_value *next;
  /* set by sema */
  uint64_t value; /* as a 64-bit pattern (two's complement when negative) */
  int neg;
} rkc_enum_value;

typedef struct rkc_enum {
  const char *name;
  rkc_loc loc;
  const char *doc;
  rkc_type_kind base;   /* default RKC_T_U32 */
  rkc_loc base_loc;
  rkc_enum_value *values;
  struct rkc_file *file;
  struct rkc_enum *next;
  uint32_t n_values;    /* set by sema */
} rkc_enum;

typedef struct rkc_const {
  const char *name;
  rkc_loc loc;
  const char *doc;
  rkc_typeref type;     /* a scalar */
  rkc_value v;
  struct rkc_file *file;
  struct rkc_const *next;
} rkc_const;

typedef struct rkc_message {
  const char *name;
  rkc_loc loc;
  const char *doc;
  int has_id;
  rkc_value id_value;   /* @id(N) */
  rkc_field *fields;
  struct rkc_file *file;
  struct rkc_message *next;
  /* set by sema */
  uint32_t id;          /* @id or FNV-1a 32 of "package.Name", top bit 0 */
  uint32_t n_fields;
  uint32_t size, align;
  uint64_t encoded_max;
  uint32_t topo;        /* position in dependency order within its file */
  uint32_t sema_state;  /* private to sema: 0 new, 1 being laid out, 2 done */
} rkc_message;

typedef struct rkc_option {
  const char *key;      /* capacity, block, grid, actors, backend */
  rkc_loc loc;
  rkc_value v;
  struct rkc_option *next;
} rkc_option;

typedef struct rkc_handler {
  rkc_typeref req;      /* must resolve to a message */
  const char *req_var;
  rkc_loc req_var_loc;
  int has_resp;
  rkc_typeref resp;
  const char *resp_var;
  rkc_loc resp_var_loc;
  const char *doc;
  const char *body;     /* verbatim text between the braces, NUL-terminated */
  size_t body_len;
  rkc_loc body_loc;     /* of the text between the braces */
  rkc_loc loc;          /* of the keyword on */
  struct rkc_handler *next;
} rkc_handler;

typedef enum rkc_backend_opt {
  RKC_BACKEND_AUTO = 0,
  RKC_BACKEND_CPU = 1,
  RKC_BACKEND_CUDA = 2
} rkc_backend_opt;

typedef struct rkc_kernel {
  const char *name;
  rkc_loc loc;
  const char *doc;
  rkc_option *options;
  int has_state;
  rkc_loc state_loc;
  rkc_field *state;     /* state fields */
  rkc_handler *handlers;
  struct rkc_file *file;
  struct rkc_kernel *next;
  /* set by sema (defaults applied) */
  uint32_t capacity;    /* default 1024 */
  uint32_t block;       /* default 128 */
  uint32_t grid;        /* 0 = auto (default) */
  uint32_t actors;      /* default 1 */
  rkc_backend_opt backend;
  uint32_t n_handlers;
  uint32_t state_size, state_align;
  uint32_t req_max, resp_max;  /* largest request / response struct */
} rkc_kernel;

typedef struct rkc_code {
  const char *body;     /* verbatim text between the braces */
  size_t body_len;
  rkc_loc loc;          /* of the text */
  struct rkc_code *next;
} rkc_code;

typedef struct rkc_import {
  const char *path;     /* as written */
  rkc_loc loc;
  struct rkc_file *file; /* resolved */
  struct rkc_import *next;
} rkc_import;

typedef struct rkc_file {
  uint32_t id;          /* index for rkc_loc.file */
  const char *path;     /* as opened */
  const char *base;     /* file name without directory and ".rk" */
  const char *src;      /* whole contents, NUL-terminated */
  size_t len;
  const char *doc;      /* /// before package, or NULL */
  const char *package;  /* "a.b", or NULL */
  rkc_loc package_loc;
  rkc_import *imports;
  rkc_const *consts;
  rkc_enum *enums;
  rkc_message *messages;
  rkc_kernel *kernels;
  rkc_code *codes;
  /* set by sema */
  const char *prefix;   /* "a_b_" (lower, as the package) */
  const char *PREFIX;   /* "A_B_" */
  const char *qual;     /* "a.b" or the base name: qualifies type ids */
  rkc_message **msg_order; /* messages in dependency order */
  uint32_t n_messages;
} rkc_file;

#endif /* RKC_AST_H */
