#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes hand-made seeds into fuzz/corpus/decode/: valid wire encodings of
# wireall.rk's All and Inner with every field set, behind fuzz_decode's
# selector byte (0 All, 1 Inner); the defaults of every message come from
# decode_seeds.c. Layout: spec/language.md "Wire format".
# Usage: python3 tests/reliability/decode_seeds.py [OUT_DIR]
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "fuzz", "corpus", "decode")
os.makedirs(out, exist_ok=True)


def inner(x=-7, mode=7, ok=0):
    return struct.pack("<iBB", x, mode, ok)


def all_msg(b=0, i8=0, u8=0, i16=0, u16=0, i32=0, u32=0, i64=0, u64=0,
            f32=0.0, f64=0.25, mode=0, delta=300, big=1, inn=None,
            vals=(), inners=(), flags=(0, 0, 0, 0), deltas=(0, 0),
            fixed=(0, 0)):
    p = struct.pack("<?bBhHiIqQfdBhQ", b, i8, u8, i16, u16, i32, u32, i64,
                    u64, f32, f64, mode, delta, big)
    p += inn if inn is not None else inner()
    p += struct.pack("<BH", len(vals), len(inners))
    p += b"".join(struct.pack("<f", v) for v in vals)
    p += b"".join(inners)
    p += bytes(flags)
    p += struct.pack("<hh", *deltas) + struct.pack("<qq", *fixed)
    return p


seeds = {
    "all_zero_enums_valid": b"\0" + all_msg(f64=0.0, delta=0, big=1,
                                             inn=inner(0, 0, 0)),
    "all_full": b"\0" + all_msg(
        b=1, i8=-128, u8=255, i16=-32768, u16=65535, i32=-2**31,
        u32=2**32 - 1, i64=-2**63, u64=2**64 - 1, f32=-1.5, f64=1e300,
        mode=1, delta=-300, big=2**64 - 1, inn=inner(2**31 - 1, 1, 1),
        vals=(1.0, 2.0, 3.0, 4.0, 5.0),
        inners=(inner(1, 0, 0), inner(2, 1, 1), inner(3, 7, 0)),
        flags=(1, 0, 1, 1), deltas=(-300, 300), fixed=(-1, 2**63 - 1)),
    "all_some_len": b"\0" + all_msg(vals=(0.5, -0.0), inners=(inner(),)),
    "inner_ok": b"\1" + inner(123456, 1, 1),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), out))
