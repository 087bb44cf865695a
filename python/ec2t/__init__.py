# SPDX-License-Identifier: MIT
"""ec2t: Python binding of libec2t (entropy-constrained trained ternarization).

    import ec2t, numpy as np
    net = ec2t.Net.build("resnet20", (3, 32, 32), 10).import_safetensors("model.safetensors")
    logits = ec2t.Engine.compile(net).run(np.load("inputs.npy"))

Handles (Context, Net, Dataset, Trainer, Ternarizer, Scaler, Engine) free
their C object when collected; a failing call raises ec2t.Error(status,
message) with the library's message. Arrays go in and out as NumPy float32
without copying where the layout allows. The EC2T_* constants of the headers
are attributes of this module; ec2t.lib and ec2t.ffi are the raw cffi
binding (ABI mode, declarations generated from the headers)."""
from . import _cdef
from ._lib import Error, UNWRAPPED, ffi, lib, library_path, status_name
from .context import Context, default_context
from .dataset import Dataset
from .engine import Engine
from .net import Layer, Net
from .report import report
from .scaler import Scaler
from .ternarizer import Ternarizer
from .tensor import Tensor
from .trainer import Trainer

globals().update(_cdef.ENUMS)
globals().update(_cdef.CONSTANTS)
__version__ = _cdef.CONSTANTS["EC2T_VERSION_STRING"]


def version():
    """The version of the libec2t that is loaded."""
    return ffi.string(lib.ec2t_version_string()).decode()


def max_dims():
    return int(lib.ec2t_max_dims())
