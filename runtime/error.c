/* SPDX-License-Identifier: MIT */
/*
** error.c: status names and texts (from RK_STATUS_MAP, so they never drift
** from the enum) and this thread's detail string. Every public call that
** fails sets the detail through rk__fail; calls that succeed clear it.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* One buffer per thread: valid until the thread's next librk call. */
static _Thread_local char rk_detail[1024];

const char *rk_status_str(rk_status s) {
  switch (s) {
#define RK__STATUS_STR(name, value, text) \
  case RK_##name:                         \
    return "RK_" #name;
    RK_STATUS_MAP(RK__STATUS_STR)
#undef RK__STATUS_STR
  }
  return "RK_E_UNKNOWN";
}

const char *rk_status_text(rk_status s) {
  switch (s) {
#define RK__STATUS_TEXT(name, value, text) \
  case RK_##name:                          \
    return text;
    RK_STATUS_MAP(RK__STATUS_TEXT)
#undef RK__STATUS_TEXT
  }
  return "unknown status";
}

const char *rk_error_detail(void) { return rk_detail; }

/* Formats the detail (truncated to the buffer) and returns s unchanged, so
** callers write `return rk__fail(RK_E_INVALID, "...", ...)`. Formats into a
** local buffer first: callers may pass rk_error_detail() itself as an
** argument to wrap a deeper error with context. */
rk_status rk__fail(rk_status s, const char *fmt, ...) {
  char tmp[sizeof rk_detail];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  memcpy(rk_detail, tmp, sizeof tmp);
  return s;
}

void rk__clear_detail(void) { rk_detail[0] = '\0'; }
