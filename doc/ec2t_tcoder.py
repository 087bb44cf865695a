# SPDX-License-Identifier: MIT
"""Decoder of entropy-coded ternary tensors (doc/FORMAT.md, section 13,
"Entropy-coded ternary tensors"), in standard-library Python.

It follows the specification step by step and shares no code with libec2t's
C decoder (lib/tcoder.c), so that agreement between the two is evidence that
the specification is complete.

    import ec2t_tcoder
    rows = ec2t_tcoder.decode(data, rows, cols, slice)   # list of lists of -1/0/+1

decode() raises TcoderError (a ValueError) for every stream that the
specification calls invalid.
"""

VERSION = 1
PROB_INIT = 32768       # probabilities of a 0 bin, in units of 2**-16
ADAPT_SHIFT = 5
RANGE_INIT = 0xFFFFFFFF
RANGE_TOP = 1 << 24
PAD_BYTES = 3           # implicit zero bytes after the stream
N_ZERO_CTX = 80
N_SIGN_CTX = 27
MAX_SYMBOLS_PER_BYTE = 12288  # the optional length rule of FORMAT.md (libec2t applies it)


class TcoderError(ValueError):
    """The stream is not a valid entropy-coded ternary tensor."""


def slice_width(slice_):
    """Kernel width: square slices are w x w, any other slice is one row."""
    w = 1
    while (w + 1) * (w + 1) <= slice_:
        w += 1
    return w if w * w == slice_ else slice_


class _Decoder:
    """The binary range decoder (FORMAT.md 13.x.3)."""

    def __init__(self, data):
        if len(data) < 2:
            raise TcoderError("stream of %d bytes, too short" % len(data))
        if data[0] != VERSION:
            raise TcoderError("unknown coder version %d" % data[0])
        self.data = data
        self.pos = 1            # index of the next byte in data
        self.end = len(data)
        self.range = RANGE_INIT
        self.code = 0
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
        p = probs[ctx]
        bound = (self.range >> 16) * p
        if self.code < bound:
            self.range = bound
            probs[ctx] = p + ((65536 - p) >> ADAPT_SHIFT)
            bit = 0
        else:
            self.code -= bound
            self.range -= bound
            probs[ctx] = p - (p >> ADAPT_SHIFT)
            bit = 1
        while self.range < RANGE_TOP:
            self.range <<= 8
            self.code = (self.code << 8) | self.byte()
        return bit

    def finish(self):
        if self.pos != self.end + PAD_BYTES:
            raise TcoderError("%d bytes left over after the last symbol"
                              % (self.end + PAD_BYTES - self.pos))
        if self.code >= RANGE_TOP:
            raise TcoderError("corrupt stream (bad final state)")


def decode(data, rows, cols, slice_):
    """Decode a stream (bytes-like) into rows lists of cols symbols -1, 0, +1."""
    if rows < 1 or cols < 1 or slice_ < 1 or cols % slice_ != 0:
        raise ValueError("bad layer shape %d x %d with slices of %d" % (rows, cols, slice_))
    data = bytes(data)
    if rows * cols > (len(data) + PAD_BYTES) * MAX_SYMBOLS_PER_BYTE:
        raise TcoderError("a %d x %d layer cannot fit in a %d-byte stream" % (rows, cols, len(data)))
    dec = _Decoder(data)
    width = slice_width(slice_)
    zero = [PROB_INIT] * N_ZERO_CTX
    sign = [PROB_INIT] * N_SIGN_CTX
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
                if dec.bit(zero, zctx):
                    sctx = ((left + 1) * 3 + up + 1) * 3 + last + 1
                    s = -1 if dec.bit(sign, sctx) else 1
                    nz += 1
                    last = s
                x.append(s)
            act[j] = act[j] - (act[j] >> 2) + 16 * min(nz, 4)
            row.extend(x)
        out.append(row)
    dec.finish()
    return out


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 5:
        sys.exit("usage: ec2t_tcoder.py STREAM ROWS COLS SLICE")
    with open(sys.argv[1], "rb") as f:
        layer = decode(f.read(), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    for r in layer:
        print(" ".join("%2d" % s for s in r))
