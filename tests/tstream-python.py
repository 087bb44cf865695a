#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python decoder of the coder (StreamDecoder in doc/ec2t_reader.py)
against libec2t's encoder and decoder (lib/engine/tstream.c, through tstream-tool),
on streams of one ternary layer:

- the example stream of doc/FORMAT.md (pinned in tests/test-tstream.c);
- random layers of many shapes and sparsities, coded by the C encoder and
  decoded exactly by Python;
- damaged streams (truncations, trailing bytes, byte flips, other header
  bytes): Python and C accept and reject the same ones, and decode accepted
  ones alike;
- the 18 ternary convolutions of the three EC2T ResNet-20 checkpoints.

Usage: tstream-python.py TSTREAM_TOOL DOC_DIR DATA_DIR. Standard library only.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

TOOL, DOC_DIR, DATA_DIR = sys.argv[1:4]
sys.path.insert(0, DOC_DIR)
import ec2t_reader  # noqa: E402

EXAMPLE_SYM = [[0, 1, 0, 1, 1, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 1, 1, 0, 1, 0, 0, 0, 0, -1, 0, 0, -1, 0, 0, 1, 0, 0]]
EXAMPLE_STREAM = bytes([0x02, 0x10, 0x37, 0xff, 0xb5, 0x79, 0x3a, 0x25,
                        0x45, 0x16, 0x0c, 0xa2, 0x92, 0x85, 0x9c, 0x46])

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def sym_bytes(rows):
    return bytes(s & 0xFF for r in rows for s in r)


def from_sym_bytes(data, rows, cols):
    v = [b - 256 if b > 127 else b for b in data]
    return [v[r * cols:(r + 1) * cols] for r in range(rows)]


def c_encode(tmp, layer, cols, slice_):
    src, dst = os.path.join(tmp, "in.sym"), os.path.join(tmp, "out.bin")
    with open(src, "wb") as f:
        f.write(sym_bytes(layer))
    subprocess.run([TOOL, "encode", str(len(layer)), str(cols), str(slice_), src, dst],
                   check=True)
    with open(dst, "rb") as f:
        return f.read()


def c_decode(tmp, data, rows, cols, slice_):
    """The C decoder's symbols, or None when it rejects the stream."""
    src, dst = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.sym")
    with open(src, "wb") as f:
        f.write(data)
    r = subprocess.run([TOOL, "decode", str(rows), str(cols), str(slice_), src, dst],
                       stderr=subprocess.DEVNULL)
    if r.returncode == 3:
        return None
    if r.returncode != 0:
        raise RuntimeError("tstream-tool decode failed with %d" % r.returncode)
    with open(dst, "rb") as f:
        return from_sym_bytes(f.read(), rows, cols)


def py_decode(data, rows, cols, slice_):
    """Python's symbols of a stream of one layer, or None when it rejects it."""
    try:
        dec = ec2t_reader.StreamDecoder(data)
        layer = dec.layer(rows, cols, slice_)
        dec.finish()
        return layer
    except ec2t_reader.FormatError:
        return None


def random_layer(rng, rows, cols, density, neg):
    return [[(-1 if rng.random() < neg else 1) if rng.random() < density else 0
             for _ in range(cols)] for _ in range(rows)]


def check_example():
    dec = ec2t_reader.StreamDecoder(EXAMPLE_STREAM)
    levels = [dec.float(ec2t_reader.KIND_LEVEL) for _ in range(2)]
    layer = dec.layer(2, 18, 9)
    biases = [dec.float(ec2t_reader.KIND_BIAS) for _ in range(2)]
    dec.finish()
    if dec.float_bits != 16 or levels != [0.5, 0.25] or layer != EXAMPLE_SYM or biases != [1.0, -2.0]:
        fail("the example stream decodes to %r %r %r" % (levels, layer, biases))


def check_random(tmp, rng):
    shapes = [(1, 1, 1), (1, 9, 9), (9, 1, 1), (7, 63, 9), (5, 65, 1), (3, 130, 13),
              (4, 100, 25), (6, 96, 4), (6, 96, 6), (16, 144, 9), (2, 700, 1), (40, 49, 49)]
    densities = [0.0, 0.05, 0.36, 0.7, 1.0]
    n = 0
    for rows, cols, slice_ in shapes:
        for density in densities:
            neg = rng.choice([0.0, 0.3, 0.5, 1.0])
            layer = random_layer(rng, rows, cols, density, neg)
            data = c_encode(tmp, layer, cols, slice_)
            got = py_decode(data, rows, cols, slice_)
            if got != layer:
                fail("random %d x %d / %d, density %.2f: Python decodes other symbols"
                     % (rows, cols, slice_, density))
            n += 1
    print("random layers: %d coded by C, decoded by Python" % n)


def agree(tmp, data, rows, cols, slice_, what):
    """Python and C must accept the same streams and decode them alike."""
    py, c = py_decode(data, rows, cols, slice_), c_decode(tmp, data, rows, cols, slice_)
    if py != c:
        if py is not None and c is not None:
            fail("%s: Python and C decode other symbols" % what)
        else:
            fail("%s: Python %s, C %s" % (what, "rejects" if py is None else "accepts",
                                          "rejects" if c is None else "accepts"))
    return py is not None


def check_damaged(tmp, rng):
    total = accepted = 0
    for rows, cols, slice_, density in [(16, 144, 9, 0.36), (3, 27, 9, 0.6), (12, 1, 1, 0.5)]:
        layer = random_layer(rng, rows, cols, density, 0.5)
        data = c_encode(tmp, layer, cols, slice_)
        cases = [("truncated to %d" % n, data[:n]) for n in range(len(data))]
        cases += [("%d trailing 0x%02x" % (n, b), data + bytes([b]) * n)
                  for n in (1, 2, 3, 4) for b in (0, 1, 0xFF)]
        cases += [("header byte %d = %d" % (k, v), data[:k] + bytes([v]) + data[k + 1:])
                  for k in (0, 1) for v in (0, 1, 3, 8, 16, 31, 33, 255)]
        for t in range(60):
            bad = bytearray(data)
            bad[rng.randrange(len(bad))] ^= rng.randrange(1, 256)
            cases.append(("flip %d" % t, bytes(bad)))
        for what, d in cases:
            accepted += agree(tmp, d, rows, cols, slice_, "%d x %d: %s" % (rows, cols, what))
            total += 1
    print("damaged streams: %d checked, C and Python agree; %d decoded to another valid layer"
          % (total, accepted))
    # the length rule: both refuse a layer its bytes cannot code, both accept
    # the all-zero layer, the cheapest stream there is
    if agree(tmp, b"\x02\x20\x42", 8, 9000, 9, "3 bytes for 72,000 symbols"):
        fail("a 3-byte stream was accepted for 72,000 symbols")
    zeros = [[0] * 9000 for _ in range(40)]
    if not agree(tmp, c_encode(tmp, zeros, 9000, 9), 40, 9000, 9, "all-zero 40 x 9000"):
        fail("the all-zero layer was rejected")


def read_safetensors(path):
    """name -> (shape, list of floats) of the F32 tensors of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        count = (end - begin) // 4
        out[name] = (info["shape"], struct.unpack_from("<%df" % count, raw, 8 + n + begin))
    return out


def check_resnet(tmp):
    for spars in (45, 64, 73):
        path = os.path.join(DATA_DIR, "resnet20-cifar10",
                            "resnet20_ec2t_spars%d.safetensors" % spars)
        tensors = read_safetensors(path)
        coded = symbols = 0
        for s in (1, 2, 3):
            for b in (0, 1, 2):
                for c in (1, 2):
                    shape, w = tensors["layer%d.%d.conv%d.weight" % (s, b, c)]
                    rows, cols = shape[0], shape[1] * shape[2] * shape[3]
                    flat = [(v > 0) - (v < 0) for v in w]
                    layer = [flat[r * cols:(r + 1) * cols] for r in range(rows)]
                    data = c_encode(tmp, layer, cols, 9)
                    if py_decode(data, rows, cols, 9) != layer:
                        fail("spars%d layer%d.%d.conv%d: Python decodes other symbols"
                             % (spars, s, b, c))
                    coded += len(data)
                    symbols += rows * cols
        print("resnet20_ec2t_spars%d: %d symbols in %d bytes, decoded exactly by Python"
              % (spars, symbols, coded))


def main():
    rng = random.Random(20261126)
    with tempfile.TemporaryDirectory() as tmp:
        check_example()
        check_random(tmp, rng)
        check_damaged(tmp, rng)
        check_resnet(tmp)
    if failures:
        print("%d failures" % failures)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
