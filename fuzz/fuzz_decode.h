/* SPDX-License-Identifier: MIT */
/*
** fuzz_decode.h: what fuzz_decode.c offers besides its libFuzzer entry
** point: the messages it covers, and a valid encoding of each (its
** defaults), for the seed writer tests/reliability/decode_seeds.c.
*/
#ifndef RK_FUZZ_DECODE_H
#define RK_FUZZ_DECODE_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* How many messages the target covers (the selector byte's modulus). */
size_t fuzz_decode_count(void);
/* Writes the selector byte i and message i's defaults, encoded, into buf
** (cap bytes); *len gets the bytes. Returns the message's C name. */
const char *fuzz_decode_seed(size_t i, uint8_t *buf, size_t cap,
                             size_t *len);

#endif /* RK_FUZZ_DECODE_H */
