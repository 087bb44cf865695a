#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python reader of deployable files (doc/ec2t_reader.py, written from
doc/FORMAT.md) against libec2t:

- the authors' ResNet-20 (spars64), converted by ec2t-convert with raw
  ternary tensors (the keyed layout) and entropy-coded ones (the packed
  layout, 32-bit and 16-bit floats): the reader's logits
  for tests/data's inputs match those of ec2t-deploy within 1e-3, and
  PyTorch's within 1e-3 (0.5 with 16-bit floats);
- the small networks of sample-nets, which use every operation kind (grouped
  and strided convolutions, option-A shortcuts, padded pools, flatten, an
  unfoldable batchnorm): the reader's outputs match the C engine's, and it
  reads their int8 calibration (section 13.4; header mutants below check
  it as libec2t does);
- the extension rule (doc/FORMAT.md section 11): unknown keys and tensors
  are ignored by both readers, the reserved tensor names (engine.floats,
  engine.coded, op.<i>.tern_coded) are refused by both;
- damaged files: the reader and ec2t-deploy accept and reject the same ones,
  among byte flips of the header with the header checksum recomputed (so
  that the schema checks of section 13, not the checksum, decide), and both
  reject truncations, flipped data bytes and a newer version; among changed
  bytes of the packed layout's program and of its stream, with their
  checksums and the header's recomputed; and among files that hold a
  stream of another coder or float_bits, a stream cut short or with a byte
  left over, a stream where the program needs none, no stream where it
  needs one, or a ternary layer too large for its stream.

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
    for enc, bits, tensors, tol in (("raw", 32, 18, 1e-3), ("entropy", 32, 2, 1e-3),
                                    ("entropy", 16, 2, 0.5)):
        what = "resnet20 %s %d-bit" % (enc, bits)
        path = os.path.join(tmp, "resnet20-%s-%d.ec2t" % (enc, bits))
        subprocess.run([CONVERT, "--arch", "resnet20", "--encoding", enc, "--float-bits", str(bits),
                        os.path.join(RESNET, "resnet20_ec2t_spars64.safetensors"), path],
                       check=True, stdout=subprocess.DEVNULL)
        t0 = time.time()
        container = ec2t_reader.read_container(read(path))
        model = ec2t_reader.model_from_container(container)
        ternary = sum(op.tern is not None for op in model.ops)
        # raw: a TERNARY_2B tensor per ternary layer; entropy: engine.program and engine.stream
        found = sum(n.endswith(".tern") for n in container.tensors) if enc == "raw" else len(container.tensors)
        if ternary != 18 or found != tensors or ("engine.stream" in container.tensors) != (enc != "raw"):
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
    calibrated = 0
    for name in ("cnn", "gapnet", "mlp"):
        x = np.load(os.path.join(tmp, name + ".input.npy"))
        want = np.load(os.path.join(tmp, name + ".output.npy"))
        for enc in ("raw", "entropy"):
            model = ec2t_reader.load_model(read(os.path.join(tmp, "%s.%s.ec2t" % (name, enc))))
            kinds.update(op.kind for op in model.ops)
            calibrated += model.int8 is not None
            check_close("%s %s vs the C engine" % (name, enc), ec2t_reader.run(model, x), want, 1e-4)
    missing = set(ec2t_reader.OP_KINDS) - kinds
    if missing:
        fail("sample-nets uses no %s operation" % ", ".join(sorted(missing)))
    if not calibrated:
        fail("no sample-nets file holds an int8 calibration (section 13.4)")


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


def tensor_mutants(tmp, path, name, count, seed):
    """Bytes of tensor name (engine.program, engine.stream) changed, its
    checksum and the header's recomputed (so that the rules of the program
    and the stream decide): both readers agree."""
    data = read(path)
    c, ends, end = header_walk(data)
    t = c.tensors[name]
    crc_at = ends[list(c.tensors).index(name)] - 4
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
            yield "%s byte %d changed (checksums fixed)" % (name, k - start), bytes(b)
    agree_on(tmp, "%s %s mutants" % (os.path.basename(path), name[len("engine."):]), variants())


# ---- the packed layout, the extension rule ----

def varints(*values):
    out = bytearray()
    for v in values:
        while v >= 0x80:
            out.append(v & 0x7F | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


# the geometry fields of each kind in engine.program
GEOMETRY = {"conv": ("m", "groups", "kh", "kw", "stride", "pad"), "dense": ("m",),
            "maxpool": ("kh", "stride", "pad"), "avgpool": ("kh", "stride", "pad"), "add": ("add_stride",)}


def program_of(model):
    """The engine.program of a Model."""
    out = varints(len(model.ops), model.output, *model.shapes[0])
    for i, op in enumerate(model.ops):
        c = op.cfg
        flags = ((ec2t_reader.FLAG_RELU if c["relu"] else 0)
                 | (ec2t_reader.FLAG_TERNARY if c["ternary"] else 0)
                 | (ec2t_reader.FLAG_SCALE if op.scale is not None else 0)
                 | (ec2t_reader.FLAG_BIAS if op.bias is not None else 0))
        out += varints(ec2t_reader.PACKED_KINDS.index(op.kind), *(i - v for v in op.inputs), flags,
                       *(c[f] for f in GEOMETRY.get(op.kind, ())))
    return out


def container(keys, tensors):
    """A container (sections 2 to 6) of STRING keys (a dict) and rank-1
    tensors (name, dtype, element count, bytes), aligned to 64."""
    def text(t):
        return struct.pack("<Q", len(t.encode())) + t.encode()
    head = b"EC2T" + struct.pack("<IQQ", 1, len(tensors), len(keys))
    for k, v in keys.items():
        head += text(k) + struct.pack("<I", ec2t_reader.STRING) + text(v)
    data = b""
    for name, dtype, n, raw in tensors:
        data += b"\0" * (-len(data) % 64)
        head += text(name) + struct.pack("<IQIQQI", 1, n, dtype, len(data), len(raw), zlib.crc32(raw))
        data += raw
    head += struct.pack("<I", zlib.crc32(head))
    return head + b"\0" * (-len(head) % 64) + data


def rewrite(c, tensors):
    """Container c with tensors (name: (dtype, count, bytes), or None to
    remove it) replaced or added."""
    keys = {k: v.value for k, v in c.keys.items() if v.type == ec2t_reader.STRING}
    have = {t.name: (t.dtype, t.numel, t.data) for t in c.tensors.values()}
    have.update(tensors)
    return container(keys, [(name,) + t for name, t in have.items() if t is not None])


def u8(raw):
    return (ec2t_reader.DT_U8, len(raw), raw)


def forms(tmp, path):
    """The program rewritten from what Python read is the file's; streams of
    other coders or float_bits, short streams, streams where none is needed,
    no stream where one is, reserved and unknown tensors: both readers agree."""
    name = os.path.basename(path)
    c = ec2t_reader.read_container(read(path))
    model = ec2t_reader.model_from_container(c)
    if program_of(model) != c.tensors["engine.program"].data:
        fail("%s: the program rewritten from the model differs" % name)

    def with_stream(s):
        return rewrite(c, {"engine.stream": u8(s)})
    stream = c.tensors["engine.stream"].data
    variants = [("with engine.floats too", rewrite(c, {"engine.floats": (ec2t_reader.DT_F32, 1, bytes(4))})),
                ("with engine.coded too", rewrite(c, {"engine.coded": u8(b"\1\0")})),
                ("with op.0.tern_coded too", rewrite(c, {"op.0.tern_coded": u8(b"\1\0")})),
                ("without engine.stream", rewrite(c, {"engine.stream": None}))]
    variants += [("coder %d" % b, with_stream(bytes([b]) + stream[1:])) for b in (0, 1, 3, 255)]
    variants += [("float_bits %d" % b, with_stream(stream[:1] + bytes([b]) + stream[2:]))
                 for b in (0, 8, 48 - stream[1], 64)]
    variants += [("stream of %d bytes" % n, with_stream(stream[:n])) for n in (1, 2, 3)]
    variants += [("stream without its last byte", with_stream(stream[:-1])),
                 ("a byte after the stream", with_stream(stream + b"\0"))]
    # a program of one relu needs no stream; the smallest valid one (no bins) is 02 20 00
    relu = u8(varints(1, 1, 1, 1, 1, 4, 0, 0))
    variants += [("a relu with the stream %s" % s.hex(),
                  rewrite(c, {"engine.program": relu, "engine.stream": u8(s)}))
                 for s in (b"\2\x20\0", b"\2\x10\0", b"\2\x20\1")]
    variants.append(("a relu without a stream", rewrite(c, {"engine.program": relu, "engine.stream": None})))
    # 2^24 symbols cannot fit in 102 bytes: the symbol limit, before any decoding
    dense = u8(varints(1, 1, 4096, 1, 1, 2, 0, ec2t_reader.FLAG_TERNARY, 4096))
    variants.append(("a 4096 x 4096 ternary dense in 102 bytes",
                     rewrite(c, {"engine.program": dense, "engine.stream": u8(b"\2\x20" + bytes(100))})))
    # neither can 2^24 float weights
    dense = u8(varints(1, 1, 4096, 1, 1, 2, 0, 0, 4096))
    variants.append(("a 4096 x 4096 float dense in 102 bytes",
                     rewrite(c, {"engine.program": dense, "engine.stream": u8(b"\2\x20" + bytes(100))})))
    agree_on(tmp, name + " forms", variants)
    for b in (3, 255):
        try:
            ec2t_reader.load_model(with_stream(bytes([b]) + stream[1:]))
            fail("%s: a stream of coder %d is accepted" % (name, b))
        except ec2t_reader.UnsupportedError:
            pass
        except ec2t_reader.FormatError:
            fail("%s: a stream of coder %d is not reported as a newer coder" % (name, b))


def extensions(tmp, path):
    """A packed file with a key and tensors this version does not define (an
    extension) is read as without them; with a reserved tensor it is refused."""
    name = os.path.basename(path)
    c = ec2t_reader.read_container(read(path))
    want = [vars(op) for op in ec2t_reader.model_from_container(c).ops]
    keys = {k: v.value for k, v in c.keys.items() if v.type == ec2t_reader.STRING}
    keys["vendor.note"] = "an extension"
    tensors = [(t.name, t.dtype, t.numel, t.data) for t in c.tensors.values()]
    tensors += [("vendor.extra",) + u8(b"\7" * 9), ("op.0.tern_coded_v2",) + u8(b"\1")]
    for what, data, accept in (("an unknown key and tensors", container(keys, tensors), True),
                               ("op.0.tern_coded", rewrite(c, {"op.0.tern_coded": u8(b"\1\0")}), False),
                               ("op.7.tern_coded", rewrite(c, {"op.7.tern_coded": u8(b"\1\0")}), False),
                               ("engine.coded", rewrite(c, {"engine.coded": u8(b"\1\0")}), False)):
        py, cc = py_accepts(data), c_accepts(tmp, data)
        if py != accept or cc != accept:
            fail("%s with %s: Python %s, libec2t %s" % (name, what, py, cc))
        elif accept and [vars(op) for op in ec2t_reader.load_model(data).ops] != want:
            fail("%s with %s: read as another program" % (name, what))
    print("%-44s unknown ones ignored, reserved ones refused" % (name + " extensions"))


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
            tensor_mutants(tmp, os.path.join(tmp, name), "engine.program", 100, len(name))
            tensor_mutants(tmp, os.path.join(tmp, name), "engine.stream", 100, len(name))
        for name in ("cnn.entropy.ec2t", "gapnet.entropy.ec2t", "mlp.entropy.ec2t",
                     "resnet20-entropy-32.ec2t", "resnet20-entropy-16.ec2t"):
            forms(tmp, os.path.join(tmp, name))
            extensions(tmp, os.path.join(tmp, name))
    print("%d failures, %.1f s" % (failures, time.time() - t0))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
