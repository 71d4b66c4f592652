/* SPDX-License-Identifier: MIT */
/*
** replay_main.c: runs a libFuzzer entry point over every file of the given
** folders without libFuzzer, so that builds with gcc (and its ASan+UBSan
** build in CI) replay the seed corpus and every kept crash through ctest.
** A broken promise aborts in the target; exit status 1 on unreadable input.
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads path whole and feeds it to the target; returns 0 or -1. */
static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    uint8_t *b2 = realloc(buf, cap *= 2);
    if (!b2)
      free(buf);
    buf = b2;
  }
  int bad = ferror(f) || !buf;
  fclose(f);
  if (!bad) {
    /* an exact-size copy, as libFuzzer gives: reads past it are caught */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
      free(buf);
      return -1;
    }
    memcpy(exact, buf, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
  }
  free(buf);
  return bad ? -1 : 0;
}

int main(int argc, char **argv) {
  unsigned files = 0;
  for (int i = 1; i < argc; i++) {
    DIR *d = opendir(argv[i]);
    if (!d) {
      fprintf(stderr, "replay: cannot open %s\n", argv[i]);
      return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char path[4096];
      if (e->d_name[0] == '.')
        continue;
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (replay_file(path) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        closedir(d);
        return 1;
      }
      files++;
    }
    closedir(d);
  }
  printf("replayed %u inputs\n", files);
  return files ? 0 : 1;
}
