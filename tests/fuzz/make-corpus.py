#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed corpora of the fuzz targets, from real files.

usage: make-corpus.py BUILD_DIR OUT_DIR

BUILD_DIR is a build with the examples and tests (tests/sample-nets,
tests/tstream-tool, examples/ec2t-convert); OUT_DIR receives one folder per
target (container, model, engine, safetensors, npy, tstream):

- model and deployable files of the small networks of tests/sample-nets
  (every layer kind and operation; raw and entropy-coded ternary tensors;
  int8 calibrations, doc/FORMAT.md section 13.4),
  and the authors' ResNet-20 (spars64) as deployable files made by
  ec2t-convert, and exported to safetensors;
- the ResNet-20 safetensors file of tests/data and a few small safetensors
  files (several dtypes, __metadata__, an empty tensor);
- the .npy files of tests/data and of sample-nets, and .npy files of format
  versions 1.0, 2.0 and 3.0;
- for fuzz-tstream, streams of the coder for random layers of many shapes,
  each behind the four plan bytes that make fuzz-tstream read that layer
  alone, and four plan bytes and a stream header before random bytes.
- for fuzz-idx, pairs of small IDX files, raw and gzip (one or two members),
  behind the 4-byte length of the image file; for fuzz-cifar, a few records of
  each layout behind the byte that selects it; for fuzz-checkpoint, the golden
  checkpoints of tests/data/golden behind the byte that attaches a ternarizer.

Standard library only; deterministic.
"""
import gzip
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(SRC, "tests", "data", "resnet20-cifar10")
TARGETS = ("container", "model", "engine", "safetensors", "npy", "tstream")
FILE_TARGETS = ("idx", "cifar", "checkpoint")
GOLDEN = os.path.join(SRC, "tests", "data", "golden")


def put(out, target, name, data):
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: (name, dtype, shape, bytes) in order."""
    header, body = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def npy(shape, values, major):
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d," % s for s in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    size_len = 2 if major == 1 else 4
    pad = -(6 + 2 + size_len + len(d) + 1) % 64
    header = (d + " " * pad + "\n").encode("latin1" if major < 3 else "utf-8")
    return (b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<H" if major == 1 else "<I", len(header))
            + header + struct.pack("<%df" % len(values), *values))


def sample_files(build, out, tmp):
    subprocess.run([os.path.join(build, "tests", "sample-nets"), tmp], check=True)
    for name in sorted(os.listdir(tmp)):
        data = read(os.path.join(tmp, name))
        if name.endswith(".ec2tm"):
            put(out, "model", name, data)
            put(out, "container", name, data)
        elif name.endswith(".ec2t"):
            put(out, "engine", name, data)
            put(out, "container", name, data)
        elif name.endswith(".npy"):
            put(out, "npy", name, data)


def resnet_files(build, out, tmp):
    convert = os.path.join(build, "examples", "ec2t-convert")
    src = os.path.join(DATA, "resnet20_ec2t_spars64.safetensors")
    for enc, bits in (("raw", "32"), ("entropy", "32"), ("entropy", "16")):
        path = os.path.join(tmp, "resnet20-%s-%s.ec2t" % (enc, bits))
        subprocess.run([convert, "--arch", "resnet20", "--encoding", enc, "--float-bits", bits, src, path],
                       check=True, stdout=subprocess.DEVNULL)
        put(out, "engine", os.path.basename(path), read(path))
    put(out, "safetensors", "resnet20_ec2t_spars64.safetensors", read(src))
    for name in ("inputs.npy", "resnet20_ec2t_spars64.logits.npy"):
        put(out, "npy", name, read(os.path.join(DATA, name)))
    # the small networks' model files exported to safetensors, when ec2t-convert can
    for name in ("cnn", "gapnet", "mlp"):
        dst = os.path.join(tmp, name + ".safetensors")
        r = subprocess.run([convert, os.path.join(tmp, name + ".ec2tm"), dst],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            put(out, "safetensors", name + ".safetensors", read(dst))


def small_safetensors(out):
    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put(out, "safetensors", "f32.safetensors",
        safetensors([("a.weight", "F32", [2, 3], f32), ("a.bias", "F32", [1], f32[:4])]))
    put(out, "safetensors", "mixed.safetensors",
        safetensors([("i64", "I64", [2], struct.pack("<2q", -1, 7)),
                     ("f16", "F16", [3], b"\x00\x3c\x00\xbc\x00\x00"),
                     ("empty", "F32", [0, 4], b""),
                     ("scalar", "F32", [], struct.pack("<f", 0.5)),
                     ("u8", "U8", [1, 1, 2], b"\x01\x02")],
                    {"format": "pt", "note": "caf\u00e9 \\ \"q\""}))
    put(out, "safetensors", "empty.safetensors", safetensors([], {}))


def small_npy(out):
    put(out, "npy", "v1.npy", npy([2, 3], [0.5, -1, 2, 3, 4, 1e30], 1))
    put(out, "npy", "v2.npy", npy([4], [1, 2, 3, 4], 2))
    put(out, "npy", "v3.npy", npy([1, 2, 1, 2], [1, 2, 3, 4], 3))
    put(out, "npy", "scalar.npy", npy([1], [7], 1))


def tstream_layers(build, out, tmp):
    """Streams of one layer: plan bytes 0 (no floats), 4 (rows - 1) (the
    rows), slice - 1 and q - 1 (cols = slice * q), as fuzz-tstream reads them."""
    tool = os.path.join(build, "tests", "tstream-tool")
    rng = random.Random(5)
    shapes = [(1, 1, 1), (2, 9, 2), (16, 9, 16), (8, 4, 3), (5, 1, 16), (16, 9, 9),
              (3, 6, 5), (7, 8, 7), (1, 2, 1), (13, 5, 11)]
    for i, (rows, slice_, q) in enumerate(shapes):
        cols = slice_ * q
        zeros = rng.choice((0.0, 0.5, 0.9, 1.0))
        sym = bytes(0 if rng.random() < zeros else rng.choice((1, 255))
                    for _ in range(rows * cols))
        src, dst = os.path.join(tmp, "t.sym"), os.path.join(tmp, "t.bin")
        with open(src, "wb") as f:
            f.write(sym)
        subprocess.run([tool, "encode", str(rows), str(cols), str(slice_), src, dst], check=True)
        put(out, "tstream", "layer%02d.bin" % i, bytes([0, 4 * (rows - 1), slice_ - 1, q - 1]) + read(dst))


def tstream_seeds(out):
    """Plan bytes and random stream bodies: the fuzzer finds valid ends itself
    (the range decoder accepts any bytes until its end checks)."""
    rng = random.Random(7)
    for i in range(8):
        body = bytes([2, rng.choice((16, 32))]) + bytes(rng.randrange(256) for _ in range(rng.randrange(3, 200)))
        put(out, "tstream", "stream%02d.bin" % i, bytes(rng.randrange(256) for _ in range(4)) + body)


def idx_seeds(out):
    def idx(kind, dims, data):
        return bytes([0, 0, kind, len(dims)]) + struct.pack(">%dI" % len(dims), *dims) + bytes(data)

    def pair(images, labels):
        return struct.pack("<I", len(images)) + images + labels

    rng = random.Random(11)
    for n, rows, cols in ((5, 4, 3), (2, 28, 28), (1, 1, 1)):
        images = idx(8, (n, rows, cols), (rng.randrange(256) for _ in range(n * rows * cols)))
        labels = idx(8, (n,), (rng.randrange(10) for _ in range(n)))
        tag = "%dx%dx%d" % (n, rows, cols)
        put(out, "idx", "raw-%s.bin" % tag, pair(images, labels))
        put(out, "idx", "gz-%s.bin" % tag, pair(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
        put(out, "idx", "mixed-%s.bin" % tag, pair(gzip.compress(images, mtime=0), labels))
    # two gzip members, as concatenated .gz files are
    images = idx(8, (3, 2, 2), range(12))
    put(out, "idx", "members.bin",
        pair(gzip.compress(images[:7], mtime=0) + gzip.compress(images[7:], mtime=0), idx(8, (3,), (0, 1, 2))))


def cifar_seeds(out):
    rng = random.Random(13)
    for kind, name in ((0, "cifar10"), (1, "cifar100-fine"), (2, "cifar100-coarse"), (0x80, "cifar10-twice")):
        records = b""
        for _ in range(2):
            labels = bytes([rng.randrange(10)]) if kind & 0x7f == 0 else bytes([rng.randrange(20), rng.randrange(100)])
            records += labels + bytes(rng.randrange(256) for _ in range(3 * 32 * 32))
        put(out, "cifar", name + ".bin", bytes([kind]) + records)


def checkpoint_seeds(out):
    for name in ("trainer.ckpt", "ternarizer.ckpt"):
        data = read(os.path.join(GOLDEN, name))
        for attach in (0, 1):
            put(out, "checkpoint", "%s-%d.bin" % (name.split(".")[0], attach), bytes([attach]) + data)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-corpus.py BUILD_DIR OUT_DIR")
    build, out = sys.argv[1], sys.argv[2]
    for t in TARGETS + FILE_TARGETS:
        shutil.rmtree(os.path.join(out, t), ignore_errors=True)
        os.makedirs(os.path.join(out, t))
    with tempfile.TemporaryDirectory() as tmp:
        sample_files(build, out, tmp)
        resnet_files(build, out, tmp)
        tstream_layers(build, out, tmp)
    small_safetensors(out)
    small_npy(out)
    tstream_seeds(out)
    idx_seeds(out)
    cifar_seeds(out)
    checkpoint_seeds(out)
    for t in TARGETS + FILE_TARGETS:
        print("%-12s %3d seeds" % (t, len(os.listdir(os.path.join(out, t)))))


if __name__ == "__main__":
    main()
