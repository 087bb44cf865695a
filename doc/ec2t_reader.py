# SPDX-License-Identifier: MIT
"""A reader of libec2t containers and deployable .ec2t files, written from
doc/FORMAT.md alone, as an executable check that the specification is
complete (it shares no code with libec2t's C reader).

Reading a container, decoding its tensors and rebuilding the program of a
deployable file in either of its two layouts (the keyed one with TERNARY_2B
masks, the packed one with its coded stream, decoded by StreamDecoder below)
need only the Python standard library. Running a program needs NumPy.

    import ec2t_reader
    c = ec2t_reader.read_container(data)         # any container
    c.keys["ec2t.file_kind"]                     # a Value: .type, .value
    c.tensors["op.0.weight"].values()            # a flat list, C order
    model = ec2t_reader.load_model(data)         # a deployable file
    out = ec2t_reader.run(model, inputs)         # NCHW in, NCHW out (NumPy)
    dec = ec2t_reader.StreamDecoder(data)        # the coder alone, see there

Every rule the specification gives a reader is checked; a file that breaks
one raises FormatError (a ValueError), or UnsupportedError for a newer
format version or coder.

As a program: ec2t_reader.py FILE prints the keys, the tensors and, for a
deployable file, the program; ec2t_reader.py FILE IN.npy OUT.npy also runs it
(exit code 77 when NumPy is missing).
"""
import math
import re
import struct
import sys
import zlib

MAGIC = b"EC2T"
VERSION = 1
MAX_FILE = 16 << 30
MAX_KV = 65536
MAX_TENSORS = 1000000
MAX_NAME = 255
MAX_STRING = 1 << 20
MAX_NUMEL = 1 << 40
DEFAULT_ALIGNMENT = 64


class FormatError(ValueError):
    """The bytes are not a valid file of doc/FORMAT.md."""


class UnsupportedError(FormatError):
    """A newer format version (or coder) than this reader knows."""


# ---- value types (section 4.1) ----

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
TYPE_NAMES = ("U8", "I8", "U16", "I16", "U32", "I32", "F32", "BOOL", "STRING", "ARRAY",
              "U64", "I64", "F64")
# struct codes of the fixed-size types
FIXED = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
         U64: "<Q", I64: "<q", F64: "<d"}


class Value:
    """A key's value: type (an id of section 4.1), value (int, float, bool,
    str, or a list for ARRAY) and, for arrays, elem_type."""

    def __init__(self, type_, value, elem_type=None):
        self.type = type_
        self.value = value
        self.elem_type = elem_type

    def __repr__(self):
        if self.type == ARRAY:
            return "ARRAY of %s %r" % (TYPE_NAMES[self.elem_type], self.value)
        return "%s %r" % (TYPE_NAMES[self.type], self.value)


# ---- tensor dtypes (section 7) ----

DT_F32, DT_F16, DT_I8, DT_I32, DT_U8, DT_I64 = range(6)
DT_TERNARY_2B, DT_TERNARY_B3 = 16, 17
DTYPES = {  # id: (name, struct code or None, bytes for numel elements)
    DT_F32: ("F32", "f", lambda n: 4 * n),
    DT_F16: ("F16", "e", lambda n: 2 * n),
    DT_I8: ("I8", "b", lambda n: n),
    DT_I32: ("I32", "i", lambda n: 4 * n),
    DT_U8: ("U8", "B", lambda n: n),
    DT_I64: ("I64", "q", lambda n: 8 * n),
    DT_TERNARY_2B: ("TERNARY_2B", None, lambda n: (n + 3) // 4),
    DT_TERNARY_B3: ("TERNARY_B3", None, lambda n: (n + 4) // 5),
}

# Weight of each 2-bit code (section 7.1); None is the invalid code 10.
TERNARY_2B_CODES = (0, 1, None, -1)


def _ternary_2b_table():
    table = []
    for b in range(256):
        codes = [TERNARY_2B_CODES[(b >> (2 * i)) & 3] for i in range(4)]
        table.append(None if None in codes else tuple(codes))
    return table


TERNARY_2B_TABLE = _ternary_2b_table()
B3_DIGIT = (0, 1, -1)  # base-3 digit to weight (section 7.2)


class Tensor:
    """A tensor info and its data. dims are outermost first (the file stores
    them innermost first, section 5)."""

    def __init__(self, name, dims, dtype, offset, nbytes, crc):
        self.name = name
        self.dims = dims
        self.dtype = dtype
        self.offset = offset
        self.nbytes = nbytes
        self.crc = crc
        self.data = b""

    @property
    def numel(self):
        return math.prod(self.dims)

    def values(self):
        """The elements in C order: numbers, or -1/0/+1 for ternary dtypes."""
        name, code, _ = DTYPES[self.dtype]
        n = self.numel
        if code is not None:
            return list(struct.unpack("<%d%s" % (n, code), self.data))
        if self.dtype == DT_TERNARY_2B:
            out = []
            for b in self.data:
                out.extend(TERNARY_2B_TABLE[b])
            return out[:n]
        out = []
        for b in self.data:
            for _ in range(5):
                out.append(B3_DIGIT[b % 3])
                b //= 3
        return out[:n]

    def __repr__(self):
        return "%s %s %s (%d bytes)" % (self.name, DTYPES[self.dtype][0], self.dims, self.nbytes)


class Container:
    """A validated container: keys (a dict of Value, in file order),
    tensors (a dict of Tensor, in file order), alignment, data_start."""

    def __init__(self):
        self.keys = {}
        self.tensors = {}
        self.alignment = DEFAULT_ALIGNMENT
        self.data_start = 0


# ---- reading (sections 2 to 9) ----

class _Cursor:
    """Reads with every bound checked against the end of the file."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def take(self, n, what):
        if n > self.left():
            raise FormatError("the file ends inside %s (at byte %d)" % (what, self.pos))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, code, what):
        size = struct.calcsize(code)
        return struct.unpack(code, self.take(size, what))[0]

    def text(self, lo, hi, what):
        """A string (section 1) of lo to hi bytes: UTF-8, no NUL."""
        n = self.unpack("<Q", what)
        if n < lo or n > hi:
            raise FormatError("%s of %d bytes (allowed: %d to %d)" % (what, n, lo, hi))
        raw = self.take(n, what)
        if b"\0" in raw:
            raise FormatError("%s holds a NUL byte" % what)
        try:
            # Python's strict UTF-8 codec rejects overlong forms, surrogates
            # and code points above U+10FFFF, as section 1 requires
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError("%s is not well-formed UTF-8 (%s)" % (what, e)) from None


def _scalar(cur, type_, what):
    if type_ in FIXED:
        return cur.unpack(FIXED[type_], what)
    if type_ == BOOL:
        b = cur.take(1, what)[0]
        if b > 1:
            raise FormatError("%s: BOOL byte %#04x (only 00 and 01 are valid)" % (what, b))
        return b == 1
    if type_ == STRING:
        return cur.text(0, MAX_STRING, what)
    raise FormatError("%s: unknown value type %d" % (what, type_))


# the smallest encoding of one element of each type (section 9.3)
MIN_ELEM_SIZE = {U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, F32: 4, BOOL: 1, STRING: 8,
                 U64: 8, I64: 8, F64: 8}


def _value(cur, key):
    what = "the value of key '%s'" % key
    type_ = cur.unpack("<I", what)
    if type_ != ARRAY:
        if type_ not in MIN_ELEM_SIZE:
            raise FormatError("%s has unknown type %d" % (what, type_))
        return Value(type_, _scalar(cur, type_, what))
    elem = cur.unpack("<I", what)
    if elem == ARRAY:
        raise FormatError("%s is an array of arrays" % what)
    if elem not in MIN_ELEM_SIZE:
        raise FormatError("%s is an array of unknown type %d" % (what, elem))
    count = cur.unpack("<Q", what)
    if count > cur.left() // MIN_ELEM_SIZE[elem]:
        raise FormatError("%s: %d elements cannot fit in the file" % (what, count))
    if elem in FIXED:
        code = FIXED[elem]
        raw = cur.take(count * struct.calcsize(code), what)
        return Value(ARRAY, list(struct.unpack("<%d%s" % (count, code[1]), raw)), elem)
    return Value(ARRAY, [_scalar(cur, elem, what) for _ in range(count)], elem)


def _tensor_info(cur, index):
    what = "tensor info %d" % index
    name = cur.text(1, MAX_NAME, what + " (name)")
    what = "tensor '%s'" % name
    ndim = cur.unpack("<I", what)
    if ndim < 1 or ndim > 4:
        raise FormatError("%s has rank %d (1 to 4)" % (what, ndim))
    dims = [cur.unpack("<Q", what) for _ in range(ndim)]
    if min(dims) < 1:
        raise FormatError("%s has an extent of 0" % what)
    numel = math.prod(dims)
    if numel > MAX_NUMEL:
        raise FormatError("%s has %d elements (at most 2^40)" % (what, numel))
    dtype = cur.unpack("<I", what)
    if dtype not in DTYPES:
        raise FormatError("%s has unknown dtype %d" % (what, dtype))
    offset = cur.unpack("<Q", what)
    nbytes = cur.unpack("<Q", what)
    crc = cur.unpack("<I", what)
    if nbytes != DTYPES[dtype][2](numel):
        raise FormatError("%s: %d data bytes, but %d %s elements need %d"
                          % (what, nbytes, numel, DTYPES[dtype][0], DTYPES[dtype][2](numel)))
    return Tensor(name, list(reversed(dims)), dtype, offset, nbytes, crc)


def _alignment(keys):
    v = keys.get("general.alignment")
    if v is None:
        return DEFAULT_ALIGNMENT
    a = v.value
    if v.type != U32 or a < 64 or a > 65536 or a & (a - 1):
        raise FormatError("general.alignment must be a U32 power of two from 64 to 65536, not %r" % v)
    return a


def _check_ternary(t):
    n, data = t.numel, t.data
    if t.dtype == DT_TERNARY_2B:
        if any(TERNARY_2B_TABLE[b] is None for b in data):
            raise FormatError("tensor '%s' holds the invalid 2-bit code 10" % t.name)
        if n % 4 and data[-1] >> (2 * (n % 4)):
            raise FormatError("tensor '%s': unused codes of the last byte are not 00" % t.name)
    elif t.dtype == DT_TERNARY_B3:
        if any(b > 242 for b in data):
            raise FormatError("tensor '%s' holds a byte above 242" % t.name)
        if n % 5 and data[-1] >= 3 ** (n % 5):
            raise FormatError("tensor '%s': unused digits of the last byte are not 0" % t.name)


def _check_data(data, c, header_end):
    """Section 6.3: tensors inside the file, no overlaps, zero padding,
    nothing after the last tensor but padding to the alignment."""
    a = c.alignment
    c.data_start = -(-header_end // a) * a
    covered = []
    for t in c.tensors.values():
        if t.offset % a:
            raise FormatError("tensor '%s' at offset %d, not a multiple of %d" % (t.name, t.offset, a))
        begin = c.data_start + t.offset
        if begin + t.nbytes > len(data):
            raise FormatError("tensor '%s' ends past the end of the file" % t.name)
        t.data = data[begin:begin + t.nbytes]
        if zlib.crc32(t.data) & 0xFFFFFFFF != t.crc:
            raise FormatError("tensor '%s' fails its CRC-32" % t.name)
        _check_ternary(t)
        covered.append((begin, begin + t.nbytes, t.name))
    covered.sort()
    pos = header_end
    for begin, end, name in covered:
        if begin < pos:
            raise FormatError("tensor '%s' overlaps another tensor" % name)
        if data[pos:begin].count(0) != begin - pos:
            raise FormatError("non-zero padding before tensor '%s'" % name)
        pos = end
    if data[pos:].count(0) != len(data) - pos:
        raise FormatError("non-zero bytes after the last tensor")
    if len(data) > -(-pos // a) * a:
        raise FormatError("the file extends past the padding after its last tensor")


def read_container(data):
    """Parse and validate a whole container (bytes); returns a Container."""
    data = bytes(data)
    if len(data) > MAX_FILE:
        raise FormatError("file of %d bytes, above 16 GiB" % len(data))
    cur = _Cursor(data)
    if cur.take(4, "the magic") != MAGIC:
        raise FormatError("not a libec2t container (bad magic)")
    version = cur.unpack("<I", "the version")
    if version == 0:
        raise FormatError("version 0 is invalid")
    if version != VERSION:
        raise UnsupportedError("format version %d (this reader knows %d)" % (version, VERSION))
    n_tensors = cur.unpack("<Q", "the header")
    n_kv = cur.unpack("<Q", "the header")
    if n_kv > MAX_KV or n_tensors > MAX_TENSORS:
        raise FormatError("%d keys and %d tensors exceed the limits" % (n_kv, n_tensors))
    if 24 + 14 * n_kv + 45 * n_tensors + 4 > len(data):
        raise FormatError("%d keys and %d tensors cannot fit in %d bytes" % (n_kv, n_tensors, len(data)))
    c = Container()
    for _ in range(n_kv):
        key = cur.text(1, MAX_NAME, "a key")
        if key in c.keys:
            raise FormatError("key '%s' appears twice" % key)
        c.keys[key] = _value(cur, key)
    for i in range(n_tensors):
        t = _tensor_info(cur, i)
        if t.name in c.tensors:
            raise FormatError("tensor '%s' appears twice" % t.name)
        c.tensors[t.name] = t
    computed = zlib.crc32(data[:cur.pos]) & 0xFFFFFFFF
    if cur.unpack("<I", "the header checksum") != computed:
        raise FormatError("header checksum mismatch")
    c.alignment = _alignment(c.keys)
    _check_data(data, c, cur.pos)
    return c


# ---- deployable files (section 13) ----

OP_KINDS = ("conv", "dense", "affine", "relu", "maxpool", "avgpool", "gap", "flatten", "add")
CONFIG_FIELDS = ("m", "k", "groups", "relu", "ternary", "kh", "kw", "stride", "pad",
                 "in_h", "in_w", "out_h", "out_w", "add_stride")
MAX_OPS = 1 << 20


class Op:
    """One operation: kind, inputs, cfg (a dict of CONFIG_FIELDS), and for
    conv/dense/affine: levels (w_p, w_n) or None, weight (m rows of k floats)
    or tern (m rows of k symbols), scale and bias (lists or None)."""

    def __init__(self, kind, inputs, cfg):
        self.kind = kind
        self.inputs = inputs
        self.cfg = cfg
        self.levels = None
        self.weight = None
        self.tern = None
        self.scale = None
        self.bias = None

    def __repr__(self):
        c = self.cfg
        extra = ""
        if self.kind in ("conv", "dense"):
            extra = " m=%d k=%d %s" % (c["m"], c["k"], "ternary %r" % (self.levels,)
                                       if self.levels else "float")
            if self.kind == "conv":
                extra += " %dx%d/%d pad %d groups %d" % (c["kh"], c["kw"], c["stride"], c["pad"],
                                                          c["groups"])
        elif self.kind in ("maxpool", "avgpool"):
            extra = " %dx%d/%d pad %d" % (c["kh"], c["kw"], c["stride"], c["pad"])
        elif self.kind == "add":
            extra = " stride %d" % c["add_stride"]
        return "%s%s%s <- %s" % (self.kind, extra, " relu" if c["relu"] else "", self.inputs)


class Model:
    """A deployable program: shapes (C, H, W per value), ops, output, meta,
    and int8: None, or the int8 calibration of section 13.4 as a list of
    (scale, zero point) per operation, (0.0, 0) for none."""

    def __init__(self):
        self.shapes = []
        self.ops = []
        self.output = 0
        self.meta = {}
        self.int8 = None


def _get(c, key, type_, elem_type=None):
    v = c.keys.get(key)
    if v is None:
        raise FormatError("key '%s' is missing" % key)
    if v.type != type_ or (type_ == ARRAY and v.elem_type != elem_type):
        raise FormatError("key '%s' is %r, not of type %s" % (key, v, TYPE_NAMES[type_]))
    return v.value


def _swept(n, k, stride, pad):
    """Output positions of a window sweep (section 13), or 0 if none."""
    padded = n + 2 * pad
    if padded < k or padded > 2 ** 31 - 1:
        return 0
    return (padded - k) // stride + 1


def _window_ok(cfg, shape, square):
    c = cfg
    if c["kh"] < 1 or c["kw"] < 1 or c["stride"] < 1 or c["pad"] < 0:
        return False
    if square and (c["kh"] != c["kw"] or c["pad"] > c["kh"] // 2):
        return False
    return (c["in_h"] == shape[1] and c["in_w"] == shape[2]
            and c["out_h"] == _swept(shape[1], c["kh"], c["stride"], c["pad"]) >= 1
            and c["out_w"] == _swept(shape[2], c["kw"], c["stride"], c["pad"]) >= 1)


def _infer(op, shapes):
    """The output shape of an operation, or None if it does not fit."""
    c, a = op.cfg, shapes[op.inputs[0]]
    if op.kind == "conv":
        g = c["groups"]
        if (g < 1 or a[0] % g or c["m"] % g or (c["ternary"] and g != 1) or not _window_ok(c, a, False)
                or c["k"] != a[0] // g * c["kh"] * c["kw"]):
            return None
        return (c["m"], c["out_h"], c["out_w"])
    if op.kind == "dense":
        return (c["m"], 1, 1) if a[1] == a[2] == 1 and c["k"] == a[0] else None
    if op.kind in ("affine", "relu"):
        return a
    if op.kind in ("maxpool", "avgpool"):
        return (a[0], c["out_h"], c["out_w"]) if _window_ok(c, a, True) else None
    if op.kind == "gap":
        return (a[0], 1, 1)
    if op.kind == "flatten":
        return (a[0] * a[1] * a[2], 1, 1)
    s, st = shapes[op.inputs[1]], c["add_stride"]
    if c["in_h"] != s[1] or c["in_w"] != s[2]:
        return None
    if s == a and st == 1:
        return a
    if st >= 1 and s[0] <= a[0] and s[1] == a[1] * st and s[2] == a[2] * st:
        return a
    return None


def _f32(c, name, shape, required):
    t = c.tensors.get(name)
    if t is None:
        if required:
            raise FormatError("tensor '%s' is missing" % name)
        return None
    if t.dtype != DT_F32 or t.dims != list(shape):
        raise FormatError("tensor '%s' is %r, expected F32 %s" % (name, t, list(shape)))
    return t.values()


def _ternary(c, i, op):
    m, k = op.cfg["m"], op.cfg["k"]
    t = c.tensors.get("op.%d.tern" % i)
    if t is None:
        raise FormatError("operation %d has no ternary tensor op.%d.tern" % (i, i))
    if t.dtype != DT_TERNARY_2B or t.dims != [m, k]:
        raise FormatError("tensor '%s' is %r, expected TERNARY_2B [%d, %d]" % (t.name, t, m, k))
    v = t.values()
    return [v[r * k:(r + 1) * k] for r in range(m)]


def _slice(op):
    """The slice S of a ternary layer: a kernel, or 1 for dense."""
    return op.cfg["kh"] * op.cfg["kw"] if op.kind == "conv" else 1


def _weighted(c, i, op, shapes):
    """The tensors of conv, dense and affine operations."""
    m = shapes[op.inputs[0]][0] if op.kind == "affine" else op.cfg["m"]
    if op.kind != "affine":
        if op.cfg["ternary"]:
            levels = _get(c, "ec2t.op.%d.levels" % i, ARRAY, F32)
            if len(levels) != 2 or not (levels[0] >= 0 and levels[1] >= 0):
                raise FormatError("operation %d: levels must be two floats >= 0, not %r" % (i, levels))
            op.levels = tuple(levels)
            op.tern = _ternary(c, i, op)
        else:
            w = _f32(c, "op.%d.weight" % i, (m, op.cfg["k"]), True)
            op.weight = [w[r * op.cfg["k"]:(r + 1) * op.cfg["k"]] for r in range(m)]
    op.scale = _f32(c, "op.%d.scale" % i, (m,), op.kind == "affine")
    op.bias = _f32(c, "op.%d.bias" % i, (m,), False)


def _op(c, i, shapes):
    kind = _get(c, "ec2t.op.%d.kind" % i, STRING)
    if kind not in OP_KINDS:
        raise FormatError("operation %d has unknown kind '%s'" % (i, kind))
    inputs = _get(c, "ec2t.op.%d.inputs" % i, ARRAY, I32)
    config = _get(c, "ec2t.op.%d.config" % i, ARRAY, I32)
    if len(inputs) != (2 if kind == "add" else 1) or len(config) != 14:
        raise FormatError("operation %d is malformed" % i)
    if any(v < 0 or v > i for v in inputs):
        raise FormatError("operation %d reads a value before it exists: %r" % (i, inputs))
    op = Op(kind, inputs, dict(zip(CONFIG_FIELDS, config)))
    if kind in ("conv", "dense") and (op.cfg["m"] < 1 or op.cfg["k"] < 1
                                      or op.cfg["m"] * op.cfg["k"] > 1 << 34):
        raise FormatError("operation %d has bad sizes m=%d k=%d" % (i, op.cfg["m"], op.cfg["k"]))
    if _infer(op, shapes) != shapes[i + 1]:
        raise FormatError("operation %d (%s) does not fit its values: %r from %r, file says %r"
                          % (i, kind, _infer(op, shapes), [shapes[v] for v in inputs], shapes[i + 1]))
    if kind in ("conv", "dense", "affine"):
        _weighted(c, i, op, shapes)
    return op


def _shapes(c, n_values):
    flat = _get(c, "ec2t.engine.value_shapes", ARRAY, I32)
    if len(flat) != 3 * n_values:
        raise FormatError("ec2t.engine.value_shapes holds %d numbers, not %d" % (len(flat), 3 * n_values))
    shapes = [tuple(flat[3 * v:3 * v + 3]) for v in range(n_values)]
    for v in range(n_values):
        if not _shape_ok(shapes[v]):
            raise FormatError("value %d has an out-of-range shape %r" % (v, shapes[v]))
    return shapes


# ---- the coder ----

CODER = 2               # the stream's first byte
PROB_INIT = 32768       # probabilities of a 0 bin, in units of 2**-16
FAST_SHIFT, SLOW_SHIFT = 5, 7
RANGE_INIT = 0xFFFFFFFF
RANGE_TOP = 1 << 24
PAD_BYTES = 3           # implicit zero bytes after the stream
N_ZERO_CTX, N_SIGN_CTX = 80, 27
MAX_SYMBOLS_PER_BYTE = 4608  # the optional length rule (libec2t applies it)
KIND_WEIGHT, KIND_LEVEL, KIND_SCALE, KIND_BIAS = range(4)
# float_bits: exponent bits, mantissa bits, the IEEE 754 format's struct code
FLOAT_FORMATS = {16: (5, 10, "<e"), 32: (8, 23, "<f")}
# a probability pair (P1, P2), packed as P1 | P2 << 16
PAIR_INIT = PROB_INIT | PROB_INIT << 16


def slice_width(slice_):
    """Kernel width W: square slices are w x w, any other slice is one row."""
    w = 1
    while (w + 1) * (w + 1) <= slice_:
        w += 1
    return w if w * w == slice_ else slice_


class StreamDecoder:
    """A coded stream (engine.stream): its floats and ternary layers, read in
    the program's order with one model that carries over from each to the
    next. Raises FormatError (UnsupportedError for a newer coder).

        dec = ec2t_reader.StreamDecoder(data)    # checks the header
        w_p = dec.float(ec2t_reader.KIND_LEVEL)
        rows = dec.layer(rows, cols, slice_)     # lists of -1, 0, +1
        dec.finish()                             # after the last operation
    """

    def __init__(self, data):
        data = bytes(data)
        if len(data) < 3:
            raise FormatError("stream of %d bytes, too short" % len(data))
        if data[0] != CODER:
            cls = UnsupportedError if data[0] > CODER else FormatError
            raise cls("a stream of coder %d (this reader knows %d)" % (data[0], CODER))
        if data[1] not in FLOAT_FORMATS:
            raise FormatError("float_bits %d (16 or 32)" % data[1])
        self.float_bits = data[1]
        self.exp_bits, self.man_bits, code = FLOAT_FORMATS[self.float_bits]
        self.unpack = struct.Struct(code).unpack
        self.data, self.pos, self.end = data, 2, len(data)
        self.range, self.code = RANGE_INIT, 0
        for _ in range(4):
            self.code = (self.code << 8) | self._byte()
        if self.code >= self.range:
            raise FormatError("stream: corrupt first bytes")
        self.zero = [PAIR_INIT] * N_ZERO_CTX
        self.sign = [PAIR_INIT] * N_SIGN_CTX
        self.fsign = [PAIR_INIT] * 4
        # FE[t][s][node], node 1 ... 2^E - 1 (index 0 unused), at index 2t + s
        self.fexp = [[PAIR_INIT] * (1 << self.exp_bits) for _ in range(8)]
        self.half = [PAIR_INIT]
        self.max_symbols = MAX_SYMBOLS_PER_BYTE * (len(data) + PAD_BYTES)
        self.symbols = 0

    def _byte(self):
        if self.pos < self.end:
            b = self.data[self.pos]
        elif self.pos < self.end + PAD_BYTES:
            b = 0
        else:
            raise FormatError("stream: truncated")
        self.pos += 1
        return b

    def _bit(self, probs, ctx):
        """A bin coded with the pair probs[ctx], which it updates."""
        pair = probs[ctx]
        p1, p2 = pair & 0xFFFF, pair >> 16
        bound = (self.range >> 16) * ((p1 + p2) >> 1)
        if self.code < bound:
            self.range = bound
            probs[ctx] = (p1 + ((65536 - p1) >> FAST_SHIFT)) | (p2 + ((65536 - p2) >> SLOW_SHIFT)) << 16
            bit = 0
        else:
            self.code -= bound
            self.range -= bound
            probs[ctx] = (p1 - (p1 >> FAST_SHIFT)) | (p2 - (p2 >> SLOW_SHIFT)) << 16
            bit = 1
        while self.range < RANGE_TOP:
            self.range <<= 8
            self.code = (self.code << 8) | self._byte()
        return bit

    def _direct(self, n):
        """n direct bins (P = 1/2, no update), the first the most significant bit."""
        v = 0
        for _ in range(n):
            self.half[0] = PAIR_INIT
            v = (v << 1) | self._bit(self.half, 0)
        return v

    def float(self, kind):
        """The next float, of kind KIND_WEIGHT ... KIND_BIAS."""
        s = self._bit(self.fsign, kind)
        tree = self.fexp[2 * kind + s]
        node = 1
        for _ in range(self.exp_bits):
            node = 2 * node + self._bit(tree, node)
        exp = node - (1 << self.exp_bits)     # the path's leaf: 2^E + e
        pattern = (s << self.exp_bits | exp) << self.man_bits | self._direct(self.man_bits)
        return self.unpack(pattern.to_bytes(self.float_bits // 8, "little"))[0]

    def layer(self, rows, cols, slice_):
        """The next ternary layer: rows lists of cols symbols -1, 0, +1."""
        if rows < 1 or cols < 1 or slice_ < 1 or cols % slice_ != 0:
            raise FormatError("bad layer shape %d x %d with slices of %d" % (rows, cols, slice_))
        self.symbols += rows * cols
        if self.symbols > self.max_symbols:
            raise FormatError("%d symbols so far cannot fit in a %d-byte stream"
                              % (self.symbols, self.end))
        bit, zero, sign = self._bit, self.zero, self.sign
        width = slice_width(slice_)
        act = [0] * (cols // slice_)
        out = []
        for _ in range(rows):
            row = []
            for j in range(cols // slice_):
                x = []
                nz = last = 0
                act_q = min(act[j] >> 4, 3)
                for k in range(slice_):
                    left = x[k - 1] if k % width > 0 else 0
                    up = x[k - width] if k >= width else 0
                    s = 0
                    if bit(zero, ((min(nz, 4) * 2 + (left != 0)) * 2 + (up != 0)) * 4 + act_q):
                        s = -1 if bit(sign, ((left + 1) * 3 + up + 1) * 3 + last + 1) else 1
                        nz += 1
                        last = s
                    x.append(s)
                act[j] = act[j] - (act[j] >> 2) + 16 * min(nz, 4)
                row.extend(x)
            out.append(row)
        return out

    def finish(self):
        """The end checks, after the last operation's floats and symbols."""
        if self.pos != self.end + PAD_BYTES:
            raise FormatError("stream: %d bytes left over after the last bin"
                              % (self.end + PAD_BYTES - self.pos))
        if self.code >= RANGE_TOP:
            raise FormatError("stream: corrupt (bad final state)")


# ---- the packed layout ----

PACKED_KINDS = (None, "conv", "dense", "affine", "relu", "maxpool", "avgpool", "gap", "flatten", "add")
FLAG_RELU, FLAG_TERNARY, FLAG_SCALE, FLAG_BIAS = 1, 2, 4, 8
ALLOWED_FLAGS = {"conv": 15, "dense": 15, "affine": FLAG_RELU | FLAG_SCALE | FLAG_BIAS, "add": FLAG_RELU}
INT32_MAX = 2 ** 31 - 1


class _Program:
    """A cursor over the program bytes, and the decoder of engine.stream
    (None when the file has none)."""

    def __init__(self, prog, stream):
        self.prog, self.pos = prog, 0
        self.stream = stream

    def varint(self, what, lo=0, hi=INT32_MAX):
        """A minimal LEB128 number of at most 5 bytes, in [lo, hi]."""
        v = 0
        for k in range(5):
            if self.pos >= len(self.prog):
                break
            b = self.prog[self.pos]
            self.pos += 1
            v |= (b & 0x7F) << (7 * k)
            if not b & 0x80:
                if k > 0 and b == 0:
                    raise FormatError("program: %s is not a minimal varint" % what)
                if not lo <= v <= hi:
                    raise FormatError("program: %s is %d, outside [%d, %d]" % (what, v, lo, hi))
                return v
        raise FormatError("program: %s is missing or longer than 5 bytes" % what)

    def _need_stream(self, i):
        if self.stream is None:
            raise FormatError("operation %d needs floats or symbols but the file has no engine.stream" % i)

    def take_floats(self, n, i, kind):
        """The next n floats of the stream, of kind KIND_*."""
        self._need_stream(i)
        try:
            return [self.stream.float(kind) for _ in range(n)]
        except FormatError as e:
            raise type(e)("operation %d: engine.stream: %s" % (i, e)) from None

    def take_symbols(self, i, op):
        """The symbols of a ternary conv or dense: the next ones of the stream."""
        self._need_stream(i)
        try:
            return self.stream.layer(op.cfg["m"], op.cfg["k"], _slice(op))
        except FormatError as e:
            raise type(e)("operation %d: engine.stream: %s" % (i, e)) from None

    def finish(self):
        if self.pos != len(self.prog):
            raise FormatError("%d bytes of engine.program follow the last operation"
                              % (len(self.prog) - self.pos))
        if self.stream is not None:
            try:
                self.stream.finish()
            except FormatError as e:
                raise FormatError("engine.stream does not end after the last operation: %s"
                                  % e) from None


def _packed_op(p, i, shapes):
    kind = PACKED_KINDS[p.varint("operation %d kind" % i, 1, len(PACKED_KINDS) - 1)]
    inputs = [i - p.varint("operation %d input" % i, 0, i) for _ in range(2 if kind == "add" else 1)]
    flags = p.varint("operation %d flags" % i, 0, 15)
    if flags & ~ALLOWED_FLAGS.get(kind, 0) or (kind == "affine" and not flags & FLAG_SCALE):
        raise FormatError("operation %d (%s) has flags %d" % (i, kind, flags))
    a = shapes[inputs[0]]
    cfg = dict.fromkeys(CONFIG_FIELDS, 0)
    cfg.update(relu=flags & FLAG_RELU and 1, ternary=flags & FLAG_TERNARY and 1, groups=1,
               in_h=a[1], in_w=a[2])
    what = "operation %d %%s" % i
    if kind == "conv":
        for f, lo in (("m", 1), ("groups", 1), ("kh", 1), ("kw", 1), ("stride", 1), ("pad", 0)):
            cfg[f] = p.varint(what % f, lo)
        cfg["k"] = a[0] // cfg["groups"] * cfg["kh"] * cfg["kw"]
    elif kind == "dense":
        cfg["m"] = p.varint(what % "m", 1)
        cfg["k"] = a[0]
    elif kind in ("maxpool", "avgpool"):
        for f, lo in (("kh", 1), ("stride", 1), ("pad", 0)):
            cfg[f] = p.varint(what % f, lo)
        cfg["kw"] = cfg["kh"]
    elif kind == "add":
        cfg["add_stride"] = p.varint(what % "add_stride", 1)
        cfg["in_h"], cfg["in_w"] = shapes[inputs[1]][1], shapes[inputs[1]][2]
    if kind in ("conv", "maxpool", "avgpool"):
        cfg["out_h"] = _swept(a[1], cfg["kh"], cfg["stride"], cfg["pad"])
        cfg["out_w"] = _swept(a[2], cfg["kw"], cfg["stride"], cfg["pad"])
    op = Op(kind, inputs, cfg)
    if kind in ("conv", "dense") and not (1 <= cfg["k"] <= INT32_MAX and cfg["m"] * cfg["k"] <= 1 << 34):
        raise FormatError("operation %d has bad sizes m=%d k=%d" % (i, cfg["m"], cfg["k"]))
    shape = _infer(op, shapes)
    if shape is None or not _shape_ok(shape):
        raise FormatError("operation %d (%s) does not fit its input %r" % (i, kind, a))
    shapes.append(shape)
    channels = a[0] if kind == "affine" else cfg["m"]
    if kind in ("conv", "dense") and cfg["ternary"]:
        op.levels = tuple(p.take_floats(2, i, KIND_LEVEL))
        if not (op.levels[0] >= 0 and op.levels[1] >= 0):
            raise FormatError("operation %d: levels must be two floats >= 0, not %r" % (i, op.levels))
        op.tern = p.take_symbols(i, op)
    elif kind in ("conv", "dense"):
        w = p.take_floats(cfg["m"] * cfg["k"], i, KIND_WEIGHT)
        op.weight = [w[r * cfg["k"]:(r + 1) * cfg["k"]] for r in range(cfg["m"])]
    if flags & FLAG_SCALE:
        op.scale = p.take_floats(channels, i, KIND_SCALE)
    if flags & FLAG_BIAS:
        op.bias = p.take_floats(channels, i, KIND_BIAS)
    return op


def _shape_ok(shape):
    ch, h, w = shape
    return 1 <= ch <= 1 << 24 and 1 <= h <= 65536 and 1 <= w <= 65536 and ch * h * w <= 1 << 30


def _byte_string(c, name, required):
    t = c.tensors.get(name)
    if t is None:
        if required:
            raise FormatError("tensor '%s' is missing" % name)
        return b""
    if t.dtype != DT_U8 or len(t.dims) != 1:
        raise FormatError("tensor '%s' is %r, not a U8 vector" % (name, t))
    return t.data


def _packed_model(c):
    stream = None
    if "engine.stream" in c.tensors:
        stream = StreamDecoder(_byte_string(c, "engine.stream", True))
    p = _Program(_byte_string(c, "engine.program", True), stream)
    n_ops = p.varint("the number of operations", 1, MAX_OPS)
    model = Model()
    model.output = p.varint("the output", 0, n_ops)
    model.shapes = [tuple(p.varint("the input shape", 1) for _ in range(3))]
    if not _shape_ok(model.shapes[0]):
        raise FormatError("the input has an out-of-range shape %r" % (model.shapes[0],))
    model.ops = [_packed_op(p, i, model.shapes) for i in range(n_ops)]
    p.finish()
    return model


def model_from_container(c):
    """The program of a validated container (section 13)."""
    if _get(c, "ec2t.file_kind", STRING) != "deploy":
        raise FormatError("not a deployable file: ec2t.file_kind is '%s'" % c.keys["ec2t.file_kind"].value)
    for name in c.tensors:
        if name in ("engine.floats", "engine.coded") or re.fullmatch(r"op\.[0-9]+\.tern_coded", name):
            raise FormatError("tensor %s: a name the format reserves (section 11)" % name)
    if "engine.program" in c.tensors:
        model = _packed_model(c)
    else:
        model = _keyed_model(c)
    for key, v in c.keys.items():
        if key.startswith("ec2t.meta.") and v.type == STRING:
            model.meta[key[len("ec2t.meta."):]] = v.value
    model.int8 = _int8(c, model.ops)
    return model


def _f32_inverse_finite(scale):
    """Whether 1 / scale is finite in F32 (a double quotient rounded to F32
    rounds as the F32 division would)."""
    try:
        struct.pack("<f", 1.0 / scale)
    except (OverflowError, ZeroDivisionError):
        return False
    return True


def _int8(c, ops):
    """The int8 calibration of section 13.4, or None (absent, or a
    calibration version this reader does not know)."""
    if "ec2t.int8.version" not in c.keys:
        return None
    if _get(c, "ec2t.int8.version", U32) != 1:
        return None
    scales = _get(c, "ec2t.int8.scales", ARRAY, F32)
    zeros = _get(c, "ec2t.int8.zeros", ARRAY, I32)
    if len(scales) != len(ops) or len(zeros) != len(ops):
        raise FormatError("ec2t.int8.scales and .zeros hold %d and %d entries for %d operations"
                          % (len(scales), len(zeros), len(ops)))
    for i, (op, s, z) in enumerate(zip(ops, scales, zeros)):
        if s == 0.0 and z == 0:
            continue
        eligible = op.kind == "conv" and op.cfg["ternary"] == 1
        if not (eligible and s > 0.0 and math.isfinite(s) and _f32_inverse_finite(s)
                and 0 <= z <= 255):
            raise FormatError("ec2t.int8 entry %d (scale %r, zero point %d) is not valid for "
                              "operation %r" % (i, s, z, op))
    return list(zip(scales, zeros))


def _keyed_model(c):
    n_ops = _get(c, "ec2t.engine.ops", U32)
    n_values = _get(c, "ec2t.engine.values", U32)
    output = _get(c, "ec2t.engine.output", U32)
    if not 1 <= n_ops <= MAX_OPS or n_values != n_ops + 1 or output >= n_values:
        raise FormatError("inconsistent counts: %d operations, %d values, output %d"
                          % (n_ops, n_values, output))
    model = Model()
    model.shapes = _shapes(c, n_values)
    model.output = output
    model.ops = [_op(c, i, model.shapes) for i in range(n_ops)]
    return model


def load_model(data):
    """Read a deployable .ec2t file (bytes) into a Model."""
    return model_from_container(read_container(data))


# ---- running a program (NumPy) ----

def _numpy():
    try:
        import numpy
    except ImportError:
        raise RuntimeError("running a program needs NumPy (python3-numpy); reading does not") from None
    return numpy


def _windows(np, x, kh, kw, stride, oh, ow):
    """x (N, C, H', W') already padded: (N, C, kh, kw, oh, ow) of the window
    taps, tap (i, j) of output (y, x) being x[..., y*stride + i, x*stride + j]."""
    taps = np.empty(x.shape[:2] + (kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            taps[:, :, i, j] = x[:, :, i:i + stride * (oh - 1) + 1:stride,
                                 j:j + stride * (ow - 1) + 1:stride]
    return taps


def _pad(np, x, pad, value):
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=value)


def _dot(np, op, cols):
    """The per-output sums s of section 13 for cols (N, k, P): (N, m, P)."""
    if op.tern is None:
        return np.einsum("mk,nkp->nmp", np.asarray(op.weight, dtype=np.float64), cols)
    sym = np.asarray(op.tern, dtype=np.int8)
    pos = np.einsum("mk,nkp->nmp", (sym == 1).astype(np.float64), cols)
    neg = np.einsum("mk,nkp->nmp", (sym == -1).astype(np.float64), cols)
    return op.levels[0] * pos - op.levels[1] * neg


def _epilogue(np, op, s):
    """scale * s + bias per channel (axis 1), then ReLU if relu."""
    shape = (1, -1) + (1,) * (s.ndim - 2)
    if op.scale is not None:
        s = s * np.asarray(op.scale, dtype=np.float64).reshape(shape)
    if op.bias is not None:
        s = s + np.asarray(op.bias, dtype=np.float64).reshape(shape)
    return np.maximum(s, 0) if op.cfg["relu"] else s


def _conv(np, op, x):
    c = op.cfg
    n, cin = x.shape[:2]
    g, oh, ow = c["groups"], c["out_h"], c["out_w"]
    cg, mg = cin // g, c["m"] // g
    taps = _windows(np, _pad(np, x, c["pad"], 0.0), c["kh"], c["kw"], c["stride"], oh, ow)
    out = []
    for grp in range(g):
        # rows of k in the order channel, kernel row, kernel column
        cols = taps[:, grp * cg:(grp + 1) * cg].reshape(n, cg * c["kh"] * c["kw"], oh * ow)
        part = Op(op.kind, op.inputs, c)
        part.levels = op.levels
        part.weight = op.weight[grp * mg:(grp + 1) * mg] if op.weight is not None else None
        part.tern = op.tern[grp * mg:(grp + 1) * mg] if op.tern is not None else None
        out.append(_dot(np, part, cols))
    s = np.concatenate(out, axis=1).reshape(n, c["m"], oh, ow)
    return _epilogue(np, op, s)


def _pool(np, op, x):
    c = op.cfg
    if op.kind == "maxpool":
        # padding is never selected: a padded tap is -inf
        taps = _windows(np, _pad(np, x, c["pad"], -np.inf), c["kh"], c["kw"], c["stride"],
                        c["out_h"], c["out_w"])
        return taps.max(axis=(2, 3))
    taps = _windows(np, _pad(np, x, c["pad"], 0.0), c["kh"], c["kw"], c["stride"],
                    c["out_h"], c["out_w"])
    return taps.sum(axis=(2, 3)) / (c["kh"] * c["kw"])


def _add(np, op, branch, short):
    st = op.cfg["add_stride"]
    if short.shape == branch.shape and st == 1:
        out = branch + short
    else:
        front = (branch.shape[1] - short.shape[1]) // 2
        out = branch.copy()
        out[:, front:front + short.shape[1]] += short[:, :, ::st, ::st]
    return np.maximum(out, 0) if op.cfg["relu"] else out


def _step(np, op, vals):
    x = vals[op.inputs[0]]
    if op.kind == "conv":
        return _conv(np, op, x)
    if op.kind == "dense":
        s = _dot(np, op, x.reshape(x.shape[0], -1, 1))
        return _epilogue(np, op, s).reshape(x.shape[0], -1, 1, 1)
    if op.kind == "affine":
        return _epilogue(np, op, x)
    if op.kind == "relu":
        return np.maximum(x, 0)
    if op.kind in ("maxpool", "avgpool"):
        return _pool(np, op, x)
    if op.kind == "gap":
        return x.mean(axis=(2, 3), keepdims=True)
    if op.kind == "flatten":
        return x.reshape(x.shape[0], -1, 1, 1)
    return _add(np, op, x, vals[op.inputs[1]])


def run(model, inputs):
    """Run the program on inputs (N, C, H, W) float32; returns the output
    value as an (N, C, H, W) float32 array. The arithmetic is float64, so
    the result is the exact semantics of section 13 up to the last rounding."""
    np = _numpy()
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != model.shapes[0]:
        raise ValueError("inputs of shape %r; the program takes (N,) + %r" % (x.shape, model.shapes[0]))
    vals = [x.astype(np.float64)]
    for op in model.ops:
        vals.append(_step(np, op, vals))
    return vals[model.output].astype(np.float32)


# ---- the command line ----

def _describe(c):
    print("alignment: %d, data at %d" % (c.alignment, c.data_start))
    for key, v in c.keys.items():
        text = repr(v)
        print("key %s = %s" % (key, text if len(text) < 100 else text[:96] + " ..."))
    for t in c.tensors.values():
        print("tensor %r" % t)


def main(argv):
    if len(argv) not in (2, 4):
        sys.exit("usage: ec2t_reader.py FILE [IN.npy OUT.npy]")
    with open(argv[1], "rb") as f:
        c = read_container(f.read())
    _describe(c)
    if c.keys.get("ec2t.file_kind") and c.keys["ec2t.file_kind"].value == "deploy":
        model = model_from_container(c)
        for i, op in enumerate(model.ops):
            print("op %d: value %d %r = %r" % (i, i + 1, model.shapes[i + 1], op))
        print("output: value %d" % model.output)
        if len(argv) == 4:
            try:
                import numpy
            except ImportError:
                print("ec2t_reader.py: running a program needs NumPy, which is not installed")
                sys.exit(77)
            numpy.save(argv[3], run(model, numpy.load(argv[2])))


if __name__ == "__main__":
    main(sys.argv)
