/* SPDX-License-Identifier: MIT */
/*
** rk.y: the pure bison parser of .rk schemas. Actions only call the small
** constructors below; lists are built in reverse and turned round once.
** Recovery at ';' and '}' lets one run report every syntax error of a file.
** Locations are byte offsets (RKC_YYLTYPE), turned into line:col by diag.c.
*/
%define api.pure full
%define api.prefix {rkc_yy}
%define parse.error detailed
%locations
%expect 0
%param {void *scanner}
%parse-param {struct rkc_lex *lx}

%code requires {
#include <stdint.h>
#include "internal.h"

typedef struct RKC_YYLTYPE {
  uint32_t begin, end;
} RKC_YYLTYPE;
#define RKC_YYLTYPE_IS_DECLARED 1

/* A token's value: its interned text, the /// doc before it, and what the
** scanner computed (integer magnitude, float, scalar kind, body offsets). */
typedef struct rkc_tok {
  const char *s;
  const char *doc;
  uint64_t mag;
  double f;
  int kind;
  uint32_t b0, b1;
} rkc_tok;

typedef struct rkc_tref {
  rkc_typeref t;
  const char *doc;
} rkc_tref;

/* Scanner and parser state (flex's yyextra). */
struct rkc_lex {
  rkc_ctx *c;
  rkc_file *f;
  uint32_t off;          /* byte offset of the next character */
  const char *doc;       /* pending /// text */
  int want_body;         /* after `on`/`code`: the next '{' opens a body */
  uint32_t depth;        /* brace depth inside a body */
  uint32_t body_open;    /* offset of the body's '{' */
  const char *body_doc;
  uint32_t comment_start;
  int syntax_errors;
  rkc_import **imp_tail;
  rkc_const **const_tail;
  rkc_enum **enum_tail;
  rkc_message **msg_tail;
  rkc_kernel **kern_tail;
  rkc_code **code_tail;
};
}

%code provides {
int rkc_yylex(RKC_YYSTYPE *v, RKC_YYLTYPE *l, void *scanner);
}

%code {
#include <string.h>

#define YYLLOC_DEFAULT(Cur, Rhs, N)                      \
  do {                                                   \
    if (N) {                                             \
      (Cur).begin = YYRHSLOC(Rhs, 1).begin;              \
      (Cur).end = YYRHSLOC(Rhs, N).end;                  \
    } else {                                             \
      (Cur).begin = (Cur).end = YYRHSLOC(Rhs, 0).end;    \
    }                                                    \
  } while (0)

static void rkc_yyerror(RKC_YYLTYPE *l, void *scanner, struct rkc_lex *lx,
                        const char *msg);
static rkc_loc L(struct rkc_lex *lx, RKC_YYLTYPE l);
static void *mk(struct rkc_lex *lx, size_t n);
static rkc_tref tref_scalar(struct rkc_lex *lx, rkc_tok t, RKC_YYLTYPE l);
static rkc_tref tref_named(struct rkc_lex *lx, rkc_tok t, const char *name,
                           RKC_YYLTYPE l);
static rkc_value val_int(struct rkc_lex *lx, rkc_tok t, int neg, RKC_YYLTYPE l);
static rkc_value val_float(struct rkc_lex *lx, rkc_tok t, int neg, RKC_YYLTYPE l);
static rkc_value val_simple(struct rkc_lex *lx, rkc_value_kind k, const char *s,
                            int b, RKC_YYLTYPE l);
static void decl_seen(struct rkc_lex *lx);
static void set_package(struct rkc_lex *lx, rkc_tok kw, const char *name,
                        RKC_YYLTYPE kwl, RKC_YYLTYPE l);
static rkc_field *rev_fields(rkc_field *f);
static rkc_enum_value *rev_values(rkc_enum_value *v);
static void kernel_finish(rkc_kernel *k);
static void kernel_state(struct rkc_lex *lx, rkc_kernel *k, rkc_field *f,
                         RKC_YYLTYPE l);
}

%union {
  rkc_tok tok;
  rkc_tref tref;
  rkc_value val;
  const char *str;
  rkc_field *field;
  rkc_enum_value *evals;
  rkc_kernel *kern;
  rkc_handler *handler;
  rkc_option *option;
  struct { rkc_value v; int has; } opt_val;
  struct { const char *name; rkc_loc loc; } len;
  struct { rkc_tref t; const char *var; rkc_loc var_loc; int has; } resp;
}

%token <tok> T_PACKAGE "package" T_IMPORT "import" T_CONST "const"
%token <tok> T_ENUM "enum" T_MESSAGE "message" T_KERNEL "kernel"
%token <tok> T_STATE "state" T_ON "on" T_CODE "code" T_TRUE "true"
%token <tok> T_FALSE "false" T_AUTO "auto" T_AT_LEN "@len" T_AT_ID "@id"
%token <tok> T_ARROW "->" T_IDENT "identifier" T_SCALAR "scalar type"
%token <tok> T_INT "integer" T_FLOAT "float" T_STRING "string"
%token <tok> T_BODY "{ code }"
%token <tok> '{' '}' '[' ']' '(' ')' '=' ',' ':' '.' '-' ';'

%type <tref> type
%type <str> qname
%type <val> value
%type <opt_val> array_opt default_opt enum_assign id_opt
%type <len> len_opt
%type <field> fields field
%type <evals> enum_values enum_list enum_value
%type <kern> kernel_items
%type <handler> handler
%type <option> option
%type <resp> resp_opt
%type <tok> var_name
%type <tref> enum_base

%%

file:
  %empty
| file decl
;

decl:
  T_PACKAGE qname ';'      { set_package(lx, $1, $2, @1, @2); }
| T_IMPORT T_STRING ';'    {
    decl_seen(lx);
    rkc_import *im = mk(lx, sizeof *im);
    if (im) { im->path = $2.s; im->loc = L(lx, @2); *lx->imp_tail = im; lx->imp_tail = &im->next; }
  }
| T_CONST type T_IDENT '=' value ';' {
    decl_seen(lx);
    rkc_const *k = mk(lx, sizeof *k);
    if (k) {
      k->name = $3.s; k->loc = L(lx, @3); k->doc = $1.doc; k->type = $2.t;
      k->v = $5; k->file = lx->f;
      *lx->const_tail = k; lx->const_tail = &k->next;
    }
  }
| T_ENUM T_IDENT enum_base '{' enum_values '}' {
    decl_seen(lx);
    rkc_enum *e = mk(lx, sizeof *e);
    if (e) {
      e->name = $2.s; e->loc = L(lx, @2); e->doc = $1.doc;
      e->base = $3.t.name ? $3.t.kind : RKC_T_U32;
      e->base_loc = $3.t.name ? $3.t.loc : L(lx, @2);
      e->values = rev_values($5); e->file = lx->f;
      *lx->enum_tail = e; lx->enum_tail = &e->next;
    }
  }
| T_MESSAGE T_IDENT id_opt '{' fields '}' {
    decl_seen(lx);
    rkc_message *m = mk(lx, sizeof *m);
    if (m) {
      m->name = $2.s; m->loc = L(lx, @2); m->doc = $1.doc;
      m->has_id = $3.has; m->id_value = $3.v;
      m->fields = rev_fields($5); m->file = lx->f;
      *lx->msg_tail = m; lx->msg_tail = &m->next;
    }
  }
| T_KERNEL T_IDENT '{' kernel_items '}' {
    decl_seen(lx);
    rkc_kernel *k = $4;
    if (k) {
      k->name = $2.s; k->loc = L(lx, @2); k->doc = $1.doc; k->file = lx->f;
      kernel_finish(k);
      *lx->kern_tail = k; lx->kern_tail = &k->next;
    }
  }
| T_CODE T_BODY {
    decl_seen(lx);
    rkc_code *k = mk(lx, sizeof *k);
    if (k) {
      k->body = rkc_strndup(lx->c, lx->f->src + $2.b0, $2.b1 - $2.b0);
      k->body_len = $2.b1 - $2.b0;
      k->loc = (rkc_loc){lx->f->id, $2.b0, $2.b1};
      *lx->code_tail = k; lx->code_tail = &k->next;
    }
  }
| error ';'  { yyerrok; }
| error '}'  { yyerrok; }
;

qname:
  T_IDENT            { $$ = $1.s; }
| qname '.' T_IDENT  { $$ = rkc_intern_cstr(lx->c, rkc_fmt(lx->c, "%s.%s", $1, $3.s)); }
;

type:
  T_SCALAR           { $$ = tref_scalar(lx, $1, @1); }
| T_IDENT            { $$ = tref_named(lx, $1, $1.s, @1); }
| T_IDENT '.' qname  {
    $$ = tref_named(lx, $1, rkc_intern_cstr(lx->c, rkc_fmt(lx->c, "%s.%s", $1.s, $3)), @$);
  }
;

value:
  T_INT          { $$ = val_int(lx, $1, 0, @$); }
| '-' T_INT      { $$ = val_int(lx, $2, 1, @$); }
| T_FLOAT        { $$ = val_float(lx, $1, 0, @$); }
| '-' T_FLOAT    { $$ = val_float(lx, $2, 1, @$); }
| T_TRUE         { $$ = val_simple(lx, RKC_V_BOOL, "true", 1, @$); }
| T_FALSE        { $$ = val_simple(lx, RKC_V_BOOL, "false", 0, @$); }
| T_AUTO         { $$ = val_simple(lx, RKC_V_AUTO, "auto", 0, @$); }
| qname          { $$ = val_simple(lx, RKC_V_IDENT, $1, 0, @$); }
;

enum_base:
  %empty    { memset(&$$, 0, sizeof $$); }
| ':' type  { $$ = $2; }
;

enum_values:
  %empty              { $$ = NULL; }
| enum_list           { $$ = $1; }
| enum_list ','       { $$ = $1; }
;

enum_list:
  enum_value                 { $$ = $1; }
| enum_list ',' enum_value   { if ($3) { $3->next = $1; $$ = $3; } else $$ = $1; }
;

enum_value:
  T_IDENT enum_assign {
    $$ = mk(lx, sizeof *$$);
    if ($$) {
      $$->name = $1.s; $$->loc = L(lx, @1); $$->doc = $1.doc;
      $$->has_value = $2.has; $$->v = $2.v;
    }
  }
;

enum_assign:
  %empty       { memset(&$$, 0, sizeof $$); }
| '=' value    { $$.v = $2; $$.has = 1; }
;

id_opt:
  %empty                    { memset(&$$, 0, sizeof $$); }
| T_AT_ID '(' value ')'     { $$.v = $3; $$.has = 1; }
;

fields:
  %empty          { $$ = NULL; }
| fields field    { if ($2) { $2->next = $1; $$ = $2; } else $$ = $1; }
| fields error ';' { $$ = $1; yyerrok; }
;

field:
  type T_IDENT array_opt len_opt default_opt ';' {
    $$ = mk(lx, sizeof *$$);
    if ($$) {
      $$->name = $2.s; $$->loc = L(lx, @2); $$->doc = $1.doc; $$->type = $1.t;
      $$->is_array = $3.has; $$->array_n = $3.v;
      $$->len_name = $4.name; $$->len_loc = $4.loc;
      $$->has_default = $5.has; $$->def = $5.v;
    }
  }
;

array_opt:
  %empty             { memset(&$$, 0, sizeof $$); }
| '[' value ']'      { $$.v = $2; $$.has = 1; }
;

len_opt:
  %empty                     { $$.name = NULL; $$.loc = L(lx, @$); }
| T_AT_LEN '(' T_IDENT ')'   { $$.name = $3.s; $$.loc = L(lx, @3); }
;

default_opt:
  %empty        { memset(&$$, 0, sizeof $$); }
| '=' value     { $$.v = $2; $$.has = 1; }
;

kernel_items:
  %empty                  { $$ = mk(lx, sizeof *$$); }
| kernel_items option     { if ($$ && $2) { $2->next = $$->options; $$->options = $2; } }
| kernel_items T_STATE '{' fields '}' { kernel_state(lx, $$, $4, @2); }
| kernel_items handler    { if ($$ && $2) { $2->next = $$->handlers; $$->handlers = $2; } }
| kernel_items error ';'  { yyerrok; }
;

option:
  T_IDENT '=' value ';' {
    $$ = mk(lx, sizeof *$$);
    if ($$) { $$->key = $1.s; $$->loc = L(lx, @1); $$->v = $3; }
  }
;

handler:
  T_ON type var_name resp_opt T_BODY {
    $$ = mk(lx, sizeof *$$);
    if ($$) {
      $$->req = $2.t; $$->req_var = $3.s; $$->req_var_loc = L(lx, @3);
      $$->has_resp = $4.has; $$->resp = $4.t.t; $$->resp_var = $4.var;
      $$->resp_var_loc = $4.var_loc; $$->doc = $1.doc;
      $$->body = rkc_strndup(lx->c, lx->f->src + $5.b0, $5.b1 - $5.b0);
      $$->body_len = $5.b1 - $5.b0;
      $$->body_loc = (rkc_loc){lx->f->id, $5.b0, $5.b1};
      $$->loc = L(lx, @1);
    }
  }
;

/* `state` is a keyword but gets a clearer error as a handler variable. */
var_name:
  T_IDENT     { $$ = $1; }
| T_STATE     { $$ = $1; $$.s = rkc_intern_cstr(lx->c, "state"); }
;

resp_opt:
  %empty                  { memset(&$$, 0, sizeof $$); }
| T_ARROW type var_name   { $$.t = $2; $$.var = $3.s; $$.var_loc = L(lx, @3); $$.has = 1; }
;

%%

static void rkc_yyerror(RKC_YYLTYPE *l, void *scanner, struct rkc_lex *lx,
                        const char *msg) {
  (void)scanner;
  lx->syntax_errors++;
  rkc_error(lx->c, L(lx, *l), "%s", msg);
}

static rkc_loc L(struct rkc_lex *lx, RKC_YYLTYPE l) {
  rkc_loc r = {lx->f->id, l.begin, l.end};
  return r;
}

static void *mk(struct rkc_lex *lx, size_t n) { return rkc_alloc(lx->c, n); }

static rkc_tref tref_scalar(struct rkc_lex *lx, rkc_tok t, RKC_YYLTYPE l) {
  rkc_tref r;
  memset(&r, 0, sizeof r);
  r.t.name = t.s;
  r.t.loc = L(lx, l);
  r.t.kind = (rkc_type_kind)t.kind;
  r.doc = t.doc;
  return r;
}

static rkc_tref tref_named(struct rkc_lex *lx, rkc_tok t, const char *name,
                           RKC_YYLTYPE l) {
  rkc_tref r;
  memset(&r, 0, sizeof r);
  r.t.name = name;
  r.t.loc = L(lx, l);
  r.doc = t.doc;
  return r;
}

static rkc_value val_int(struct rkc_lex *lx, rkc_tok t, int neg, RKC_YYLTYPE l) {
  rkc_value v;
  memset(&v, 0, sizeof v);
  v.kind = RKC_V_INT;
  v.mag = t.mag;
  v.neg = neg && t.mag != 0;
  v.f = neg ? -(double)t.mag : (double)t.mag;
  v.text = neg ? rkc_intern_cstr(lx->c, rkc_fmt(lx->c, "-%s", t.s)) : t.s;
  v.loc = L(lx, l);
  return v;
}

static rkc_value val_float(struct rkc_lex *lx, rkc_tok t, int neg, RKC_YYLTYPE l) {
  rkc_value v;
  memset(&v, 0, sizeof v);
  v.kind = RKC_V_FLOAT;
  v.f = neg ? -t.f : t.f;
  v.neg = neg;
  v.text = neg ? rkc_intern_cstr(lx->c, rkc_fmt(lx->c, "-%s", t.s)) : t.s;
  v.loc = L(lx, l);
  return v;
}

static rkc_value val_simple(struct rkc_lex *lx, rkc_value_kind k, const char *s,
                            int b, RKC_YYLTYPE l) {
  rkc_value v;
  memset(&v, 0, sizeof v);
  v.kind = k;
  v.b = b;
  v.text = rkc_intern_cstr(lx->c, s);
  v.loc = L(lx, l);
  return v;
}

static void decl_seen(struct rkc_lex *lx) { rkc_info(lx->c, lx->f)->any_decl = 1; }

/* Records `package name;`: it must come first and at most once. */
static void set_package(struct rkc_lex *lx, rkc_tok kw, const char *name,
                        RKC_YYLTYPE kwl, RKC_YYLTYPE l) {
  rkc_file *f = lx->f;
  if (f->package != NULL) {
    rkc_error(lx->c, L(lx, kwl), "duplicate 'package': already declared at %s",
              rkc_where(lx->c, f->package_loc));
    return;
  }
  if (rkc_info(lx->c, f)->any_decl)
    rkc_error(lx->c, L(lx, kwl),
              "'package' must come before every other declaration");
  decl_seen(lx);
  f->package = name;
  f->package_loc = L(lx, l);
  f->doc = kw.doc;
}

static rkc_field *rev_fields(rkc_field *f) {
  rkc_field *r = NULL;
  while (f) {
    rkc_field *n = f->next;
    f->next = r;
    r = f;
    f = n;
  }
  return r;
}

static rkc_enum_value *rev_values(rkc_enum_value *v) {
  rkc_enum_value *r = NULL;
  while (v) {
    rkc_enum_value *n = v->next;
    v->next = r;
    r = v;
    v = n;
  }
  return r;
}

static void kernel_finish(rkc_kernel *k) {
  rkc_option *o = k->options, *ro = NULL;
  while (o) {
    rkc_option *n = o->next;
    o->next = ro;
    ro = o;
    o = n;
  }
  k->options = ro;
  rkc_handler *h = k->handlers, *rh = NULL;
  while (h) {
    rkc_handler *n = h->next;
    h->next = rh;
    rh = h;
    h = n;
  }
  k->handlers = rh;
}

static void kernel_state(struct rkc_lex *lx, rkc_kernel *k, rkc_field *f,
                         RKC_YYLTYPE l) {
  if (k == NULL)
    return;
  if (k->has_state) {
    rkc_error(lx->c, L(lx, l), "duplicate 'state' block: already declared at %s",
              rkc_where(lx->c, k->state_loc));
    return;
  }
  k->has_state = 1;
  k->state_loc = L(lx, l);
  k->state = rev_fields(f);
}
