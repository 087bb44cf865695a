#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The PyTorch peer of bench-engine: the same weights in eval mode, under
torch.no_grad(), batch BATCH, THREADS threads (torch.set_num_threads), the
same input; the median of rounds of SECONDS (each round 10 calls at batch 1).
bench/run-engine.sh runs it alternately with bench-engine. The network is
read off the weights' names: the CIFAR ResNet-20 (3x32x32), or LeNet-5
(1x28x28) when they hold fc1.weight (bench/make_lenet5.py writes such a file).
bench/onnx_export.py exports the same modules for ONNX Runtime.

usage: engine_peer.py WEIGHTS.safetensors BATCH THREADS [SECONDS]"""
import json
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def load_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[b:e]), dtype=torch.float32).reshape(info["shape"])
        out[name] = t
    return out


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if (stride != 1 or cin != cout) else None
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        s = x
        if self.pad is not None:
            s = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + s)


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for s, (w, st) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            blocks = []
            for b in range(3):
                blocks.append(Block(cin, w, st if b == 0 else 1))
                cin = w
            setattr(self, "layer%d" % s, nn.Sequential(*blocks))
        self.linear = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


class LeNet5(nn.Module):
    """ec2t_net_build_lenet5(ctx, 1, 28, 28, 10): the same layers and names."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, 1, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def load_model(path):
    """The eval-mode module for the weights at path and its input shape (C, H, W)."""
    weights = load_safetensors(path)
    if "fc1.weight" in weights:
        model, shape = LeNet5(), (1, 28, 28)
    else:
        model, shape = ResNet20(), (3, 32, 32)
    model.load_state_dict(weights, strict=False)
    model.eval()
    return model, shape


def bench_input(batch, shape):
    """bench-engine's input: element i is (i * 2654435761 % 1000) / 500 - 1."""
    n = batch * shape[0] * shape[1] * shape[2]
    x = (torch.arange(n, dtype=torch.int64) * 2654435761 % 1000).float() / 500 - 1
    return x.reshape(batch, *shape)


def main():
    path, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    torch.set_num_threads(threads)
    model, shape = load_model(path)
    x = bench_input(batch, shape)
    inner = 10 if batch == 1 else 1
    times = []
    with torch.no_grad():
        for _ in range(3):
            model(x)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds or len(times) < 5:
            s = time.perf_counter()
            for _ in range(inner):
                model(x)
            times.append((time.perf_counter() - s) / inner)
    times.sort()
    print("torch: %s\nbatch: %d\nthreads: %d" % (torch.__version__, batch, threads))
    print("torch_ms: %.4f\ntorch_best_ms: %.4f" % (1e3 * times[len(times) // 2], 1e3 * times[0]))


if __name__ == "__main__":
    main()
