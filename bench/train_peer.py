#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The PyTorch peer of bench-train: the same LeNet-5 / ResNet-20 on random
28x28x1 data, forward + backward + SGD step, in PyTorch 1.13 (Debian's
python3-torch). Prints the same key: value lines as bench-train.

usage: train_peer.py MODEL BATCH THREADS [SECONDS]"""
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


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
        if self.pad is not None:  # option A: subsample, zero-pad channels
            s = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + s)


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for w, s in ((16, 1), (32, 2), (64, 2)):
            for b in range(3):
                layers.append(Block(cin, w, s if b == 0 else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.linear(x)


def main():
    model_name, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = LeNet5() if model_name == "lenet5" else ResNet20()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.rand(batch, 1, 28, 28) * 2 - 1
    y = torch.arange(batch) % 10
    rss0 = rss_mib()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        step()
        steps += 1
        t = time.perf_counter()
        if t - t0 >= seconds and steps >= 5:
            break
    print("model: %s\nbatch: %d\nthreads: %d\nsteps: %d" % (model_name, batch, threads, steps))
    print("images_per_second: %.1f" % (steps * batch / (t - t0)))
    print("cpu_images_per_second: %.1f" % (steps * batch / (time.process_time() - c0)))
    print("rss_before_mib: %.1f\npeak_rss_mib: %.1f"
          % (rss0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print("torch: %s mkldnn: %s" % (torch.__version__, torch.backends.mkldnn.is_available()))


if __name__ == "__main__":
    main()
