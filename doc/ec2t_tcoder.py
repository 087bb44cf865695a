# SPDX-License-Identifier: MIT
"""Decoder of entropy-coded ternary tensors (doc/FORMAT.md, section 13,
"Entropy-coded ternary tensors"), in standard-library Python: coder 1 (one
stream per layer) and coder 2 (one stream for the floats and layers of a
whole program).

It follows the specification step by step and shares no code with libec2t's
C decoders (lib/tcoder.c, lib/tstream.c), so that agreement between them is
evidence that the specification is complete.

    import ec2t_tcoder
    rows = ec2t_tcoder.decode(data, rows, cols, slice)   # list of lists of -1/0/+1
    dec = ec2t_tcoder.ProgramDecoder(data)               # coder 2, see there

decode() and ProgramDecoder raise TcoderError (a ValueError) for every
stream that the specification calls invalid.
"""

import struct

VERSION = 1             # coder 1: one stream per ternary layer
PROGRAM_VERSION = 2     # coder 2: one stream for every float and layer of a program
PROB_INIT = 32768       # probabilities of a 0 bin, in units of 2**-16
FAST_SHIFT = 5          # coder 1's rate of adaptation, and coder 2's fast one
SLOW_SHIFT = 7          # coder 2's slow rate
RANGE_INIT = 0xFFFFFFFF
RANGE_TOP = 1 << 24
PAD_BYTES = 3           # implicit zero bytes after the stream
N_ZERO_CTX = 80
N_SIGN_CTX = 27
MAX_SYMBOLS_PER_BYTE = 12288  # the optional length rule of FORMAT.md (libec2t applies it)
PROGRAM_SYMBOLS_PER_BYTE = 4608  # coder 2's (libec2t applies it too)
# the kinds of coder 2's floats (FORMAT.md, "The one-stream form")
KIND_WEIGHT, KIND_LEVEL, KIND_SCALE, KIND_BIAS = range(4)
# float_bits: exponent bits, mantissa bits, the IEEE 754 format's struct code
FLOAT_FORMATS = {16: (5, 10, "<e"), 32: (8, 23, "<f")}

# A probability is a pair (fast, slow) of estimates, packed as fast | slow << 16,
# and P = (fast + slow) >> 1 (coder 2's "dual probabilities"). Coder 1 adapts
# both halves at its one rate, so they stay equal and P is its single P.
PAIR_INIT = PROB_INIT | PROB_INIT << 16


class TcoderError(ValueError):
    """The stream is not a valid entropy-coded stream."""


def slice_width(slice_):
    """Kernel width: square slices are w x w, any other slice is one row."""
    w = 1
    while (w + 1) * (w + 1) <= slice_:
        w += 1
    return w if w * w == slice_ else slice_


class _Decoder:
    """The binary range decoder ("The binary range coder") of the bytes
    data[start:], whose slow estimates adapt with slow_shift."""

    def __init__(self, data, start, slow_shift):
        self.data = data
        self.pos = start        # index of the next byte in data
        self.end = len(data)
        self.slow_shift = slow_shift
        self.range = RANGE_INIT
        self.code = 0
        self.half = [PAIR_INIT]
        for _ in range(4):
            self.code = (self.code << 8) | self.byte()
        if self.code >= self.range:
            raise TcoderError("corrupt first bytes")

    def byte(self):
        if self.pos < self.end:
            b = self.data[self.pos]
        elif self.pos < self.end + PAD_BYTES:
            b = 0
        else:
            raise TcoderError("truncated stream")
        self.pos += 1
        return b

    def bit(self, probs, ctx):
        """A bin coded with the probability probs[ctx], which it updates."""
        pair = probs[ctx]
        fast = pair & 0xFFFF
        slow = pair >> 16
        bound = (self.range >> 16) * ((fast + slow) >> 1)
        if self.code < bound:
            self.range = bound
            probs[ctx] = ((fast + ((65536 - fast) >> FAST_SHIFT))
                          | (slow + ((65536 - slow) >> self.slow_shift)) << 16)
            bit = 0
        else:
            self.code -= bound
            self.range -= bound
            probs[ctx] = (fast - (fast >> FAST_SHIFT)) | (slow - (slow >> self.slow_shift)) << 16
            bit = 1
        while self.range < RANGE_TOP:
            self.range <<= 8
            self.code = (self.code << 8) | self.byte()
        return bit

    def direct(self, n):
        """n direct bins (P = 1/2, no update), the first one the most significant bit."""
        half = self.half
        v = 0
        for _ in range(n):
            half[0] = PAIR_INIT     # a probability of one half whose update is dropped
            v = (v << 1) | self.bit(half, 0)
        return v

    def finish(self):
        if self.pos != self.end + PAD_BYTES:
            raise TcoderError("%d bytes left over after the last bin"
                              % (self.end + PAD_BYTES - self.pos))
        if self.code >= RANGE_TOP:
            raise TcoderError("corrupt stream (bad final state)")


def _check_shape(rows, cols, slice_):
    if rows < 1 or cols < 1 or slice_ < 1 or cols % slice_ != 0:
        raise ValueError("bad layer shape %d x %d with slices of %d" % (rows, cols, slice_))


def _layer(dec, zero, sign, rows, cols, slice_):
    """The symbols of a layer ("Binary decisions and contexts"), coded with
    the zero- and sign-bin probabilities zero and sign; the activities start at 0."""
    bit = dec.bit
    width = slice_width(slice_)
    act = [0] * (cols // slice_)
    out = []
    for _ in range(rows):
        row = []
        for j in range(cols // slice_):
            x = []
            nz = 0
            last = 0
            act_q = min(act[j] >> 4, 3)
            for k in range(slice_):
                left = x[k - 1] if k % width > 0 else 0
                up = x[k - width] if k >= width else 0
                zctx = ((min(nz, 4) * 2 + (left != 0)) * 2 + (up != 0)) * 4 + act_q
                s = 0
                if bit(zero, zctx):
                    sctx = ((left + 1) * 3 + up + 1) * 3 + last + 1
                    s = -1 if bit(sign, sctx) else 1
                    nz += 1
                    last = s
                x.append(s)
            act[j] = act[j] - (act[j] >> 2) + 16 * min(nz, 4)
            row.extend(x)
        out.append(row)
    return out


def decode(data, rows, cols, slice_):
    """Decode a coder-1 stream (bytes-like) into rows lists of cols symbols -1, 0, +1."""
    _check_shape(rows, cols, slice_)
    data = bytes(data)
    if rows * cols > (len(data) + PAD_BYTES) * MAX_SYMBOLS_PER_BYTE:
        raise TcoderError("a %d x %d layer cannot fit in a %d-byte stream" % (rows, cols, len(data)))
    if len(data) < 2:
        raise TcoderError("stream of %d bytes, too short" % len(data))
    if data[0] != VERSION:
        raise TcoderError("unknown coder version %d" % data[0])
    dec = _Decoder(data, 1, FAST_SHIFT)
    out = _layer(dec, [PAIR_INIT] * N_ZERO_CTX, [PAIR_INIT] * N_SIGN_CTX, rows, cols, slice_)
    dec.finish()
    return out


class ProgramDecoder:
    """A coder-2 stream ("Coder 2: one stream for a whole program"): its
    floats and ternary layers, read in the program's order with one model
    that carries over from each to the next.

        dec = ec2t_tcoder.ProgramDecoder(data)    # checks the header
        w_p = dec.float(ec2t_tcoder.KIND_LEVEL)
        rows = dec.layer(rows, cols, slice_)
        dec.finish()                              # after the last operation
    """

    def __init__(self, data):
        data = bytes(data)
        if len(data) < 3:
            raise TcoderError("stream of %d bytes, too short" % len(data))
        if data[0] != PROGRAM_VERSION:
            raise TcoderError("unknown coder version %d" % data[0])
        if data[1] not in FLOAT_FORMATS:
            raise TcoderError("float_bits %d (16 or 32)" % data[1])
        self.float_bits = data[1]
        self.exp_bits, self.man_bits, code = FLOAT_FORMATS[self.float_bits]
        self.unpack = struct.Struct(code).unpack
        self.dec = _Decoder(data, 2, SLOW_SHIFT)
        self.zero = [PAIR_INIT] * N_ZERO_CTX
        self.sign = [PAIR_INIT] * N_SIGN_CTX
        self.fsign = [PAIR_INIT] * 4
        # FE[t][s][node], node 1 ... 2^E - 1 (index 0 unused), at index 2t + s
        self.fexp = [[PAIR_INIT] * (1 << self.exp_bits) for _ in range(8)]
        self.max_symbols = PROGRAM_SYMBOLS_PER_BYTE * (len(data) + PAD_BYTES)
        self.symbols = 0

    def float(self, kind):
        """The next float, of kind KIND_WEIGHT ... KIND_BIAS."""
        bit = self.dec.bit
        s = bit(self.fsign, kind)
        tree = self.fexp[2 * kind + s]
        node = 1
        for _ in range(self.exp_bits):
            node = 2 * node + bit(tree, node)
        exp = node - (1 << self.exp_bits)     # the path's leaf: 2^E + e
        pattern = (s << self.exp_bits | exp) << self.man_bits | self.dec.direct(self.man_bits)
        return self.unpack(pattern.to_bytes(self.float_bits // 8, "little"))[0]

    def layer(self, rows, cols, slice_):
        """The next ternary layer: rows lists of cols symbols -1, 0, +1."""
        _check_shape(rows, cols, slice_)
        self.symbols += rows * cols
        if self.symbols > self.max_symbols:
            raise TcoderError("%d symbols so far cannot fit in a %d-byte stream"
                              % (self.symbols, self.dec.end))
        return _layer(self.dec, self.zero, self.sign, rows, cols, slice_)

    def finish(self):
        """The end checks, after the last operation's floats and symbols."""
        self.dec.finish()


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 5:
        sys.exit("usage: ec2t_tcoder.py STREAM ROWS COLS SLICE")
    with open(sys.argv[1], "rb") as f:
        layer = decode(f.read(), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    for r in layer:
        print(" ".join("%2d" % s for s in r))
