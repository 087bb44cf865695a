#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python reader of deployable files (doc/ec2t_reader.py, written from
doc/FORMAT.md) against libec2t:

- the authors' ResNet-20 (spars64), converted by ec2t-convert with raw
  ternary tensors (the keyed layout) and entropy-coded ones (the packed
  layout, 32-bit and 16-bit floats): the reader's logits for tests/data's
  inputs match those of ec2t-deploy within 1e-3, and PyTorch's within 1e-3
  (0.5 with 16-bit floats);
- the small networks of sample-nets, which use every operation kind (grouped
  and strided convolutions, option-A shortcuts, padded pools, flatten, an
  unfoldable batchnorm): the reader's outputs match the C engine's;
- damaged files: the reader and ec2t-deploy accept and reject the same ones,
  among byte flips of the header with the header checksum recomputed (so
  that the schema checks of section 13, not the checksum, decide), and both
  reject truncations, flipped data bytes and a newer version; and among
  changed bytes of the packed layout's program, with its checksum and the
  header's recomputed.

usage: ec2t-reader-test.py EC2T_CONVERT EC2T_DEPLOY SAMPLE_NETS DOC_DIR DATA_DIR
Needs NumPy to run the programs; exits 77 (skipped) without it.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zlib

CONVERT, DEPLOY, SAMPLE_NETS, DOC_DIR, DATA_DIR = sys.argv[1:6]
sys.path.insert(0, DOC_DIR)
import ec2t_reader  # noqa: E402

try:
    import numpy as np
except ImportError:
    print("SKIP: NumPy is not importable by %s; the reader test needs it to run programs "
          "(install python3-numpy)" % sys.executable)
    sys.exit(77)

RESNET = os.path.join(DATA_DIR, "resnet20-cifar10")
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def check_close(what, got, want, tol):
    got, want = np.asarray(got).reshape(len(want), -1), np.asarray(want).reshape(len(want), -1)
    diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
    print("%-44s max |diff| %.3g (tolerance %g)" % (what, diff, tol))
    if not diff <= tol:
        fail("%s: shapes %s and %s, max |diff| %g" % (what, got.shape, want.shape, diff))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def c_accepts(tmp, data):
    """Whether ec2t-deploy loads the file (exit 0) or rejects it (exit 1)."""
    path = os.path.join(tmp, "mutant.ec2t")
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run([DEPLOY, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode not in (0, 1):
        fail("ec2t-deploy exited %d on a damaged file" % r.returncode)
    return r.returncode == 0


def py_accepts(data):
    try:
        ec2t_reader.load_model(data)
        return True
    except ec2t_reader.FormatError:
        return False


def resnet(tmp):
    inputs = np.load(os.path.join(RESNET, "inputs.npy"))
    torch_logits = np.load(os.path.join(RESNET, "resnet20_ec2t_spars64.logits.npy"))
    # (encoding, float bits, the layout's tensors, tolerance against PyTorch)
    for enc, bits, tensors, tol in (("raw", 32, 18, 1e-3), ("entropy", 32, 3, 1e-3),
                                    ("entropy", 16, 3, 0.5)):
        what = "resnet20 %s %d-bit" % (enc, bits)
        path = os.path.join(tmp, "resnet20-%s-%d.ec2t" % (enc, bits))
        subprocess.run([CONVERT, "--arch", "resnet20", "--encoding", enc, "--float-bits", str(bits),
                        os.path.join(RESNET, "resnet20_ec2t_spars64.safetensors"), path],
                       check=True, stdout=subprocess.DEVNULL)
        t0 = time.time()
        container = ec2t_reader.read_container(read(path))
        model = ec2t_reader.model_from_container(container)
        ternary = sum(op.tern is not None for op in model.ops)
        # raw: a TERNARY_2B tensor per ternary layer; entropy: the packed layout's three
        found = sum(n.endswith(".tern") for n in container.tensors) if enc == "raw" else len(container.tensors)
        if ternary != 18 or found != tensors or ("engine.program" in container.tensors) != (enc != "raw"):
            fail("%s: %d ternary layers and %d tensors, expected 18 and %d" % (what, ternary, found, tensors))
        logits = ec2t_reader.run(model, inputs)
        print("%s: %d ops, read and run in %.1f s" % (what, len(model.ops), time.time() - t0))
        check_close(what + " vs PyTorch", logits, torch_logits, tol)
        out = os.path.join(tmp, "deploy-%s-%d.npy" % (enc, bits))
        subprocess.run([DEPLOY, path, "--npy", os.path.join(RESNET, "inputs.npy"), "--save-logits", out],
                       check=True, stdout=subprocess.DEVNULL)
        check_close(what + " vs ec2t-deploy", logits, np.load(out), 1e-3)


def samples(tmp):
    subprocess.run([SAMPLE_NETS, tmp], check=True)
    kinds = set()
    for name in ("cnn", "gapnet", "mlp"):
        x = np.load(os.path.join(tmp, name + ".input.npy"))
        want = np.load(os.path.join(tmp, name + ".output.npy"))
        for enc in ("raw", "entropy"):
            model = ec2t_reader.load_model(read(os.path.join(tmp, "%s.%s.ec2t" % (name, enc))))
            kinds.update(op.kind for op in model.ops)
            check_close("%s %s vs the C engine" % (name, enc), ec2t_reader.run(model, x), want, 1e-4)
    missing = set(ec2t_reader.OP_KINDS) - kinds
    if missing:
        fail("sample-nets uses no %s operation" % ", ".join(sorted(missing)))


def header_walk(data):
    """The container, the file offset where each tensor info ends (its CRC is
    the last 4 bytes before it), and the offset of the header checksum."""
    c = ec2t_reader.read_container(data)
    cur = ec2t_reader._Cursor(data)
    cur.pos = 24
    for _ in range(len(c.keys)):
        ec2t_reader._value(cur, cur.text(1, 255, "key"))
    ends = []
    for i in range(len(c.tensors)):
        ec2t_reader._tensor_info(cur, i)
        ends.append(cur.pos)
    return c, ends, cur.pos


def agree_on(tmp, what, variants):
    """Both readers accept or both reject each (description, bytes) variant."""
    agree = accepted = total = 0
    for where, b in variants:
        py, cc = py_accepts(b), c_accepts(tmp, b)
        total += 1
        agree += py == cc
        accepted += py and cc
        if py != cc:
            fail("%s, %s: Python %s, libec2t %s" % (what, where, "accepts" if py else "rejects",
                                                   "accepts" if cc else "rejects"))
    print("%-44s %d/%d agree (%d accepted by both)" % (what, agree, total, accepted))


def mutants(tmp, path, count, seed):
    """Header byte flips with the checksum recomputed: both readers agree."""
    data = read(path)
    _, _, end = header_walk(data)
    rng = random.Random(seed)

    def variants():
        for _ in range(count):
            b = bytearray(data)
            k = rng.randrange(24, end)
            b[k] ^= 1 << rng.randrange(8)
            struct.pack_into("<I", b, end, zlib.crc32(bytes(b[:end])) & 0xFFFFFFFF)
            yield "header byte %d flipped (checksum fixed)" % k, bytes(b)
    agree_on(tmp, os.path.basename(path) + " header mutants", variants())
    return end


def program_mutants(tmp, path, count, seed):
    """Bytes of engine.program changed, its checksum and the header's
    recomputed (so that the program's own rules decide): both readers agree."""
    data = read(path)
    c, ends, end = header_walk(data)
    t = c.tensors["engine.program"]
    crc_at = ends[list(c.tensors).index("engine.program")] - 4
    start = c.data_start + t.offset
    rng = random.Random(seed)

    def variants():
        for _ in range(count):
            b = bytearray(data)
            k = start + rng.randrange(t.nbytes)
            if rng.random() < 0.5:
                b[k] ^= 1 << rng.randrange(8)
            else:
                b[k] = rng.choice((0, 1, 2, 0x7F, 0x80, 0xFF, rng.randrange(256)))
            struct.pack_into("<I", b, crc_at, zlib.crc32(bytes(b[start:start + t.nbytes])) & 0xFFFFFFFF)
            struct.pack_into("<I", b, end, zlib.crc32(bytes(b[:end])) & 0xFFFFFFFF)
            yield "program byte %d changed (checksums fixed)" % (k - start), bytes(b)
    agree_on(tmp, os.path.basename(path) + " program mutants", variants())


def damaged(tmp, path):
    """Corruptions both readers must reject."""
    data = read(path)
    end = mutants(tmp, path, 150, len(data))
    cases = {"truncated": data[:-1], "header byte flipped": data[:40] + bytes([data[40] ^ 1]) + data[41:],
             "checksum flipped": data[:end] + bytes([data[end] ^ 1]) + data[end + 1:],
             "data byte flipped": data[:-3] + bytes([data[-3] ^ 0x20]) + data[-2:],
             "trailing byte": data + b"\0" * 64 + b"\1",
             "version 2": data[:4] + b"\2" + data[5:]}
    for what, d in cases.items():
        if py_accepts(d) or c_accepts(tmp, d):
            fail("%s, %s: accepted by %s" % (os.path.basename(path), what,
                                           "Python" if py_accepts(d) else "libec2t"))
    try:
        ec2t_reader.read_container(cases["version 2"])
        fail("version 2 accepted")
    except ec2t_reader.UnsupportedError:
        pass


def main():
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        resnet(tmp)
        samples(tmp)
        for name in ("cnn.raw.ec2t", "cnn.entropy.ec2t", "gapnet.raw.ec2t"):
            damaged(tmp, os.path.join(tmp, name))
        for name in ("cnn.entropy.ec2t", "gapnet.entropy.ec2t", "mlp.entropy.ec2t"):
            program_mutants(tmp, os.path.join(tmp, name), 100, len(name))
    print("%d failures, %.1f s" % (failures, time.time() - t0))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
