# SPDX-License-Identifier: MIT
"""report(): per-layer sparsity, storage and operation counts (EC2T_REPORT_*)."""
from ._cdef import ENUMS
from ._lib import check, constant, ffi, lib

_KEYS = [k[len("EC2T_REPORT_"):].lower() for k, v in sorted(ENUMS.items(), key=lambda kv: kv[1])
         if k.startswith("EC2T_REPORT_") and not k.startswith("EC2T_REPORT_FORMAT_")]


def report(net, tree_adder=False, compressed_formats=False, store_32bit=False, mult_32bit=False):
    """One dict per counted layer (w_p and w_n None where not ternary); the
    flags are the EC2T_REPORT_* counting rules."""
    flags = 0
    for on, name in ((tree_adder, "report_tree_adder"), (compressed_formats,
                     "report_compressed_formats"), (store_32bit, "report_store_32bit"),
                     (mult_32bit, "report_mult_32bit")):
        flags |= constant("", name) if on else 0
    out = ffi.new("ec2t_report **")
    check(net.ctx.ptr, lib.ec2t_report_new(net.ptr, flags, out))
    rep = out[0]
    rows, value = [], ffi.new("double *")
    try:
        _rows(net, rep, rows, value)
    finally:
        lib.ec2t_report_free(rep)
    return rows


def _rows(net, rep, rows, value):
    for i in range(lib.ec2t_report_layer_count(rep)):
        row = {}
        for key in _KEYS:
            status = lib.ec2t_report_get(rep, i, constant("REPORT_", key), value)
            if key in ("w_p", "w_n") and not row["ternary"]:
                row[key] = None  # the centroids of ternary layers only
                continue
            check(net.ctx.ptr, status)
            row[key] = value[0]
        rows.append(row)
    return rows
