#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ec2t_net_export_safetensors against PyTorch: the authors' ResNet-20
(spars64) goes safetensors -> model file -> safetensors through ec2t-convert;
the export is parsed with json and struct alone (no `safetensors` package),
its tensors hold the original file's bits, PyTorch's load_state_dict of a
ResNet-20 module accepts it with strict=True and the module computes the
authors' logits.

usage: export-torch-test.py EC2T_CONVERT DATA_DIR
Skipped (exit 77) when torch is not importable.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("SKIP: torch is not importable by %s (install python3-torch)" % sys.executable)
    sys.exit(77)
import numpy as np  # python3-torch depends on python3-numpy

CONVERT, DATA_DIR = sys.argv[1:3]
RESNET = os.path.join(DATA_DIR, "resnet20-cifar10")
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def parse(path):
    """name -> (dtype, shape, bytes), in header order, checking the layout."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    if n % 8:
        fail("%s: header of %d bytes, not a multiple of 8" % (path, n))
    text = data[8:8 + n].decode("utf-8")
    header = json.loads(text)
    if text.rstrip(" ") != text.rstrip() or not text.rstrip(" ").endswith("}"):
        fail("%s: the header is padded with something other than spaces" % path)
    body = data[8 + n:]
    out, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if b != end:
            fail("%s: tensor %s does not follow the previous one" % (path, name))
        end = e
        out[name] = (info["dtype"], info["shape"], body[b:e])
    if end != len(body):
        fail("%s: %d bytes after the last tensor" % (path, len(body) - end))
    return out


def to_torch(tensors):
    return {name: torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(shape)
            for name, (dtype, shape, raw) in tensors.items()}


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
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


def main():
    src = os.path.join(RESNET, "resnet20_ec2t_spars64.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        model, export = os.path.join(tmp, "r20.ec2tm"), os.path.join(tmp, "r20.safetensors")
        subprocess.run([CONVERT, "--arch", "resnet20", src, model], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([CONVERT, model, export], check=True, stdout=subprocess.DEVNULL)
        exported, original = parse(export), parse(src)
    for name, (dtype, shape, raw) in exported.items():
        if dtype != "F32":
            fail("%s is %s" % (name, dtype))
        if name not in original or original[name][1:] != (shape, raw):
            fail("%s differs from the original file's tensor" % name)
    net = ResNet20()
    try:
        # strict: every key of the module and no other (BatchNorm fills in
        # the num_batches_tracked counters, which libec2t does not keep)
        net.load_state_dict(to_torch(exported), strict=True)
    except RuntimeError as e:
        fail("load_state_dict(strict=True) refuses the export: %s" % e)
    print("exported %d tensors; PyTorch's load_state_dict(strict=True) accepts them" % len(exported))
    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(np.load(os.path.join(RESNET, "inputs.npy")))).numpy()
    want = np.load(os.path.join(RESNET, "resnet20_ec2t_spars64.logits.npy"))
    diff = float(np.max(np.abs(logits - want)))
    print("PyTorch on the export vs the authors' logits: max |diff| %.3g" % diff)
    if not diff <= 1e-4:
        fail("logits differ by %g" % diff)
    print("%d failures" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
