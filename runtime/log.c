/* SPDX-License-Identifier: MIT */
/*
** log.c: the one log function of librk. Lines above the level set from the
** config of any live runtime are never formatted (the level is the process's:
** the most verbose of the live runtimes' log_level, so no runtime loses a
** line it asked for); the default writer prints "rk: LEVEL: line" to
** stderr. The function and its user pointer change together under a
** mutex, so a line is never sent to one with the other's pointer. The
** mutex is recursive: a log function may call librk, rk_log_set included,
** without deadlocking on it.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"

static pthread_mutex_t rk_log_lock;
static pthread_once_t rk_log_once = PTHREAD_ONCE_INIT;
static rk_log_fn rk_log_fn_cur;  /* NULL: the default writer */
static void *rk_log_user;
/* Relaxed is enough: the level is a filter, not a publication; a line
** formatted or dropped around a change of level is harmless. */
static _Atomic int rk_log_level_cur = RK_LOG_INFO;
/* Live runtimes at each level (under rk_log_lock). */
static unsigned rk_log_holds[RK_LOG_DEBUG + 1];

static void log_lock_init(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&rk_log_lock, &a);
  pthread_mutexattr_destroy(&a);
}

static void log_lock(void) {
  pthread_once(&rk_log_once, log_lock_init);
  pthread_mutex_lock(&rk_log_lock);
}

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
  log_lock();
  rk_log_fn_cur = fn;
  rk_log_user = user;
  pthread_mutex_unlock(&rk_log_lock);
}

/* A runtime at level lvl begins (hold 1) or ends (hold 0): the process's
** level becomes the most verbose of the live ones (info when none). */
void rk__log_hold_level(rk_log_level lvl, int hold) {
  if ((int)lvl < RK_LOG_ERROR || (int)lvl > RK_LOG_DEBUG)
    return;
  log_lock();
  if (hold)
    rk_log_holds[lvl]++;
  else if (rk_log_holds[lvl])
    rk_log_holds[lvl]--;
  int cur = -1;
  for (int l = RK_LOG_ERROR; l <= RK_LOG_DEBUG; l++)
    if (rk_log_holds[l])
      cur = l;
  atomic_store_explicit(&rk_log_level_cur, cur < 0 ? (int)RK_LOG_INFO : cur,
                        memory_order_relaxed);
  pthread_mutex_unlock(&rk_log_lock);
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
  log_lock();
  if (rk_log_fn_cur)
    rk_log_fn_cur(lvl, line, rk_log_user);
  else
    fprintf(stderr, "rk: %s: %s\n", level_name(lvl), line);
  pthread_mutex_unlock(&rk_log_lock);
}
