#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The whole EC2T pipeline on Fashion-MNIST with the ec2t package: a small
float ResNet, its super-network, EC2T, the deployable .ec2t file and the
engine's test accuracy. Small budget by default (a few minutes on 2 cores);
usage: pipeline.py [DATA_DIR] [TRAIN_IMAGES] [EPOCHS] [OUT.ec2t]"""
import sys

import numpy as np

import ec2t

data_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
limit, epochs = (int(a) for a in (sys.argv[2:4] + ["4000", "1"][len(sys.argv[2:4]):]))
out = sys.argv[4] if len(sys.argv) > 4 else "pipeline.ec2t"
ctx = ec2t.Context(threads=2)
files = lambda kind: (f"{data_dir}/{kind}-images-idx3-ubyte.gz", f"{data_dir}/{kind}-labels-idx1-ubyte.gz")
full = ec2t.Dataset.load_idx(*files("train"), ctx=ctx)
train, val = full.subset(0, limit), full.subset(len(full) - 500, 500)
test = ec2t.Dataset.load_idx(*files("t10k"), ctx=ctx)
mean, std = train.compute_normalization()
for d in (train, val, test):
    d.set_normalization(mean, std)

small = ec2t.Net.build("resnet8", train.shape, train.classes, ctx=ctx).init(1)     # 1. small float net
trainer = ec2t.Trainer(small, "sgd", lr=0.1, epochs=epochs)
trainer.set_progress(lambda t: print(f"\rsmall: step {t.get('step')}/{t.get('steps_per_epoch')} "
                                     f"loss {t.get('loss'):.3f}", end="", flush=True))
for _ in range(epochs):
    trainer.epoch(train)
print(f"\nsmall float accuracy: {small.evaluate(test)[1]:.4f}")

big = ec2t.Scaler(ctx, phi=0.5).apply(small)                                        # 2. super-network
ec2t.Trainer(big, "sgd", lr=0.05, epochs=epochs).epoch(train)

tz = ec2t.Ternarizer(big, target_sparsity=0.8)                                      # 3. EC2T
adam = ec2t.Trainer(big, "adam", lr=1e-4)
tz.attach(adam)
tz.set_progress(lambda t, phase, epoch, acc: print(f"EC2T phase {phase} epoch {epoch}: val {acc:.4f}"))
tz.train(adam, train, val, epochs, 1)
sparsity = np.mean([s["sparsity"] for s in tz.stats()])

engine = ec2t.Engine.compile(big)                                                   # 4. deploy and run
engine.save(out)
engine = ec2t.Engine.load(out, ctx=ctx)
images, labels = test.batch(0, len(test))
accuracy = np.mean(np.argmax(np.concatenate([engine.run(images[i:i + 500])
                                             for i in range(0, len(images), 500)]), 1) == labels)
print(f"ternary engine accuracy: {accuracy:.4f}, mean sparsity {sparsity:.2f}, {out}")
