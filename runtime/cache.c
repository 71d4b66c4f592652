/* SPDX-License-Identifier: MIT */
/*
** cache.c: the on-disk cache of compiled kernel images, so a second start
** compiles nothing. An entry is "<key>.rkimg": a 64-byte header (magic,
** format, kind, size, key, checksum of the image) then the image. Entries
** are written to a temporary file in the same folder, fsync'ed and renamed,
** so a reader sees a whole entry or none; a damaged one is deleted.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvrtc.h"

#define RK_CACHE_MAGIC "RKIMAGE\0"
#define RK_CACHE_HDR 64u
#define RK_CACHE_MAX (256u << 20) /* larger entries are not ours */

/* Header layout (little-endian host order; the cache is per machine). */
typedef struct rk_cache_hdr {
  char magic[8];
  uint32_t format;
  uint32_t is_ptx;
  uint64_t size;
  char key[32];
  uint64_t checksum;
} rk_cache_hdr;
_Static_assert(sizeof(rk_cache_hdr) == RK_CACHE_HDR, "cache header size");

/* ---- hashing: two independent 64-bit hashes make the 128-bit key ---- */

typedef struct rk_hash {
  uint64_t a, b;
} rk_hash;

static void hash_init(rk_hash *h) {
  h->a = 0xcbf29ce484222325ull;      /* FNV-1a 64 offset basis */
  h->b = 0x9e3779b97f4a7c15ull;
}

static void hash_bytes(rk_hash *h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h->a = (h->a ^ s[i]) * 0x100000001b3ull; /* FNV-1a 64 */
    uint64_t x = h->b ^ (s[i] * 0xbf58476d1ce4e5b9ull);
    h->b = ((x << 31) | (x >> 33)) * 0x94d049bb133111ebull;
  }
}

/* A field: its length first, so "ab"+"c" and "a"+"bc" differ. */
static void hash_field(rk_hash *h, const char *s) {
  uint64_t n = strlen(s);
  hash_bytes(h, &n, sizeof n);
  hash_bytes(h, s, (size_t)n);
}

static uint64_t checksum(const void *p, size_t n) {
  rk_hash h;
  hash_init(&h);
  hash_bytes(&h, p, n);
  return h.a ^ (h.b * 0x9e3779b97f4a7c15ull);
}

void rk__cache_key(const char *src, int arch, char key[33]) {
  rk_hash h;
  char buf[160];
  hash_init(&h);
  snprintf(buf, sizeof buf, "rk-cache %u", RK_CACHE_FORMAT);
  hash_field(&h, buf);
  hash_field(&h, RK_VERSION_STRING);
  hash_field(&h, rk__nvrtc_build_id());
  snprintf(buf, sizeof buf, "sm_%d", arch);
  hash_field(&h, buf);
  rk__nvrtc_options(arch, buf, sizeof buf);
  hash_field(&h, buf);
  hash_field(&h, src);
  snprintf(key, 33, "%016llx%016llx", (unsigned long long)h.a,
           (unsigned long long)h.b);
}

/* ---- folder ---- */

int rk__cache_dir(const char *setting, char *out, size_t cap) {
  const char *off = getenv("RK_CACHE_DISABLE");
  if (off && strcmp(off, "1") == 0)
    return -1;
  const char *home = getenv("HOME");
  const char *env = getenv("RK_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  int n;
  if (setting && *setting) {
    if (setting[0] == '~' && (setting[1] == '/' || !setting[1]) && home)
      n = snprintf(out, cap, "%s%s", home, setting + 1);
    else
      n = snprintf(out, cap, "%s", setting);
  } else if (env && *env) {
    n = snprintf(out, cap, "%s", env);
  } else if (xdg && *xdg) {
    n = snprintf(out, cap, "%s/ringkernel", xdg);
  } else if (home && *home) {
    n = snprintf(out, cap, "%s/.cache/ringkernel", home);
  } else {
    return -1;
  }
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* mkdir -p, mode 0700 for the folders it creates. 0 or -1. */
static int make_dirs(const char *dir) {
  char p[PATH_MAX];
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
    return -1;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
      return -1;
    *s = '/';
  }
  return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

static int entry_path(const char *dir, const char *key, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s.rkimg", dir, key);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* ---- read ---- */

/* Reads the whole file (at most RK_CACHE_MAX bytes). NULL on any error. */
static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = NULL;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && st.st_size > 0 &&
      (uint64_t)st.st_size <= RK_CACHE_MAX) {
    buf = malloc((size_t)st.st_size);
    if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
      free(buf);
      buf = NULL;
    }
    *len = (size_t)st.st_size;
  }
  fclose(f);
  return buf;
}

/* Checks a read entry. NULL when whole and ours, else what is wrong. */
static const char *check_entry(const unsigned char *buf, size_t len,
                               const char *key) {
  rk_cache_hdr h;
  if (len < RK_CACHE_HDR)
    return "shorter than its header";
  memcpy(&h, buf, sizeof h);
  if (memcmp(h.magic, RK_CACHE_MAGIC, 8) != 0)
    return "bad magic";
  if (h.format != RK_CACHE_FORMAT)
    return "other format version";
  if (memcmp(h.key, key, 32) != 0)
    return "key mismatch";
  if (h.size != len - RK_CACHE_HDR || h.size == 0)
    return "size mismatch";
  if (h.checksum != checksum(buf + RK_CACHE_HDR, (size_t)h.size))
    return "bad checksum";
  return NULL;
}

int rk__cache_get(const char *dir, const char *key, rk_image *out) {
  char path[PATH_MAX];
  size_t len = 0;
  if (entry_path(dir, key, path, sizeof path) != 0)
    return 0;
  unsigned char *buf = read_file(path, &len);
  if (!buf) {
    if (access(path, F_OK) == 0) { /* there but unreadable or oversized */
      rk__log(RK_LOG_WARN, "cuda: cache entry %s unreadable; deleting", path);
      unlink(path);
    }
    return 0;
  }
  const char *bad = check_entry(buf, len, key);
  if (bad) {
    rk__log(RK_LOG_WARN, "cuda: cache entry %s damaged (%s); recompiling",
            path, bad);
    unlink(path);
    free(buf);
    return 0;
  }
  rk_cache_hdr h;
  memcpy(&h, buf, sizeof h);
  memmove(buf, buf + RK_CACHE_HDR, (size_t)h.size);
  out->data = buf;
  out->size = (size_t)h.size;
  out->is_ptx = h.is_ptx != 0;
  return 1;
}

/* ---- write ---- */

static int write_all(int fd, const void *p, size_t n) {
  const char *s = p;
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

void rk__cache_put(const char *dir, const char *key, const rk_image *img) {
  char path[PATH_MAX], tmp[PATH_MAX];
  if (make_dirs(dir) != 0 || entry_path(dir, key, path, sizeof path) != 0 ||
      snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, key) >= (int)sizeof tmp) {
    rk__log(RK_LOG_WARN, "cuda: cache folder %s unusable", dir);
    return;
  }
  rk_cache_hdr h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, RK_CACHE_MAGIC, 8);
  h.format = RK_CACHE_FORMAT;
  h.is_ptx = (uint32_t)img->is_ptx;
  h.size = img->size;
  memcpy(h.key, key, 32);
  h.checksum = checksum(img->data, img->size);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    rk__log(RK_LOG_WARN, "cuda: cannot create %s: %s", tmp, strerror(errno));
    return;
  }
  /* fsync before rename: after a crash the name points at whole data */
  int ok = write_all(fd, &h, sizeof h) == 0 &&
           write_all(fd, img->data, img->size) == 0 && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    rk__log(RK_LOG_WARN, "cuda: cannot store cache entry %s: %s", path,
            strerror(errno));
    unlink(tmp);
  }
}

void rk__cache_drop(const char *dir, const char *key) {
  char path[PATH_MAX];
  if (entry_path(dir, key, path, sizeof path) == 0)
    unlink(path);
}

/* ---- cache or compile ---- */

rk_status rk__image_get(const char *src, const char *name, int arch,
                        const char *setting, rk_image *out, int *hit,
                        char *key) {
  char dir[PATH_MAX], k[33];
  rk_status s = rk__nvrtc_load(0);
  if (s != RK_OK)
    return s;
  rk__cache_key(src, arch, k);
  if (key)
    memcpy(key, k, 33);
  int use = rk__cache_dir(setting, dir, sizeof dir) == 0;
  if (use && rk__cache_get(dir, k, out)) {
    if (hit)
      *hit = 1;
    rk__log(RK_LOG_DEBUG, "cuda: %s for sm_%d from the cache (%s)", name, arch,
            k);
    return RK_OK;
  }
  if (hit)
    *hit = 0;
  s = rk__nvrtc_compile(src, name, arch, out);
  if (s == RK_OK && use)
    rk__cache_put(dir, k, out);
  return s;
}
