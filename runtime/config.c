/* SPDX-License-Identifier: MIT */
/*
** config.c: librk's configuration (rk_config_*), read from YAML with
** libyaml's event API. A load returns a complete config or NULL, never a
** half-read one; every error is RK_E_CONFIG with "file:line:col: " (1-based)
** and what was expected. YAML-level errors (syntax, anchors and aliases,
** tags, nesting over RK_CFG_MAX_DEPTH, several documents) found anywhere in
** the input are reported in preference to schema errors (unknown or
** duplicate key, wrong type, bad value), which stop the schema walk at once.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "internal.h"

/* Limits, each quoted in its message. */
enum {
  RK_CFG_MAX_DEPTH = 32,         /* nested mappings/sequences */
  RK_CFG_MAX_BYTES = 1 << 20,    /* a config file */
  RK_CFG_MAX_KERNELS = 1024,     /* entries under kernels: */
  RK_CFG_MAX_NAME = 255,         /* a kernel name */
  RK_CFG_WHY = 320               /* the "expected ..." text */
};
#define RK_CFG_MAX_CAPACITY (1u << 30)
#define RK_CFG_MAX_DEVICE 2147483647u /* CUDA device ordinals are int */
#define RK_CFG_MAX_BLOCK 1024u
#define RK_CFG_MAX_GRID 65535u
#define RK_CFG_MAX_THREADS 1024u

typedef struct cfg_kernel {
  char *name;
  rk_kernel_cfg k;
  size_t line, col; /* where a YAML load met it (duplicate messages) */
} cfg_kernel;

struct rk_config {
  rk_backend backend;
  int has_backend;          /* given in YAML or by rk_config_set */
  int backend_from_program; /* given by rk_config_set */
  uint32_t device;
  rk_log_level log_level;
  char *cache_dir;          /* NULL: the default (resolved by cache.c) */
  cfg_kernel *kernels;
  size_t n_kernels, cap_kernels;
};

/* Top-level keys and per-kernel keys, in the order the messages list them. */
enum { T_BACKEND, T_DEVICE, T_CACHE_DIR, T_LOG_LEVEL, T_KERNELS, T__N };
enum { K_CAPACITY, K_BLOCK, K_GRID, K_CPU_THREADS, K_BACKEND, K__N };
static const char *const top_keys[T__N] = {"backend", "device", "cache_dir",
                                           "log_level", "kernels"};
static const char *const kernel_keys[K__N] = {"capacity", "block", "grid",
                                              "cpu_threads", "backend"};
#define TOP_LIST "backend, device, cache_dir, log_level or kernels"
#define KERNEL_LIST "capacity, block, grid, cpu_threads or backend"

/* ------------------------------------------------------------ values */

/* Writes s quoted for a message: printable ASCII as is, other bytes as
** \xNN, cut after 40 bytes with "...". */
static void quote(const char *s, char *buf, size_t n) {
  size_t o = 0, i;
  buf[o++] = '\'';
  for (i = 0; s[i] && o + 8 < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (i == 40) {
      o += (size_t)snprintf(buf + o, n - o, "...");
      break;
    }
    if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\')
      buf[o++] = (char)ch;
    else
      o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
  }
  buf[o++] = '\'';
  buf[o] = '\0';
}

/* YAML 1.1 booleans: a plain `yes` is no number and, unquoted, no string. */
static int is_yaml_bool(const char *s) {
  static const char *const words[] = {
      "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
      "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
      "ON", "off", "Off", "OFF"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcmp(s, words[i]) == 0) return 1;
  return 0;
}

static int is_yaml_null(const char *s) {
  return strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
         strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* Parses a decimal integer in [lo, hi]: digits only, no sign, no leading
** zero (YAML 1.1 reads 010 as octal). Returns 0, or -1 with why set. */
static int parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out,
                      char *why, size_t n) {
  char q[200];
  uint64_t v = 0;
  size_t i = 0;
  quote(s, q, sizeof q);
  if (!*s) {
    snprintf(why, n, "expected an integer from %u to %u, got an empty value",
             lo, hi);
    return -1;
  }
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > hi) break; /* hi < 2^32: v stays far below 2^64 */
  }
  if (i == 0 || (s[i] && !(s[i] >= '0' && s[i] <= '9'))) {
    snprintf(why, n, "expected an integer from %u to %u, got %s%s%s", lo, hi,
             q, s[0] == '-' ? " (negative)" : i ? " (trailing characters)" : "",
             is_yaml_bool(s) ? " (a YAML boolean)" : "");
    return -1;
  }
  if (s[0] == '0' && s[1]) {
    snprintf(why, n, "expected an integer from %u to %u without leading "
             "zeros (YAML 1.1 reads them as octal), got %s", lo, hi, q);
    return -1;
  }
  if (v < lo || v > hi) {
    snprintf(why, n, "expected an integer from %u to %u, got %s (out of "
             "range)", lo, hi, q);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

static int parse_backend(const char *s, rk_backend *out, char *why,
                         size_t n) {
  char q[200];
  if (strcmp(s, "auto") == 0) *out = RK_BACKEND_AUTO;
  else if (strcmp(s, "cuda") == 0) *out = RK_BACKEND_CUDA;
  else if (strcmp(s, "cpu") == 0) *out = RK_BACKEND_CPU;
  else {
    quote(s, q, sizeof q);
    snprintf(why, n, "expected auto, cuda or cpu, got %s", q);
    return -1;
  }
  return 0;
}

static int parse_log_level(const char *s, rk_log_level *out, char *why,
                           size_t n) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  char q[200];
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = (rk_log_level)i;
      return 0;
    }
  quote(s, q, sizeof q);
  snprintf(why, n, "expected error, warn, info or debug, got %s", q);
  return -1;
}

/* Stores in *out a copy of path s with a leading "~/" (or a lone "~")
** replaced by $HOME. The result must fit rk_settings.cache_dir. Returns
** RK_OK, RK_E_CONFIG with why set, or RK_E_NOMEM. */
static rk_status expand_path(const char *s, char **out, char *why, size_t n) {
  const char *home = "", *rest = s;
  size_t len;
  if (!*s) {
    snprintf(why, n, "expected a directory path, got an empty value");
    return RK_E_CONFIG;
  }
  if (s[0] == '~') {
    if (s[1] && s[1] != '/') {
      snprintf(why, n, "expected a directory path (only a leading ~/ is "
               "expanded, not ~user)");
      return RK_E_CONFIG;
    }
    home = getenv("HOME");
    if (!home || !*home) {
      snprintf(why, n, "cannot expand ~: HOME is not set");
      return RK_E_CONFIG;
    }
    rest = s + 1;
  }
  len = strlen(home) + strlen(rest);
  if (len >= sizeof(((rk_settings *)0)->cache_dir)) {
    snprintf(why, n, "expected a directory path of at most %zu bytes",
             sizeof(((rk_settings *)0)->cache_dir) - 1);
    return RK_E_CONFIG;
  }
  if (!(*out = malloc(len + 1))) return RK_E_NOMEM;
  snprintf(*out, len + 1, "%s%s", home, rest);
  return RK_OK;
}

/* Checks s for per-kernel key `key` and stores it in *k. Returns RK_OK or
** RK_E_CONFIG with why set; *k is unchanged on error. */
static rk_status set_kernel_key(rk_kernel_cfg *k, int key, const char *s,
                                char *why, size_t n) {
  uint32_t v;
  rk_backend b;
  switch (key) {
  case K_CAPACITY:
    if (parse_uint(s, 2, RK_CFG_MAX_CAPACITY, &v, why, n)) return RK_E_CONFIG;
    if (v & (v - 1)) {
      snprintf(why, n, "expected a power of two from 2 to %u, got %u",
               RK_CFG_MAX_CAPACITY, v);
      return RK_E_CONFIG;
    }
    k->capacity = v;
    return RK_OK;
  case K_BLOCK:
    if (parse_uint(s, 1, RK_CFG_MAX_BLOCK, &v, why, n)) return RK_E_CONFIG;
    k->block = v;
    return RK_OK;
  case K_GRID:
    if (strcmp(s, "auto") == 0) {
      k->grid = 0;
      k->grid_auto = 1;
      return RK_OK;
    }
    if (parse_uint(s, 1, RK_CFG_MAX_GRID, &v, why, n)) {
      size_t l = strlen(why);
      snprintf(why + l, n - l, " or auto");
      return RK_E_CONFIG;
    }
    k->grid = v;
    k->grid_auto = 0;
    return RK_OK;
  case K_CPU_THREADS:
    if (parse_uint(s, 1, RK_CFG_MAX_THREADS, &v, why, n)) return RK_E_CONFIG;
    k->cpu_threads = v;
    return RK_OK;
  default: /* K_BACKEND */
    if (parse_backend(s, &b, why, n)) return RK_E_CONFIG;
    k->backend = b;
    k->has_backend = 1;
    return RK_OK;
  }
}

/* Checks s for top-level scalar key `key` and stores it in cfg. Returns
** RK_OK, RK_E_CONFIG with why set, or RK_E_NOMEM; cfg is unchanged on
** error. */
static rk_status set_top_key(rk_config *cfg, int key, const char *s,
                             char *why, size_t n) {
  rk_status st;
  char *path;
  switch (key) {
  case T_BACKEND:
    if (parse_backend(s, &cfg->backend, why, n)) return RK_E_CONFIG;
    cfg->has_backend = 1;
    return RK_OK;
  case T_DEVICE:
    return parse_uint(s, 0, RK_CFG_MAX_DEVICE, &cfg->device, why, n)
               ? RK_E_CONFIG : RK_OK;
  case T_CACHE_DIR:
    if ((st = expand_path(s, &path, why, n)) != RK_OK) return st;
    free(cfg->cache_dir);
    cfg->cache_dir = path;
    return RK_OK;
  default: /* T_LOG_LEVEL */
    return parse_log_level(s, &cfg->log_level, why, n) ? RK_E_CONFIG : RK_OK;
  }
}

/* ----------------------------------------------------------- kernels */

static int is_identifier(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
    return 0;
  for (s++; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

static cfg_kernel *find_kernel(const rk_config *cfg, const char *name) {
  for (size_t i = 0; i < cfg->n_kernels; i++)
    if (strcmp(cfg->kernels[i].name, name) == 0) return &cfg->kernels[i];
  return NULL;
}

/* Appends a kernel entry with no overrides. Returns it, or NULL when out of
** memory (cfg is then unchanged). */
static cfg_kernel *add_kernel(rk_config *cfg, const char *name) {
  cfg_kernel *e;
  if (cfg->n_kernels == cfg->cap_kernels) {
    size_t cap = cfg->cap_kernels ? cfg->cap_kernels * 2 : 4;
    cfg_kernel *nk = realloc(cfg->kernels, cap * sizeof *nk);
    if (!nk) return NULL;
    cfg->kernels = nk;
    cfg->cap_kernels = cap;
  }
  e = &cfg->kernels[cfg->n_kernels];
  memset(e, 0, sizeof *e);
  if (!(e->name = strdup(name))) return NULL;
  cfg->n_kernels++;
  return e;
}

/* --------------------------------------------------------- public API */

static void config_defaults(rk_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->backend = RK_BACKEND_AUTO;
  cfg->log_level = RK_LOG_INFO;
}

RK_API rk_status rk_config_new(rk_config **cfg) {
  if (!cfg) return rk__fail(RK_E_INVALID, "rk_config_new: cfg is NULL");
  if (!(*cfg = malloc(sizeof **cfg)))
    return rk__fail(RK_E_NOMEM, "rk_config_new: out of memory");
  config_defaults(*cfg);
  rk__clear_detail();
  return RK_OK;
}

RK_API void rk_config_free(rk_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->n_kernels; i++) free(cfg->kernels[i].name);
  free(cfg->kernels);
  free(cfg->cache_dir);
  free(cfg);
}

/* Splits "kernels.NAME.field" into NAME (copied into name) and the field
** index. Returns 0, or -1 when key has another shape. */
static int split_kernel_key(const char *key, char *name, size_t n, int *field) {
  const char *a, *dot;
  if (strncmp(key, "kernels.", 8) != 0) return -1;
  a = key + 8;
  if (!(dot = strchr(a, '.')) || (size_t)(dot - a) >= n) return -1;
  memcpy(name, a, (size_t)(dot - a));
  name[dot - a] = '\0';
  for (*field = 0; *field < K__N; ++*field)
    if (strcmp(dot + 1, kernel_keys[*field]) == 0) return 0;
  return -1;
}

/* rk_config_set for "kernels.NAME.field". */
static rk_status set_kernel_path(rk_config *cfg, const char *key,
                                 const char *value) {
  char name[RK_CFG_MAX_NAME + 1], why[RK_CFG_WHY];
  int field;
  rk_kernel_cfg k = {0};
  cfg_kernel *e;
  if (split_kernel_key(key, name, sizeof name, &field) || !is_identifier(name))
    return rk__fail(RK_E_CONFIG, "rk_config_set: unknown key '%s' (expected "
                    "kernels.NAME.FIELD with NAME a kernel name and FIELD "
                    "one of " KERNEL_LIST ")", key);
  e = find_kernel(cfg, name);
  if (e) k = e->k;
  if (set_kernel_key(&k, field, value, why, sizeof why) != RK_OK)
    return rk__fail(RK_E_CONFIG, "rk_config_set: %s: %s", key, why);
  if (field == K_BACKEND) /* the program's own: outranks RK_BACKEND */
    k.backend_from_program = 1;
  if (!e && cfg->n_kernels >= RK_CFG_MAX_KERNELS)
    return rk__fail(RK_E_CONFIG, "rk_config_set: %s: at most %d kernels",
                    key, RK_CFG_MAX_KERNELS);
  if (!e && !(e = add_kernel(cfg, name)))
    return rk__fail(RK_E_NOMEM, "rk_config_set: out of memory");
  e->k = k;
  return RK_OK;
}

RK_API rk_status rk_config_set(rk_config *cfg, const char *key,
                               const char *value) {
  char why[RK_CFG_WHY];
  rk_status st;
  if (!cfg || !key || !value)
    return rk__fail(RK_E_INVALID, "rk_config_set: NULL argument");
  if (strncmp(key, "kernels.", 8) == 0) {
    if ((st = set_kernel_path(cfg, key, value)) == RK_OK) rk__clear_detail();
    return st;
  }
  for (int i = 0; i < T_KERNELS; i++) {
    if (strcmp(key, top_keys[i]) != 0) continue;
    st = set_top_key(cfg, i, value, why, sizeof why); /* unchanged on error */
    if (st == RK_E_NOMEM)
      return rk__fail(st, "rk_config_set: out of memory");
    if (st != RK_OK)
      return rk__fail(st, "rk_config_set: %s: %s", key, why);
    cfg->backend_from_program |= (i == T_BACKEND);
    rk__clear_detail();
    return RK_OK;
  }
  return rk__fail(RK_E_CONFIG, "rk_config_set: unknown key '%s' (expected "
                  TOP_LIST ".NAME.FIELD)", key);
}

/* ----------------------------------------------------- internal API */

void rk__config_settings(const rk_config *cfg, rk_settings *out) {
  rk_config def;
  if (!cfg) {
    config_defaults(&def);
    cfg = &def;
  }
  memset(out, 0, sizeof *out);
  out->backend = cfg->backend;
  out->backend_from_program = cfg->backend_from_program;
  out->backend_from_config = cfg->has_backend;
  out->device = cfg->device;
  out->log_level = cfg->log_level;
  if (cfg->cache_dir) /* expand_path bounded its length */
    snprintf(out->cache_dir, sizeof out->cache_dir, "%s", cfg->cache_dir);
}

void rk__config_kernel(const rk_config *cfg, const char *name,
                       rk_kernel_cfg *out) {
  const cfg_kernel *e = cfg && name ? find_kernel(cfg, name) : NULL;
  if (e) *out = e->k;
  else memset(out, 0, sizeof *out);
}

rk_status rk__config_clone(const rk_config *cfg, rk_config **out) {
  rk_config *c;
  if (!out) return rk__fail(RK_E_INVALID, "rk__config_clone: out is NULL");
  *out = NULL;
  if (!(c = malloc(sizeof *c))) goto nomem;
  config_defaults(c);
  if (!cfg) goto done;
  c->backend = cfg->backend;
  c->has_backend = cfg->has_backend;
  c->backend_from_program = cfg->backend_from_program;
  c->device = cfg->device;
  c->log_level = cfg->log_level;
  if (cfg->cache_dir && !(c->cache_dir = strdup(cfg->cache_dir))) goto nomem;
  for (size_t i = 0; i < cfg->n_kernels; i++) {
    cfg_kernel *e = add_kernel(c, cfg->kernels[i].name);
    if (!e) goto nomem;
    e->k = cfg->kernels[i].k;
  }
done:
  *out = c;
  return RK_OK;
nomem:
  rk_config_free(c);
  return rk__fail(RK_E_NOMEM, "rk__config_clone: out of memory");
}

/* ------------------------------------------------------ YAML reading */

/* The YAML we accept, and why (yamllint's and Kubernetes' lessons):
** - one document, UTF-8; a UTF-8 BOM at the very start is skipped (editors
**   write it; YAML allows it), a UTF-16/32 BOM is refused;
** - no anchors, aliases, merge keys or tags: a config reads as it is written;
** - numbers are plain decimal scalars: no quotes, sign, leading zero (YAML
**   1.1 octal), 0x, '_' or booleans; a bare yes/no/on/off/~ where a path is
**   expected is refused (quote it), as is a NUL written as "\0";
** - keys may be quoted; an empty file, or a document that is only "---",
**   is a config of defaults; an empty value is an error. */

/* The event cursor. next() pulls one event and applies the YAML-level
** checks; the walker below applies the schema. The first error is kept in
** msg; a YAML-level error replaces a schema error (see the file header). */
typedef struct cur {
  yaml_parser_t p;
  yaml_event_t ev;
  int have_ev;
  const char *name;
  const unsigned char *text; /* after any UTF-8 BOM */
  size_t len;
  int depth, docs;
  int failed, yaml_failed;
  rk_status st;
  char msg[1024];
  rk_config *cfg;
} cur;

static void vfail(cur *c, rk_status st, size_t line, size_t col,
                  const char *fmt, va_list ap) {
  int o = snprintf(c->msg, sizeof c->msg, "%s:%zu:%zu: ", c->name, line, col);
  vsnprintf(c->msg + o, sizeof c->msg - (size_t)o, fmt, ap);
  c->st = st;
  c->failed = 1;
}

/* A schema error at mark m (kept only if it is the first error). */
__attribute__((format(printf, 3, 4)))
static int fail_at(cur *c, yaml_mark_t m, const char *fmt, ...) {
  va_list ap;
  if (c->failed) return -1;
  va_start(ap, fmt);
  vfail(c, RK_E_CONFIG, m.line + 1, m.column + 1, fmt, ap);
  va_end(ap);
  return -1;
}

/* A YAML-level error at 1-based line:col; it replaces a schema error. */
__attribute__((format(printf, 5, 6)))
static int yaml_fail(cur *c, rk_status st, size_t line, size_t col,
                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(c, st, line, col, fmt, ap);
  va_end(ap);
  c->yaml_failed = 1;
  return -1;
}

/* Reports libyaml's own error with its position. Reader errors (bad UTF-8,
** control characters) carry a byte offset, the others a mark. */
static int libyaml_fail(cur *c) {
  yaml_parser_t *p = &c->p;
  size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
  const char *what = p->problem ? p->problem : "unknown error";
  if (p->error == YAML_MEMORY_ERROR)
    return yaml_fail(c, RK_E_NOMEM, 1, 1, "out of memory reading the config");
  if (p->error == YAML_READER_ERROR) {
    line = col = 1;
    for (size_t i = 0; i < p->problem_offset && i < c->len; i++, col++)
      if (c->text[i] == '\n') line++, col = 0;
    return yaml_fail(c, RK_E_CONFIG, line, col, "syntax error: %s (byte "
                     "0x%02x): expected UTF-8 text", what,
                     (unsigned)(p->problem_value & 0xff));
  }
  if (p->context)
    return yaml_fail(c, RK_E_CONFIG, line, col, "syntax error: %s (%s at "
                     "%zu:%zu)", what, p->context,
                     (size_t)p->context_mark.line + 1,
                     (size_t)p->context_mark.column + 1);
  return yaml_fail(c, RK_E_CONFIG, line, col, "syntax error: %s", what);
}

/* The YAML-level checks on one event. */
static int check_event(cur *c) {
  yaml_event_t *e = &c->ev;
  size_t line = e->start_mark.line + 1, col = e->start_mark.column + 1;
  const yaml_char_t *anchor = NULL, *tag = NULL;
  switch (e->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (++c->docs > 1)
      return yaml_fail(c, RK_E_CONFIG, line, col, "a second document: "
                       "expected one YAML document per config");
    if (e->data.document_start.tag_directives.start !=
        e->data.document_start.tag_directives.end)
      return yaml_fail(c, RK_E_CONFIG, line, col, "tags are not supported "
                       "(%%TAG directive): expected plain YAML");
    return 0;
  case YAML_ALIAS_EVENT:
    return yaml_fail(c, RK_E_CONFIG, line, col, "anchors and aliases are "
                     "not supported: expected each value written out");
  case YAML_SCALAR_EVENT:
    anchor = e->data.scalar.anchor;
    tag = e->data.scalar.tag;
    break;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT:
    anchor = e->type == YAML_MAPPING_START_EVENT ? e->data.mapping_start.anchor
                                                 : e->data.sequence_start.anchor;
    tag = e->type == YAML_MAPPING_START_EVENT ? e->data.mapping_start.tag
                                              : e->data.sequence_start.tag;
    if (++c->depth > RK_CFG_MAX_DEPTH)
      return yaml_fail(c, RK_E_CONFIG, line, col, "nested deeper than %d "
                       "levels: expected at most %d", RK_CFG_MAX_DEPTH,
                       RK_CFG_MAX_DEPTH);
    break;
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    c->depth--;
    return 0;
  default:
    return 0;
  }
  if (anchor)
    return yaml_fail(c, RK_E_CONFIG, line, col, "anchors and aliases are not "
                     "supported: expected each value written out");
  if (tag)
    return yaml_fail(c, RK_E_CONFIG, line, col, "tags are not supported "
                     "('%.40s'): expected an untagged value", (const char *)tag);
  return 0;
}

/* Pulls the next event into c->ev. Returns 0, or -1 on an error. */
static int next(cur *c) {
  if (c->have_ev) yaml_event_delete(&c->ev);
  c->have_ev = 0;
  if (!yaml_parser_parse(&c->p, &c->ev)) return libyaml_fail(c);
  c->have_ev = 1;
  return check_event(c);
}

/* After a schema error: reads on to the end, so that a YAML-level error
** later in the input is reported instead. */
static void drain(cur *c) {
  while (!c->yaml_failed && c->have_ev && c->ev.type != YAML_STREAM_END_EVENT)
    if (next(c)) break;
}

/* "a mapping", "a sequence", "a quoted string", ... for wrong-type
** messages. */
static const char *event_kind(const yaml_event_t *e) {
  switch (e->type) {
  case YAML_MAPPING_START_EVENT: return "a mapping";
  case YAML_SEQUENCE_START_EVENT: return "a sequence";
  case YAML_SCALAR_EVENT:
    if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
      return "a quoted string";
    return e->data.scalar.length ? "a plain scalar" : "an empty value";
  default: return "something else";
  }
}

/* The current event as a scalar without NUL bytes (compared as C strings
** from here on). what names the position for messages: a key path, "", or
** a prefix ending in ": ". */
static const char *scalar(cur *c, const char *what, const char *expected) {
  const yaml_event_t *e = &c->ev;
  const char *s = (const char *)e->data.scalar.value;
  const char *sep = *what && what[strlen(what) - 1] != ' ' ? ": " : "";
  if (e->type != YAML_SCALAR_EVENT) {
    fail_at(c, e->start_mark, "%s%sexpected %s, got %s", what, sep, expected,
            event_kind(e));
    return NULL;
  }
  if (strlen(s) != e->data.scalar.length) {
    fail_at(c, e->start_mark, "%s%sexpected %s, got a NUL character", what,
            sep, expected);
    return NULL;
  }
  return s;
}

/* Type checks on a scalar value that YAML adds to set_*_key's: numbers are
** plain, a path is no unquoted boolean or null. */
static int check_scalar_type(cur *c, const char *path, const char *s,
                             int numeric, int is_path) {
  const yaml_event_t *e = &c->ev;
  int plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (numeric && !plain && !(numeric == 2 && strcmp(s, "auto") == 0))
    return fail_at(c, e->start_mark, "%s: expected an unquoted integer%s, "
                   "got a quoted string", path, numeric == 2 ? " or auto" : "");
  if (is_path && plain && (is_yaml_bool(s) || is_yaml_null(s)))
    return fail_at(c, e->start_mark, "%s: expected a directory path, got "
                   "'%s', a YAML %s (quote it if it is meant as a path)",
                   path, s, is_yaml_bool(s) ? "boolean" : "null");
  return 0;
}

/* Reads one mapping key. Returns its index in keys[0..n), or -1 on error
** (unknown key, non-scalar key, duplicate). where prefixes the messages
** ("" or "kernels.K: "); seen[] holds the 1-based line and column of the
** keys met so far (0: not yet). */
static int map_key(cur *c, const char *where, const char *const *keys, int n,
                   const char *list, size_t (*seen)[2]) {
  const char *s = scalar(c, where, "a key name");
  int i;
  if (!s) return -1;
  for (i = 0; i < n && strcmp(s, keys[i]) != 0; i++) {
  }
  if (i == n) {
    char q[200];
    quote(s, q, sizeof q);
    return fail_at(c, c->ev.start_mark, "%sunknown key %s (expected %s)",
                   where, q, list);
  }
  if (seen[i][0])
    return fail_at(c, c->ev.start_mark, "%sduplicate key '%s' (first at "
                   "%zu:%zu): expected each key once", where, s,
                   seen[i][0], seen[i][1]);
  seen[i][0] = c->ev.start_mark.line + 1;
  seen[i][1] = c->ev.start_mark.column + 1;
  return i;
}

/* Stores the current scalar event as per-kernel key `key` of e. */
static int kernel_value(cur *c, cfg_kernel *e, int key) {
  char path[RK_CFG_MAX_NAME + 32], why[RK_CFG_WHY];
  const char *s;
  snprintf(path, sizeof path, "kernels.%s.%s", e->name, kernel_keys[key]);
  s = scalar(c, path, key == K_BACKEND ? "auto, cuda or cpu"
                  : key == K_GRID ? "auto or an integer" : "an integer");
  if (!s ||
      check_scalar_type(c, path, s, key == K_GRID ? 2 : key != K_BACKEND, 0))
    return -1;
  if (set_kernel_key(&e->k, key, s, why, sizeof why) != RK_OK)
    return fail_at(c, c->ev.start_mark, "%s: %s", path, why);
  return 0;
}

/* Walks one kernel's mapping (the current event is its MAPPING_START). */
static int walk_kernel(cur *c, cfg_kernel *e) {
  char where[RK_CFG_MAX_NAME + 16];
  size_t seen[K__N][2] = {{0}};
  int key;
  snprintf(where, sizeof where, "kernels.%s: ", e->name);
  for (;;) {
    if (next(c)) return -1;
    if (c->ev.type == YAML_MAPPING_END_EVENT) return 0;
    if ((key = map_key(c, where, kernel_keys, K__N, KERNEL_LIST, seen)) < 0 ||
        next(c) || kernel_value(c, e, key))
      return -1;
  }
}

/* Reads one kernel name (the current event) and adds its entry. */
static cfg_kernel *kernel_entry(cur *c) {
  const char *s = scalar(c, "kernels", "a kernel name");
  const cfg_kernel *old;
  cfg_kernel *e;
  char q[200];
  if (!s) return NULL;
  quote(s, q, sizeof q);
  if (strlen(s) > RK_CFG_MAX_NAME || !is_identifier(s)) {
    fail_at(c, c->ev.start_mark, "kernels: expected a kernel name (letters, "
            "digits and _, at most %d bytes), got %s", RK_CFG_MAX_NAME, q);
    return NULL;
  }
  if ((old = find_kernel(c->cfg, s))) {
    fail_at(c, c->ev.start_mark, "kernels: duplicate kernel '%s' (first at "
            "%zu:%zu): expected each kernel once", s, old->line, old->col);
    return NULL;
  }
  if (c->cfg->n_kernels >= RK_CFG_MAX_KERNELS) {
    fail_at(c, c->ev.start_mark, "kernels: expected at most %d kernels",
            RK_CFG_MAX_KERNELS);
    return NULL;
  }
  if (!(e = add_kernel(c->cfg, s))) {
    yaml_fail(c, RK_E_NOMEM, 1, 1, "out of memory reading the config");
    return NULL;
  }
  e->line = c->ev.start_mark.line + 1;
  e->col = c->ev.start_mark.column + 1;
  return e;
}

/* Walks the value of kernels: (the current event). */
static int walk_kernels(cur *c) {
  cfg_kernel *e;
  if (c->ev.type != YAML_MAPPING_START_EVENT)
    return fail_at(c, c->ev.start_mark, "kernels: expected a mapping of "
                   "kernel names, got %s", event_kind(&c->ev));
  for (;;) {
    if (next(c)) return -1;
    if (c->ev.type == YAML_MAPPING_END_EVENT) return 0;
    if (!(e = kernel_entry(c)) || next(c)) return -1;
    if (c->ev.type != YAML_MAPPING_START_EVENT)
      return fail_at(c, c->ev.start_mark, "kernels.%s: expected a mapping of "
                     KERNEL_LIST ", got %s", e->name, event_kind(&c->ev));
    if (walk_kernel(c, e)) return -1;
  }
}

/* Stores the current scalar event as top-level key `key`. */
static int top_value(cur *c, int key) {
  static const char *const expected[] = {
      "auto, cuda or cpu", "an integer", "a directory path",
      "error, warn, info or debug"};
  char why[RK_CFG_WHY];
  const char *s = scalar(c, top_keys[key], expected[key]);
  rk_status st;
  if (!s || check_scalar_type(c, top_keys[key], s, key == T_DEVICE,
                              key == T_CACHE_DIR))
    return -1;
  st = set_top_key(c->cfg, key, s, why, sizeof why);
  if (st == RK_E_NOMEM)
    return yaml_fail(c, st, 1, 1, "out of memory reading the config");
  if (st != RK_OK)
    return fail_at(c, c->ev.start_mark, "%s: %s", top_keys[key], why);
  return 0;
}

/* Walks the top-level mapping (the current event is its MAPPING_START). */
static int walk_top(cur *c) {
  size_t seen[T__N][2] = {{0}};
  int key;
  for (;;) {
    if (next(c)) return -1;
    if (c->ev.type == YAML_MAPPING_END_EVENT) return 0;
    if ((key = map_key(c, "", top_keys, T__N, TOP_LIST, seen)) < 0 ||
        next(c))
      return -1;
    if (key == T_KERNELS ? walk_kernels(c) : top_value(c, key)) return -1;
  }
}

/* Walks the whole stream: no document (an empty file), or one document
** whose root is a mapping or empty. */
static int walk_stream(cur *c) {
  if (next(c) || next(c)) return -1; /* STREAM_START, then the next */
  if (c->ev.type == YAML_STREAM_END_EVENT) return 0;
  if (next(c)) return -1;              /* the root node */
  if (c->ev.type == YAML_MAPPING_START_EVENT) {
    if (walk_top(c)) return -1;
  } else if (!(c->ev.type == YAML_SCALAR_EVENT &&
               c->ev.data.scalar.length == 0 &&
               c->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
    return fail_at(c, c->ev.start_mark, "expected a mapping of " TOP_LIST
                   " at the top level, got %s", event_kind(&c->ev));
  }
  /* DOCUMENT_END, then STREAM_END; a second document fails in next(). */
  while (c->ev.type != YAML_STREAM_END_EVENT)
    if (next(c)) return -1;
  return 0;
}

/* Loads text (len bytes, no NUL needed) into a new config. */
static rk_status load(const char *text, size_t len, const char *name,
                      rk_config **out) {
  cur c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.text = (const unsigned char *)text;
  c.len = len;
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
    c.text += 3; /* a UTF-8 BOM at the start is allowed, and skipped */
    c.len -= 3;
  } else if (len >= 2 && (memcmp(text, "\xfe\xff", 2) == 0 ||
                          memcmp(text, "\xff\xfe", 2) == 0)) {
    return rk__fail(RK_E_CONFIG, "%s:1:1: a UTF-16 or UTF-32 byte-order "
                    "mark: expected UTF-8 text", name);
  }
  if (len > RK_CFG_MAX_BYTES)
    return rk__fail(RK_E_CONFIG, "%s:1:1: too large: expected a config of at "
                    "most %d bytes", name, RK_CFG_MAX_BYTES);
  if (rk_config_new(&c.cfg) != RK_OK) return RK_E_NOMEM;
  if (!yaml_parser_initialize(&c.p)) {
    rk_config_free(c.cfg);
    return rk__fail(RK_E_NOMEM, "%s: out of memory", name);
  }
  yaml_parser_set_encoding(&c.p, YAML_UTF8_ENCODING);
  yaml_parser_set_input_string(&c.p, c.len ? c.text : (const unsigned char *)"",
                               c.len);
  if (walk_stream(&c) && !c.yaml_failed) drain(&c);
  if (c.have_ev) yaml_event_delete(&c.ev);
  yaml_parser_delete(&c.p);
  if (c.failed) {
    rk_config_free(c.cfg);
    return rk__fail(c.st, "%s", c.msg);
  }
  *out = c.cfg;
  rk__clear_detail();
  return RK_OK;
}

RK_API rk_status rk_config_load_yaml_string(const char *text, size_t len,
                                            const char *name,
                                            rk_config **cfg) {
  if (!cfg)
    return rk__fail(RK_E_INVALID, "rk_config_load_yaml_string: cfg is NULL");
  *cfg = NULL;
  if (!text && len)
    return rk__fail(RK_E_INVALID, "rk_config_load_yaml_string: text is NULL");
  return load(text ? text : "", len, name ? name : "<string>", cfg);
}

/* Reads at most RK_CFG_MAX_BYTES + 1 bytes of path into a new buffer. */
static rk_status read_file(const char *path, char **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  size_t cap = RK_CFG_MAX_BYTES + 1;
  if (!f)
    return rk__fail(RK_E_IO, "%s: cannot open: %s", path, strerror(errno));
  if (!(*buf = malloc(cap))) {
    fclose(f);
    return rk__fail(RK_E_NOMEM, "%s: out of memory", path);
  }
  *len = fread(*buf, 1, cap, f);
  if (ferror(f)) {
    int err = errno;
    fclose(f);
    free(*buf);
    return rk__fail(RK_E_IO, "%s: cannot read: %s", path, strerror(err));
  }
  fclose(f);
  return RK_OK;
}

RK_API rk_status rk_config_load_yaml(const char *path, rk_config **cfg) {
  char *buf = NULL;
  size_t len = 0;
  rk_status st;
  if (!cfg) return rk__fail(RK_E_INVALID, "rk_config_load_yaml: cfg is NULL");
  *cfg = NULL;
  if (!path) return rk__fail(RK_E_INVALID, "rk_config_load_yaml: path is NULL");
  if ((st = read_file(path, &buf, &len)) != RK_OK) return st;
  st = load(buf, len, path, cfg);
  free(buf);
  return st;
}
