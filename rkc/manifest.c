/* SPDX-License-Identifier: MIT */
/*
** manifest.c: NAME.rk.yaml, a machine-readable description of a schema's
** layout (every message's and kernel state's size, alignment, id, and each
** field's name, type, offset, size and count), written with libyaml's
** emitter so quoting is always right. Keys come in a fixed order.
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "gen.h"

typedef struct man {
  yaml_emitter_t em;
  rkt_buf *out;
  int failed;
} man;

static int write_cb(void *data, unsigned char *buf, size_t size) {
  rkt_buf *b = data;
  rkt_buf_add(b, (const char *)buf, size);
  return !b->oom;
}

static void emit(man *m, yaml_event_t *ev) {
  if (m->failed) { yaml_event_delete(ev); return; }
  if (!yaml_emitter_emit(&m->em, ev)) m->failed = 1;
}

/* Would a YAML 1.1 or 1.2 reader take plain s for a null or a boolean?
** (Names are identifiers, so they never read as numbers.) libyaml writes
** such a string plain; it must be quoted to stay a string. */
static int reads_as_non_string(const char *s) {
  static const char *const words[] = {"null", "true", "false", "yes", "no",
                                      "on", "off", "y", "n", "~"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcasecmp(s, words[i]) == 0)
      return 1;
  return 0;
}

static void scalar_as(man *m, const char *s, int quoted) {
  yaml_event_t ev;
  if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
                                    (int)strlen(s), 1, 1,
                                    quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                           : YAML_ANY_SCALAR_STYLE)) {
    m->failed = 1;
    return;
  }
  emit(m, &ev);
}

static void scalar(man *m, const char *s) { scalar_as(m, s, 0); }

static void map_begin(man *m) {
  yaml_event_t ev;
  yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
  emit(m, &ev);
}

static void map_end(man *m) {
  yaml_event_t ev;
  yaml_mapping_end_event_initialize(&ev);
  emit(m, &ev);
}

static void seq_begin(man *m, const char *key) {
  yaml_event_t ev;
  scalar(m, key);
  yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
  emit(m, &ev);
}

static void seq_end(man *m) {
  yaml_event_t ev;
  yaml_sequence_end_event_initialize(&ev);
  emit(m, &ev);
}

/* A key and its value; a value that is a name (every key but "value",
** whose text is a literal meant as read) is quoted when YAML would take it
** for a null or a boolean. */
static void kv(man *m, const char *k, const char *v) {
  v = v ? v : "";
  scalar(m, k);
  scalar_as(m, v, strcmp(k, "value") != 0 && reads_as_non_string(v));
}

static void kvu(man *m, const char *k, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  kv(m, k, buf);
}

/* "u32", "vecadd.Op", "common.Point". */
static void type_name(const rkc_typeref *t, char *buf, size_t n) {
  if (t->kind == RKC_T_ENUM)
    snprintf(buf, n, "%s.%s", t->enm->file->qual, t->enm->name);
  else if (t->kind == RKC_T_MESSAGE)
    snprintf(buf, n, "%s.%s", t->msg->file->qual, t->msg->name);
  else
    snprintf(buf, n, "%s", rkc_gen_scalar_name(t->kind));
}

static void fields(man *m, const rkc_field *fl) {
  seq_begin(m, "fields");
  for (; fl; fl = fl->next) {
    char tn[512];
    type_name(&fl->type, tn, sizeof tn);
    map_begin(m);
    kv(m, "name", fl->name);
    kv(m, "type", tn);
    kvu(m, "offset", fl->offset);
    kvu(m, "size", fl->size);
    kvu(m, "align", fl->align);
    kvu(m, "count", fl->count);
    if (fl->len_field) kv(m, "len", fl->len_field->name);
    map_end(m);
  }
  seq_end(m);
}

static void messages(man *m, const rkc_file *f) {
  seq_begin(m, "messages");
  for (uint32_t i = 0; i < f->n_messages; i++) {
    const rkc_message *msg = f->msg_order[i];
    char q[512];
    snprintf(q, sizeof q, "%s.%s", f->qual, msg->name);
    map_begin(m);
    kv(m, "name", msg->name);
    kv(m, "qualified", q);
    kvu(m, "id", msg->id);
    kvu(m, "size", msg->size);
    kvu(m, "align", msg->align);
    kvu(m, "encoded_max", msg->encoded_max);
    fields(m, msg->fields);
    map_end(m);
  }
  seq_end(m);
}

static void enums(man *m, const rkc_file *f) {
  seq_begin(m, "enums");
  for (const rkc_enum *e = f->enums; e; e = e->next) {
    map_begin(m);
    kv(m, "name", e->name);
    kv(m, "base", rkc_gen_scalar_name(e->base));
    seq_begin(m, "values");
    for (const rkc_enum_value *v = e->values; v; v = v->next) {
      char buf[32];
      if (v->neg)
        snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v->value);
      else
        snprintf(buf, sizeof buf, "%" PRIu64, v->value);
      map_begin(m);
      kv(m, "name", v->name);
      kv(m, "value", buf);
      map_end(m);
    }
    seq_end(m);
    map_end(m);
  }
  seq_end(m);
}

static void kernels(man *m, const rkc_file *f) {
  static const char *const backends[] = {"auto", "cpu", "cuda"};
  seq_begin(m, "kernels");
  for (const rkc_kernel *k = f->kernels; k; k = k->next) {
    map_begin(m);
    kv(m, "name", k->name);
    kvu(m, "capacity", k->capacity);
    kvu(m, "block", k->block);
    if (k->grid) kvu(m, "grid", k->grid); else kv(m, "grid", "auto");
    kvu(m, "actors", k->has_state ? k->actors : 1u);
    kv(m, "backend", backends[k->backend <= RKC_BACKEND_CUDA ? k->backend : 0]);
    if (k->has_state) {
      scalar(m, "state");
      map_begin(m);
      kvu(m, "size", k->state_size);
      kvu(m, "align", k->state_align);
      fields(m, k->state);
      map_end(m);
    }
    seq_begin(m, "handlers");
    for (const rkc_handler *h = k->handlers; h; h = h->next) {
      char q[512];
      map_begin(m);
      type_name(&h->req, q, sizeof q);
      kv(m, "request", q);
      kvu(m, "request_id", h->req.msg->id);
      if (h->has_resp) {
        type_name(&h->resp, q, sizeof q);
        kv(m, "response", q);
        kvu(m, "response_id", h->resp.msg->id);
      }
      map_end(m);
    }
    seq_end(m);
    map_end(m);
  }
  seq_end(m);
}

static void document(man *m, const rkc_file *f) {
  yaml_event_t ev;
  yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
  emit(m, &ev);
  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0);
  emit(m, &ev);
  map_begin(m);
  kv(m, "rkc", RKC_VERSION);
  kvu(m, "abi", 1);
  kv(m, "source", f->base);
  kv(m, "package", f->qual);
  kv(m, "prefix", f->prefix);
  seq_begin(m, "constants");
  for (const rkc_const *k = f->consts; k; k = k->next) {
    char tn[64];
    type_name(&k->type, tn, sizeof tn);
    map_begin(m);
    kv(m, "name", k->name);
    kv(m, "type", tn);
    kv(m, "value", k->v.text);
    map_end(m);
  }
  seq_end(m);
  enums(m, f);
  messages(m, f);
  kernels(m, f);
  map_end(m);
  yaml_document_end_event_initialize(&ev, 1);
  emit(m, &ev);
  yaml_stream_end_event_initialize(&ev);
  emit(m, &ev);
}

int rkc_manifest(rkc_ctx *c, rkc_file *f, rkt_buf *out, char *err,
                 size_t errsz) {
  (void)c;
  man m;
  memset(&m, 0, sizeof m);
  m.out = out;
  if (!yaml_emitter_initialize(&m.em)) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  yaml_emitter_set_output(&m.em, write_cb, out);
  yaml_emitter_set_unicode(&m.em, 1);
  yaml_emitter_set_width(&m.em, -1);
  document(&m, f);
  if (!m.failed && !yaml_emitter_flush(&m.em)) m.failed = 1;
  if (m.failed)
    snprintf(err, errsz, "libyaml: %s",
             m.em.problem ? m.em.problem : "out of memory");
  yaml_emitter_delete(&m.em);
  return m.failed ? -1 : 0;
}
