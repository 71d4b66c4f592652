/* SPDX-License-Identifier: MIT */
/*
** nvrtc.c: NVRTC opened with dlopen (libnvrtc.so.<major>, then
** .so.<major>.<minor>, in the loader's path and the toolkit's usual folders),
** its builtins library preloaded by absolute path from the same folder before
** the first compile (NVRTC looks for it by bare name and ignores RPATH), and
** compilation to a cubin for the exact sm_XY. Libraries are never closed.
*/
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nvrtc.h"

typedef int nvrtcResult; /* NVRTC_SUCCESS = 0 */
typedef struct _nvrtcProgram *nvrtcProgram;

/* The NVRTC entry points we use (stable C ABI since CUDA 11.2). */
typedef struct rk_nvrtc_api {
  nvrtcResult (*version)(int *, int *);
  nvrtcResult (*num_archs)(int *);
  nvrtcResult (*archs)(int *);
  nvrtcResult (*create)(nvrtcProgram *, const char *, const char *, int,
                        const char *const *, const char *const *);
  nvrtcResult (*destroy)(nvrtcProgram *);
  nvrtcResult (*compile)(nvrtcProgram, int, const char *const *);
  nvrtcResult (*log_size)(nvrtcProgram, size_t *);
  nvrtcResult (*log)(nvrtcProgram, char *);
  nvrtcResult (*cubin_size)(nvrtcProgram, size_t *);
  nvrtcResult (*cubin)(nvrtcProgram, char *);
  nvrtcResult (*ptx_size)(nvrtcProgram, size_t *);
  nvrtcResult (*ptx)(nvrtcProgram, char *);
  const char *(*errstr)(nvrtcResult);
} rk_nvrtc_api;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_loaded;              /* under g_lock; 1 once usable */
static rk_nvrtc_api g_api;
static int g_major, g_minor, g_max_arch;
static char g_path[PATH_MAX];
static char g_build_id[PATH_MAX + 96];
static _Atomic uint64_t g_compiles; /* a counter only: relaxed is enough */

void rk__image_free(rk_image *img) {
  if (img) {
    free(img->data);
    img->data = NULL;
    img->size = 0;
  }
}

/* Folders searched after the loader's own path, in order. */
static int search_dirs(const char *dirs[4]) {
  int n = 0;
  const char *home = getenv("CUDA_HOME");
  static char home_lib[PATH_MAX];
  if (home && *home) {
    snprintf(home_lib, sizeof home_lib, "%s/lib64", home);
    dirs[n++] = home_lib;
  }
  dirs[n++] = "/usr/local/cuda/lib64";
  dirs[n++] = "/usr/local/cuda/targets/x86_64-linux/lib";
  return n;
}

/* Tries libnvrtc.so.<major> then .so.<major>.<minor> in "" (the loader's
** path) and each folder. Returns the handle or NULL. */
static void *open_major(int major) {
  const char *dirs[4];
  int nd = search_dirs(dirs);
  char name[PATH_MAX];
  for (int d = -1; d < nd; d++) {
    const char *pre = d < 0 ? "" : dirs[d];
    const char *sep = d < 0 ? "" : "/";
    for (int minor = -1; minor <= 9; minor++) {
      if (minor < 0)
        snprintf(name, sizeof name, "%s%slibnvrtc.so.%d", pre, sep, major);
      else
        snprintf(name, sizeof name, "%s%slibnvrtc.so.%d.%d", pre, sep, major,
                 minor);
      void *h = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
      if (h)
        return h;
    }
  }
  return NULL;
}

static int bind(void *h) {
#define RK__SYM(field, sym)                                                 \
  do {                                                                      \
    *(void **)&g_api.field = dlsym(h, sym);                                 \
  } while (0)
  RK__SYM(version, "nvrtcVersion");
  RK__SYM(num_archs, "nvrtcGetNumSupportedArchs");
  RK__SYM(archs, "nvrtcGetSupportedArchs");
  RK__SYM(create, "nvrtcCreateProgram");
  RK__SYM(destroy, "nvrtcDestroyProgram");
  RK__SYM(compile, "nvrtcCompileProgram");
  RK__SYM(log_size, "nvrtcGetProgramLogSize");
  RK__SYM(log, "nvrtcGetProgramLog");
  RK__SYM(cubin_size, "nvrtcGetCUBINSize");
  RK__SYM(cubin, "nvrtcGetCUBIN");
  RK__SYM(ptx_size, "nvrtcGetPTXSize");
  RK__SYM(ptx, "nvrtcGetPTX");
  RK__SYM(errstr, "nvrtcGetErrorString");
#undef RK__SYM
  return g_api.version && g_api.create && g_api.destroy && g_api.compile &&
         g_api.log_size && g_api.log && g_api.cubin_size && g_api.cubin &&
         g_api.ptx_size && g_api.ptx && g_api.errstr;
}

/* Preloads libnvrtc-builtins.so.<maj>.<min> from the folder of g_path (or
** RK_NVRTC_BUILTINS), so NVRTC's own dlopen by bare name finds it loaded. */
static void preload_builtins(void) {
  char path[PATH_MAX + 64];
  const char *env = getenv("RK_NVRTC_BUILTINS");
  if (env && *env) {
    snprintf(path, sizeof path, "%s", env);
  } else {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", g_path);
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = '\0';
    else
      snprintf(dir, sizeof dir, ".");
    snprintf(path, sizeof path, "%s/libnvrtc-builtins.so.%d.%d", dir, g_major,
             g_minor);
  }
  if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL))
    rk__log(RK_LOG_WARN, "cuda: could not preload %s (%s); NVRTC will look "
            "for it by name", path, dlerror());
}

/* Fills g_path (the real file) and g_build_id from a symbol of handle. */
static void record_path(void) {
  Dl_info info;
  g_path[0] = '\0';
  if (dladdr(*(void **)&g_api.version, &info) && info.dli_fname) {
    if (!realpath(info.dli_fname, g_path))
      snprintf(g_path, sizeof g_path, "%s", info.dli_fname);
  }
  struct stat st;
  long long size = 0, mtime = 0;
  if (stat(g_path, &st) == 0) {
    size = (long long)st.st_size;
    mtime = (long long)st.st_mtime;
  }
  snprintf(g_build_id, sizeof g_build_id, "nvrtc %d.%d %s %lld %lld", g_major,
           g_minor, g_path, size, mtime);
}

static void read_archs(void) {
  int n = 0;
  g_max_arch = 0;
  if (!g_api.num_archs || !g_api.archs || g_api.num_archs(&n) != 0 || n <= 0)
    return;
  int *a = calloc((size_t)n, sizeof *a);
  if (a && g_api.archs(a) == 0)
    for (int i = 0; i < n; i++)
      if (a[i] > g_max_arch)
        g_max_arch = a[i];
  free(a);
}

/* Under g_lock: opens and binds one candidate. */
static rk_status load_locked(int max_major) {
  const char *env = getenv("RK_NVRTC");
  void *h = NULL;
  if (env && *env) {
    h = dlopen(env, RTLD_NOW | RTLD_GLOBAL);
    if (!h)
      return rk__fail(RK_E_NO_DEVICE, "NVRTC: RK_NVRTC=%s cannot be opened: %s",
                      env, dlerror());
  } else {
    int top = max_major > 0 ? max_major : 14;
    for (int m = top; m >= 11 && !h; m--)
      h = open_major(m);
    if (!h)
      return rk__fail(RK_E_NO_DEVICE,
                      "NVRTC not found: tried libnvrtc.so.<%d..11> in the "
                      "loader path, $CUDA_HOME/lib64, /usr/local/cuda/lib64 "
                      "and /usr/local/cuda/targets/x86_64-linux/lib (set "
                      "RK_NVRTC to its path)", top);
  }
  /* never dlclose: NVRTC keeps threads and the builtins bound to it */
  if (!bind(h) || g_api.version(&g_major, &g_minor) != 0)
    return rk__fail(RK_E_NO_DEVICE, "NVRTC: the library lacks entry points");
  record_path();
  read_archs();
  preload_builtins();
  g_loaded = 1;
  rk__log(RK_LOG_DEBUG, "cuda: NVRTC %d.%d from %s", g_major, g_minor, g_path);
  return RK_OK;
}

rk_status rk__nvrtc_load(int max_major) {
  pthread_mutex_lock(&g_lock);
  rk_status s = g_loaded ? RK_OK : load_locked(max_major);
  pthread_mutex_unlock(&g_lock);
  return s;
}

void rk__nvrtc_version(int *major, int *minor) {
  *major = g_major;
  *minor = g_minor;
}

const char *rk__nvrtc_path(void) { return g_path; }
const char *rk__nvrtc_build_id(void) { return g_build_id; }
int rk__nvrtc_max_arch(void) { return g_max_arch; }
uint64_t rk__nvrtc_compile_count(void) {
  return atomic_load_explicit(&g_compiles, memory_order_relaxed);
}

/* The target: the exact sm_XY when NVRTC knows it (or cannot tell), else
** PTX for its newest architecture. */
static int target_arch(int arch, int *ptx) {
  *ptx = g_max_arch > 0 && arch > g_max_arch;
  return *ptx ? g_max_arch : arch;
}

/* An environment switch: set, and not "0". */
static int env_on(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

int rk__nvrtc_traced(void) { return env_on("RK_CUDA_TRACE"); }

void rk__nvrtc_options(int arch, char *buf, size_t cap) {
  int ptx;
  int a = target_arch(arch, &ptx);
  /* RK_CUDA_TRACE=1: the loop times its phases (prelude, RK_TRACE) and
  ** the runtime logs them at join; RK_CUDA_LINEINFO=1: line tables in the
  ** image, so compute-sanitizer names source lines. Each a different
  ** image, cached apart (the options are part of the cache key). */
  snprintf(buf, cap, "--gpu-architecture=%s_%d\n-std=c++17\n-DRK_NVRTC=1%s%s",
           ptx ? "compute" : "sm", a,
           rk__nvrtc_traced() ? "\n-DRK_TRACE=1" : "",
           env_on("RK_CUDA_LINEINFO") ? "\n-lineinfo" : "");
}

/* Copies the program's log into a malloc'ed string ("" on any failure). */
static char *program_log(nvrtcProgram p) {
  size_t n = 0;
  if (g_api.log_size(p, &n) != 0 || n == 0)
    return strdup("");
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  if (g_api.log(p, s) != 0)
    s[0] = '\0';
  s[n] = '\0';
  return s;
}

/* Takes the cubin or PTX out of a compiled program into *out. */
static rk_status take_image(nvrtcProgram p, int ptx, rk_image *out) {
  size_t n = 0;
  nvrtcResult r = ptx ? g_api.ptx_size(p, &n) : g_api.cubin_size(p, &n);
  if (r != 0 || n == 0)
    return rk__fail(RK_E_COMPILE, "NVRTC produced no %s: %s",
                    ptx ? "PTX" : "cubin", g_api.errstr(r));
  out->data = malloc(n);
  if (!out->data)
    return rk__fail(RK_E_NOMEM, "NVRTC image of %zu bytes", n);
  r = ptx ? g_api.ptx(p, out->data) : g_api.cubin(p, out->data);
  if (r != 0) {
    rk__image_free(out);
    return rk__fail(RK_E_COMPILE, "NVRTC: %s", g_api.errstr(r));
  }
  out->size = n;
  out->is_ptx = ptx;
  return RK_OK;
}

rk_status rk__nvrtc_compile(const char *src, const char *name, int arch,
                            rk_image *out) {
  rk_status s = rk__nvrtc_load(0);
  if (s != RK_OK)
    return s;
  memset(out, 0, sizeof *out);
  char opts[128];
  rk__nvrtc_options(arch, opts, sizeof opts);
  const char *argv[8];
  int argc = 0;
  for (char *tok = strtok(opts, "\n"); tok && argc < 8; tok = strtok(NULL, "\n"))
    argv[argc++] = tok;
  int ptx;
  (void)target_arch(arch, &ptx);

  pthread_mutex_lock(&g_lock); /* one compile at a time: NVRTC before 12.x
                                  was not documented thread-safe */
  atomic_fetch_add_explicit(&g_compiles, 1, memory_order_relaxed);
  nvrtcProgram p = NULL;
  nvrtcResult r = g_api.create(&p, src, name, 0, NULL, NULL);
  if (r != 0) {
    pthread_mutex_unlock(&g_lock);
    return rk__fail(RK_E_COMPILE, "nvrtcCreateProgram: %s", g_api.errstr(r));
  }
  r = g_api.compile(p, argc, argv);
  if (r != 0) {
    char *log = program_log(p);
    g_api.destroy(&p);
    pthread_mutex_unlock(&g_lock);
    s = rk__fail(RK_E_COMPILE, "NVRTC %d.%d (%s, %s): %s\n%s", g_major,
                 g_minor, name, argv[0], g_api.errstr(r), log ? log : "");
    free(log);
    return s;
  }
  s = take_image(p, ptx, out);
  g_api.destroy(&p);
  pthread_mutex_unlock(&g_lock);
  return s;
}
