/* SPDX-License-Identifier: MIT */
/*
** arena.c: bump allocation in growing blocks freed together, string
** interning (FNV-1a, linear probing, load <= 1/2) and a u64-keyed map with
** the same probing. Lookups are O(1) expected, so the compiler stays linear.
*/
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct rkc_arena_block {
  rkc_arena_block *next;
  max_align_t data[];
};

#define RKC_ARENA_BLOCK 65536u

void *rkc_arena_alloc(rkc_arena *a, size_t n) {
  const size_t al = sizeof(max_align_t);
  n = (n + al - 1) / al * al;
  if (n == 0)
    n = al;
  if (a->head == NULL || a->cap - a->used < n) {
    size_t cap = n > RKC_ARENA_BLOCK ? n : RKC_ARENA_BLOCK;
    rkc_arena_block *b = malloc(sizeof *b + cap);
    if (b == NULL)
      return NULL;
    b->next = a->head;
    a->head = b;
    a->used = 0;
    a->cap = cap;
  }
  void *p = (char *)a->head->data + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

void rkc_arena_free(rkc_arena *a) {
  rkc_arena_block *b = a->head;
  while (b != NULL) {
    rkc_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->used = a->cap = 0;
}

uint32_t rkc_fnv1a(const void *p, size_t n) {
  const unsigned char *s = p;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 16777619u;
  }
  return h;
}

/* Doubles the table; returns 0, or -1 when out of memory. */
static int intern_grow(rkc_intern_tab *t) {
  size_t cap = t->cap ? t->cap * 2 : 256;
  rkc_intern_entry *s = calloc(cap, sizeof *s);
  if (s == NULL)
    return -1;
  for (size_t i = 0; i < t->cap; i++) {
    if (t->slots[i].str == NULL)
      continue;
    size_t j = t->slots[i].hash & (cap - 1);
    while (s[j].str != NULL)
      j = (j + 1) & (cap - 1);
    s[j] = t->slots[i];
  }
  free(t->slots);
  t->slots = s;
  t->cap = cap;
  return 0;
}

const char *rkc_intern_str(rkc_intern_tab *t, rkc_arena *a, const char *s,
                           size_t len) {
  if (len > UINT32_MAX)
    return NULL;
  if ((t->n + 1) * 2 > t->cap && intern_grow(t) != 0)
    return NULL;
  uint32_t h = rkc_fnv1a(s, len);
  size_t j = h & (t->cap - 1);
  for (; t->slots[j].str != NULL; j = (j + 1) & (t->cap - 1)) {
    rkc_intern_entry *e = &t->slots[j];
    if (e->hash == h && e->len == len && memcmp(e->str, s, len) == 0)
      return e->str;
  }
  char *copy = rkc_arena_alloc(a, len + 1);
  if (copy == NULL)
    return NULL;
  memcpy(copy, s, len);
  t->slots[j].hash = h;
  t->slots[j].len = (uint32_t)len;
  t->slots[j].str = copy;
  t->n++;
  return copy;
}

void rkc_intern_free(rkc_intern_tab *t) {
  free(t->slots);
  memset(t, 0, sizeof *t);
}

static size_t map_hash(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (size_t)k;
}

static int map_grow(rkc_map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  rkc_map_slot *s = calloc(cap, sizeof *s);
  if (s == NULL)
    return -1;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].key == 0)
      continue;
    size_t j = map_hash(m->slots[i].key) & (cap - 1);
    while (s[j].key != 0)
      j = (j + 1) & (cap - 1);
    s[j] = m->slots[i];
  }
  free(m->slots);
  m->slots = s;
  m->cap = cap;
  return 0;
}

void *rkc_map_get(const rkc_map *m, uint64_t key) {
  if (m->cap == 0)
    return NULL;
  for (size_t j = map_hash(key) & (m->cap - 1); m->slots[j].key != 0;
       j = (j + 1) & (m->cap - 1))
    if (m->slots[j].key == key)
      return m->slots[j].val;
  return NULL;
}

void *rkc_map_put(rkc_map *m, uint64_t key, void *val) {
  if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
    return val;
  size_t j = map_hash(key) & (m->cap - 1);
  for (; m->slots[j].key != 0; j = (j + 1) & (m->cap - 1))
    if (m->slots[j].key == key)
      return m->slots[j].val;
  m->slots[j].key = key;
  m->slots[j].val = val;
  m->n++;
  return NULL;
}

void rkc_map_free(rkc_map *m) {
  free(m->slots);
  memset(m, 0, sizeof *m);
}
