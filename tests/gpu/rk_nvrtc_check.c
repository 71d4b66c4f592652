/* SPDX-License-Identifier: MIT */
/*
** rk-nvrtc-check: compiles a generated NAME.rk.cu through NVRTC to a cubin
** (default sm_90, no cache) exactly as librk does at run time. Exit 0 on
** success, 1 with NVRTC's log on a compile error, 2 on usage errors, 77
** (ctest's skip) when NVRTC cannot be loaded.
**   rk-nvrtc-check [--arch=XY|--arch=sm_XY] FILE.rk.cu...
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvrtc.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char tmp[65536];
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    memcpy(buf + len, tmp, n);
    len += n;
  }
  fclose(f);
  if (!buf)
    buf = calloc(1, 1);
  else
    buf[len] = '\0';
  return buf;
}

int main(int argc, char **argv) {
  int arch = 90, files = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--arch=", 7) == 0) { /* 90 or sm_90 */
      const char *a = argv[i] + 7;
      arch = atoi(strncmp(a, "sm_", 3) == 0 ? a + 3 : a);
      continue;
    }
    files++;
  }
  if (files == 0 || arch < 50) {
    fprintf(stderr, "usage: rk-nvrtc-check [--arch=XY] FILE.rk.cu...\n");
    return 2;
  }
  if (rk__nvrtc_load(0) != RK_OK) {
    fprintf(stderr, "rk-nvrtc-check: skipped: %s\n", rk_error_detail());
    return 77;
  }
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--arch=", 7) == 0)
      continue;
    char *src = slurp(argv[i]);
    if (!src) {
      fprintf(stderr, "rk-nvrtc-check: cannot read %s\n", argv[i]);
      return 2;
    }
    rk_image img;
    if (rk__nvrtc_compile(src, argv[i], arch, &img) != RK_OK) {
      fprintf(stderr, "%s\n", rk_error_detail());
      bad = 1;
    } else {
      printf("%s: %s for sm_%d, %zu bytes\n", argv[i],
             img.is_ptx ? "PTX" : "cubin", arch, img.size);
      rk__image_free(&img);
    }
    free(src);
  }
  return bad;
}
