/* SPDX-License-Identifier: MIT */
/*
** log.c: the one log function of librk. Lines above the level set from the
** config are never formatted; the default writer prints "rk: LEVEL: line"
** to stderr. The function and its user pointer change together under a
** mutex, so a line is never sent to one with the other's pointer.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"

static pthread_mutex_t rk_log_lock = PTHREAD_MUTEX_INITIALIZER;
static rk_log_fn rk_log_fn_cur;  /* NULL: the default writer */
static void *rk_log_user;
/* Relaxed is enough: the level is a filter, not a publication; a line
** formatted or dropped around a change of level is harmless. */
static _Atomic int rk_log_level_cur = RK_LOG_INFO;

static const char *level_name(rk_log_level lvl) {
  switch (lvl) {
  case RK_LOG_ERROR: return "error";
  case RK_LOG_WARN: return "warn";
  case RK_LOG_INFO: return "info";
  case RK_LOG_DEBUG: return "debug";
  }
  return "log";
}

void rk_log_set(rk_log_fn fn, void *user) {
  pthread_mutex_lock(&rk_log_lock);
  rk_log_fn_cur = fn;
  rk_log_user = user;
  pthread_mutex_unlock(&rk_log_lock);
}

void rk__log_set_level(rk_log_level lvl) {
  atomic_store_explicit(&rk_log_level_cur, (int)lvl, memory_order_relaxed);
}

void rk__log(rk_log_level lvl, const char *fmt, ...) {
  if ((int)lvl > atomic_load_explicit(&rk_log_level_cur, memory_order_relaxed))
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* The lock also keeps lines from interleaving on stderr. */
  pthread_mutex_lock(&rk_log_lock);
  if (rk_log_fn_cur)
    rk_log_fn_cur(lvl, line, rk_log_user);
  else
    fprintf(stderr, "rk: %s: %s\n", level_name(lvl), line);
  pthread_mutex_unlock(&rk_log_lock);
}
