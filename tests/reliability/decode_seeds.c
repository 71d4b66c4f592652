/* SPDX-License-Identifier: MIT */
/*
** decode_seeds.c: writes one seed per message that fuzz_decode covers into
** OUT_DIR (fuzz/corpus/decode): the selector byte, then the message's
** defaults encoded. tests/reliability/decode_seeds.py adds hand-made ones.
** Usage: decode_seeds OUT_DIR
*/
#include <stdio.h>

#include "fuzz_decode.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: decode_seeds OUT_DIR\n");
    return 2;
  }
  static uint8_t buf[1 << 20];
  for (size_t i = 0; i < fuzz_decode_count(); i++) {
    size_t len = 0;
    const char *name = fuzz_decode_seed(i, buf, sizeof buf, &len);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_init", argv[1], name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
      fprintf(stderr, "decode_seeds: cannot write %s\n", path);
      return 1;
    }
    printf("%s: %zu bytes\n", path, len);
  }
  return 0;
}
