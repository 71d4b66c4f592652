/* SPDX-License-Identifier: MIT */
/*
** nvrtc.h: run-time compilation of the generated .rk.cu (nvrtc.c) and the
** on-disk cache of compiled images (cache.c). Internal to librk. NVRTC is
** opened with dlopen and never closed; nothing here needs a GPU.
*/
#ifndef RK_NVRTC_H
#define RK_NVRTC_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* A compiled image: a cubin, or PTX (NUL-terminated) for the driver's JIT. */
typedef struct rk_image {
  void *data;   /* malloc'ed; free with rk__image_free */
  size_t size;  /* bytes (PTX: with its NUL) */
  int is_ptx;
} rk_image;

void rk__image_free(rk_image *img);

/* ---- NVRTC (nvrtc.c) ---- */

/* Opens NVRTC once per process. max_major: the highest CUDA major the
** driver supports (0: no limit), so an NVRTC newer than the driver is not
** picked when an older one is installed. RK_NVRTC names the library file
** outright (and RK_NVRTC_BUILTINS its builtins). RK_OK, or RK_E_NO_DEVICE
** with the places searched in the detail. Thread-safe. */
RK_WUR rk_status rk__nvrtc_load(int max_major);
/* After a successful load: NVRTC's version and the file it came from. */
void rk__nvrtc_version(int *major, int *minor);
const char *rk__nvrtc_path(void);
/* A string that names this NVRTC build exactly (version, path, size,
** mtime), for cache keys. */
const char *rk__nvrtc_build_id(void);
/* The highest sm_XY (as XY) this NVRTC can write a cubin for. */
int rk__nvrtc_max_arch(void);

/* Compiles src (name: shown in the log) for sm_<arch>: a cubin when NVRTC
** supports arch, else PTX for its highest architecture (the driver JITs
** it). The options used are written to opts (for cache keys). RK_OK with
** *out filled; RK_E_COMPILE with the NVRTC log in the detail; RK_E_NO_DEVICE
** when NVRTC cannot be loaded. */
RK_WUR rk_status rk__nvrtc_compile(const char *src, const char *name,
                                   int arch, rk_image *out);
/* Whether the images are the traced ones (RK_CUDA_TRACE set and not "0":
** the loop's phase timers, -DRK_TRACE, which the CUDA backend logs at
** join). */
int rk__nvrtc_traced(void);

/* The options rk__nvrtc_compile passes for arch, joined by '\n'. */
void rk__nvrtc_options(int arch, char *buf, size_t cap);
/* Compiles done by this process (a test hook: cache hits compile nothing). */
uint64_t rk__nvrtc_compile_count(void);

/* ---- image cache (cache.c) ---- */

#define RK_CACHE_FORMAT 1u

/* The cache folder: setting (the runtime's cache_dir, "~/" expanded) if
** non-empty, else RK_CACHE_DIR, else $XDG_CACHE_HOME/ringkernel, else
** ~/.cache/ringkernel. Returns 0 with the path in out, or -1 when the cache
** is off (RK_CACHE_DISABLE=1) or no folder can be named. */
int rk__cache_dir(const char *setting, char *out, size_t cap);

/* The 128-bit key of an image, as 32 hex digits: a hash of the cache format
** version, librk's version, the NVRTC build, the arch, the options and the
** full source. */
void rk__cache_key(const char *src, int arch, char key[33]);

/* Reads entry key from dir. 1 with *out filled; 0 on a miss. A damaged
** entry (magic, header, size or checksum) is deleted and counts as a miss. */
int rk__cache_get(const char *dir, const char *key, rk_image *out);
/* Stores img under key: a temporary file in dir, written, fsync'ed and
** renamed into place. Failure only logs (the cache is an optimisation). */
void rk__cache_put(const char *dir, const char *key, const rk_image *img);
/* Deletes an entry (the driver refused to load it). */
void rk__cache_drop(const char *dir, const char *key);

/* The image for src on sm_<arch>: from the cache (setting as for
** rk__cache_dir) or compiled and stored. *hit (may be NULL) says which.
** key (33 bytes, may be NULL) gets the entry's key. Errors as
** rk__nvrtc_compile. */
RK_WUR rk_status rk__image_get(const char *src, const char *name, int arch,
                               const char *setting, rk_image *out, int *hit,
                               char *key);

#endif /* RK_NVRTC_H */
