/* SPDX-License-Identifier: MIT */
/*
** fuzz_config.c: libFuzzer target for librk's YAML config loader. Each input
** must load to RK_OK (a config that the internal readers and clone accept)
** or RK_E_CONFIG with a "name:line:col: " detail, never crash, leak or hang.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rk_config *cfg = (rk_config *)&size, *copy = NULL;
  rk_settings s;
  rk_kernel_cfg k;
  rk_status st = rk_config_load_yaml_string((const char *)data, size, "f",
                                            &cfg);
  if (st != RK_OK) {
    /* the contract: NULL config, a positioned detail */
    if (cfg != NULL || st != RK_E_CONFIG ||
        strncmp(rk_error_detail(), "f:", 2) != 0)
      abort();
    return 0;
  }
  rk__config_settings(cfg, &s);
  rk__config_kernel(cfg, "VectorAddProcessor", &k);
  if (k.capacity & (k.capacity - 1)) abort(); /* validated: a power of two */
  if (rk__config_clone(cfg, &copy) == RK_OK) rk_config_free(copy);
  st = rk_config_set(cfg, "kernels.A.block", "8"); /* fails past the limit */
  if (st != RK_OK && st != RK_E_CONFIG) abort();
  rk_config_free(cfg);
  return 0;
}
