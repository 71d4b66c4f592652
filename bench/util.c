/* SPDX-License-Identifier: MIT */
/*
** util.c: rk-bench's clock (CLOCK_MONOTONIC), its result tables (a series
** is sorted once when added, percentiles read from the sorted samples),
** notes, wrong-answer reports and the progress line on stderr.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t rkb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rkb_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The sample below which a fraction q of the sorted samples lie (nearest
** rank: index ceil(q * n) - 1). */
static double quantile(const uint64_t *s, size_t n, double q) {
  size_t i = (size_t)(q * (double)n + 0.999999);
  i = i == 0 ? 0 : i - 1;
  return (double)s[i < n ? i : n - 1];
}

rkb_lat *rkb_add_lat(rkb_run *r, const char *key, const char *label,
                     uint64_t *ns, size_t n) {
  if (r->n_lat == RKB_MAX_LAT || n == 0) {
    free(ns);
    return NULL;
  }
  rkb_lat *l = &r->lat[r->n_lat++];
  memset(l, 0, sizeof *l);
  snprintf(l->key, sizeof l->key, "%s", key);
  snprintf(l->label, sizeof l->label, "%s", label);
  qsort(ns, n, sizeof *ns, cmp_u64);
  l->ns = ns;
  l->n = n;
  l->p50 = quantile(ns, n, 0.50);
  l->p99 = quantile(ns, n, 0.99);
  l->p999 = quantile(ns, n, 0.999);
  l->min = (double)ns[0];
  l->max = (double)ns[n - 1];
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += (double)ns[i];
  l->mean = sum / (double)n;
  return l;
}

rkb_thr *rkb_add_thr(rkb_run *r, const char *key, const char *label,
                     uint64_t msgs, double secs, uint32_t workers) {
  if (r->n_thr == RKB_MAX_THR)
    return NULL;
  rkb_thr *t = &r->thr[r->n_thr++];
  memset(t, 0, sizeof *t);
  snprintf(t->key, sizeof t->key, "%s", key);
  snprintf(t->label, sizeof t->label, "%s", label);
  t->msgs = msgs;
  t->secs = secs;
  t->rate = secs > 0 ? (double)msgs / secs : 0;
  t->workers = workers;
  return t;
}

const rkb_lat *rkb_find_lat(const rkb_run *r, const char *key) {
  for (size_t i = 0; i < r->n_lat; i++)
    if (strcmp(r->lat[i].key, key) == 0)
      return &r->lat[i];
  return NULL;
}

const rkb_thr *rkb_find_thr(const rkb_run *r, const char *key) {
  for (size_t i = 0; i < r->n_thr; i++)
    if (strcmp(r->thr[i].key, key) == 0)
      return &r->thr[i];
  return NULL;
}

static int g_progress_drawn; /* the progress line is on the screen */

void rkb_note(rkb_run *r, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (r->n_notes < RKB_MAX_NOTES)
    memcpy(r->notes[r->n_notes++], buf, sizeof buf);
  fprintf(stderr, "%srk-bench: %s\n", g_progress_drawn ? "\n" : "", buf);
  g_progress_drawn = 0;
}

void rkb_wrong(rkb_run *r, const char *fmt, ...) {
  if (++r->wrong > 10)
    return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%srk-bench: WRONG: ", g_progress_drawn ? "\n" : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  g_progress_drawn = 0;
}

void rkb_progress(const rkb_opts *o, const char *phase, double done) {
  static uint64_t last;
  if (!o->progress)
    return;
  uint64_t now = rkb_now_ns();
  if (now - last < 100000000u && done < 1.0) /* at most 10 a second */
    return;
  last = now;
  fprintf(stderr, "\r  %-40s %3.0f%%  ", phase, done * 100.0);
  fflush(stderr);
  g_progress_drawn = 1;
}

void rkb_progress_end(const rkb_opts *o) {
  if (o->progress && g_progress_drawn)
    fprintf(stderr, "\r%60s\r", "");
  g_progress_drawn = 0;
}
