/* SPDX-License-Identifier: MIT */
/*
** arena.h: a bump allocator whose blocks are freed in one call, and a string
** interning table on top of it (equal strings get the same pointer, so names
** compare by pointer), and a small open-addressing map from 64-bit keys
** (interned pointers, type ids) to pointers.
*/
#ifndef RKC_ARENA_H
#define RKC_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct rkc_arena_block rkc_arena_block;
typedef struct rkc_arena {
  rkc_arena_block *head; /* newest block first */
  size_t used, cap;      /* of the head block */
} rkc_arena;

/* Returns n zeroed bytes aligned for any scalar, or NULL when out of memory.
** They live until rkc_arena_free. */
void *rkc_arena_alloc(rkc_arena *a, size_t n);
void rkc_arena_free(rkc_arena *a);

typedef struct rkc_intern_entry {
  uint32_t hash;
  uint32_t len;
  const char *str;
} rkc_intern_entry;

typedef struct rkc_intern_tab {
  rkc_intern_entry *slots; /* malloc'ed, power-of-two count */
  size_t n, cap;
} rkc_intern_tab;

/* Returns the one NUL-terminated copy of s[0..len) in the arena, or NULL
** when out of memory. */
const char *rkc_intern_str(rkc_intern_tab *t, rkc_arena *a, const char *s,
                           size_t len);
void rkc_intern_free(rkc_intern_tab *t);

/* A map from nonzero 64-bit keys to pointers (malloc'ed slots). */
typedef struct rkc_map_slot {
  uint64_t key;
  void *val;
} rkc_map_slot;
typedef struct rkc_map {
  rkc_map_slot *slots;
  size_t n, cap;
} rkc_map;

void *rkc_map_get(const rkc_map *m, uint64_t key);
/* Stores key -> val unless key is present; returns the value already there
** (NULL when inserted). Returns val itself when out of memory. */
void *rkc_map_put(rkc_map *m, uint64_t key, void *val);
void rkc_map_free(rkc_map *m);

uint32_t rkc_fnv1a(const void *p, size_t n);

#endif /* RKC_ARENA_H */
