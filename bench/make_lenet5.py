#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write LeNet-5 weights (1x28x28, 10 classes; the names of
ec2t_net_build_lenet5 and engine_peer.LeNet5) for the inference benchmark:
seeded random weights laid out like the authors' spars64 ResNet-20, the first
and last layers float and the others ternary {-wn, 0, +wp} with about 64 %
zeros, so that the engine compiles them as ternary layers. Untrained: the
benchmark times the network, it does not score it.

usage: make_lenet5.py OUT.safetensors"""
import json
import struct
import sys

import torch

from engine_peer import LeNet5

SPARSITY = 0.64
TERNARY = ("conv2", "fc1", "fc2")


def ternarize(w, gen):
    """Keep the largest 36 % of |w|, at an asymmetric scale per sign."""
    keep = w.abs() > w.abs().flatten().quantile(SPARSITY)
    wp = 1.0 + 0.2 * torch.rand(1, generator=gen).item()
    wn = 1.0 + 0.2 * torch.rand(1, generator=gen).item()
    std = w.std().item() / (1 - SPARSITY) ** 0.5
    return torch.where(keep, torch.where(w > 0, wp * std, -wn * std), torch.zeros_like(w))


def save_safetensors(tensors, path):
    header, body, off = {}, b"", 0
    for name, t in tensors.items():
        data = t.contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        body += data
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + body)


def main():
    torch.manual_seed(20)
    gen = torch.Generator().manual_seed(64)
    state = {k: v.detach().clone() for k, v in LeNet5().state_dict().items()}
    for layer in TERNARY:
        state[layer + ".weight"] = ternarize(state[layer + ".weight"], gen)
    save_safetensors(state, sys.argv[1])


if __name__ == "__main__":
    main()
