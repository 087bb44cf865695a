#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The example programs as a user runs them: --help, bad arguments, missing
data, and the whole pipeline (ec2t-demo, then the single-step programs) on a
tiny synthetic Fashion-MNIST-shaped data set written here as gzip IDX files.

usage: examples-test.py BINDIR
Standard library only, so it runs under any Python 3.
"""
import gzip
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

BIN = sys.argv[1]
PROGRAMS = ["ec2t-minimal", "ec2t-train", "ec2t-scale", "ec2t-ternarize", "ec2t-convert", "ec2t-deploy", "ec2t-demo"]
failures = []


def run(prog, *args, expect=0):
    p = subprocess.run([os.path.join(BIN, prog)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != expect:
        failures.append(f"{prog} {' '.join(map(str, args))}: exit {p.returncode}, wanted {expect}\n"
                        f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
    return p


def run_until(prog, *args, line, after=""):
    """Run prog and kill it at the first output line starting with `line` that
    comes after the text `after`, as a machine restart would stop a long run."""
    proc = subprocess.Popen([os.path.join(BIN, prog)] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = not after
    for text in proc.stdout:
        seen = seen or after in text
        if seen and text.startswith(line):
            proc.kill()
            break
    proc.wait()


def keys(text):
    """The 'key: value' lines a program ends with."""
    out = {}
    for line in text.splitlines():
        if ": " in line and not line.startswith(" "):
            k, v = line.split(": ", 1)
            out[k] = v
    return out


def check(cond, what):
    if not cond:
        failures.append(what)


def write_idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def tiny_fashion(d, n_train, n_test):
    """Ten classes, each its own brightness, plus noise: learnable in an epoch,
    and unharmed by the random crops and flips of augmentation."""
    rng = random.Random(7)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        labels = bytes(rng.randrange(10) for _ in range(n))
        pixels = bytearray()
        for y in labels:
            pixels += bytes(20 * y + rng.randrange(50) for _ in range(28 * 28))
        write_idx(os.path.join(d, f"{stem}-images-idx3-ubyte.gz"), 0x803, (n, 28, 28), bytes(pixels))
        write_idx(os.path.join(d, f"{stem}-labels-idx1-ubyte.gz"), 0x801, (n,), labels)


def main():
    for prog in PROGRAMS:
        if prog == "ec2t-minimal":  # no options: just a data directory
            run(prog, "-h")
            p = run(prog, "--help")  # help2man needs --help to succeed
            check(p.stdout.startswith("usage: " + prog), f"{prog} --help: no usage line")
            run(prog, "--bad", expect=2)
            continue
        p = run(prog, "--help")
        check(p.stdout.startswith("usage: " + prog), f"{prog} --help: no usage line")
        p = run(prog, "--no-such-option", expect=2)
        check(prog in p.stderr and "\n" in p.stderr, f"{prog}: no one-line reason for a bad option")

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        tiny_fashion(data, 600, 200)
        spec = "fashion-mnist:" + data

        p = run("ec2t-demo", "--data", "fashion-mnist:" + os.path.join(tmp, "nowhere"),
                "--out", os.path.join(tmp, "x"), expect=1)
        check("apt-get install dataset-fashion-mnist" in p.stderr,
              "ec2t-demo without data does not name the package: " + p.stderr)
        run("ec2t-demo", "--val", "0", expect=2)
        run("ec2t-demo", "--depth", "0.5", expect=2)
        run("ec2t-demo", "--epochs", expect=2)
        run("ec2t-demo", "--epochs-a", "0", "--epochs-b", "0", expect=2)
        p = run("ec2t-demo", "--help")
        check("(full 40, quick 3)" in p.stdout and "(default ec2t-demo-out)" in p.stdout,
              "ec2t-demo --help does not show the two settings' defaults: " + p.stdout)

        out = os.path.join(tmp, "demo")
        small = ["--quick", "--data", spec, "--out", out, "--model", "resnet8", "--epochs", "2",
                 "--limit", "500", "--val", "100", "--epochs-a", "1", "--epochs-b", "1", "--threads", "1", "--target-sparsity", "0.7"]
        p = run("ec2t-demo", *small)
        check("  val loss " in p.stdout and "test loss" not in p.stdout,
              "ec2t-demo's epoch lines do not say they measure the validation images")
        first = keys(p.stdout)
        for f in ("small.ec2tm", "super.ec2tm", "ternary.ec2tm", "model.ec2t", "report.svg"):
            check(os.path.exists(os.path.join(out, f)), f"ec2t-demo did not write {f}")
        check(not [f for f in os.listdir(out) if f.endswith(".tmp")], "ec2t-demo left temporary files")
        if first:
            svg = ET.parse(os.path.join(out, "report.svg")).getroot()
            check(svg.tag.endswith("svg") and len(svg.findall(".//{*}rect")) > 10,
                  "report.svg has no bars")
            check(int(first["ternary_file_bytes"]) == os.path.getsize(os.path.join(out, "model.ec2t")),
                  "ternary_file_bytes is not the size of model.ec2t")
            check(int(first["small_file_bytes"]) > 5 * int(first["ternary_file_bytes"]),
                  "the .ec2t file is not much smaller than the float model")
            check(0.5 < float(first["sparsity"]) < 1, "sparsity out of range: " + first["sparsity"])
            check(int(first["super_params"]) > int(first["small_params"]), "the super-network is not larger")
            check(float(first["small_accuracy"]) > 30, "the small network learned nothing")
            acc = float(first["ternary_accuracy"]) / 100
            check(abs(float(first["accuracy_stderr"]) - 100 * math.sqrt(acc * (1 - acc) / 200)) < 0.01,
                  "accuracy_stderr is not the standard error on the 200 test images")
            gain = float(first["ternary_accuracy"]) - float(first["small_accuracy"])
            check(abs(float(first["accuracy_gain"]) - gain) < 0.011,
                  f"accuracy_gain {first['accuracy_gain']} is not ternary minus small accuracy")
            # what the demo measured is what a user gets from the saved file
            dep = keys(run("ec2t-deploy", os.path.join(out, "model.ec2t"), "--data", spec).stdout)
            check(dep.get("test_accuracy") == first["ternary_accuracy"],
                  f"ec2t-deploy {dep.get('test_accuracy')} != ec2t-demo {first['ternary_accuracy']}")
            # 8-bit activations calibrated on training images: close to float
            q = keys(run("ec2t-deploy", os.path.join(out, "model.ec2t"), "--data", spec,
                         "--int8", "64").stdout)
            check(q.get("precision") == "int8" and
                  abs(float(q.get("test_accuracy", -100)) - float(dep["test_accuracy"])) <= 5,
                  f"ec2t-deploy --int8: {q.get('precision')} {q.get('test_accuracy')} against "
                  f"float {dep['test_accuracy']}")
            run("ec2t-deploy", os.path.join(out, "model.ec2t"), "--int8", "64", expect=2)
            # --resume reuses every stage and reproduces the figures
            again = run("ec2t-demo", *small, "--resume")
            check(again.stdout.count("reusing ") == 3, "--resume did not reuse the three stage files")
            check(keys(again.stdout).get("ternary_accuracy") == first["ternary_accuracy"],
                  "--resume changed the result")
            # an interrupted training of the small network goes on from its checkpoint
            out2 = os.path.join(tmp, "demo2")
            os.makedirs(out2)
            ckpt = os.path.join(out2, "small.ckpt")
            run("ec2t-train", "--model", "resnet8", "--data", spec, "--epochs", "1", "--limit", "500",
                "--quiet", "--checkpoint", ckpt, "--out", os.path.join(tmp, "r8.ec2tm"))
            # (its super-network is deeper and narrower: base multipliers 1.9 and 1)
            p = run("ec2t-demo", *[out2 if a == out else a for a in small], "--resume",
                    "--depth", "1.9", "--width", "1")
            stage1 = p.stdout.split("[1/5")[-1].split("[2/5")[0]
            check("going on from " + ckpt in stage1 and "epoch   1 " not in stage1
                  and "epoch   2 " in stage1, "ec2t-demo --resume did not go on from small.ckpt: " + stage1)
            check(not os.path.exists(ckpt), "ec2t-demo left small.ckpt behind")
            narrow = keys(p.stdout)
            check("(d 1.9, w 1)" in p.stdout and
                  int(narrow.get("super_params", 0)) < int(first["super_params"]),
                  "ec2t-demo ignored --depth and --width")
            # and so does its EC2T stage, stopped after its first epoch (phase A)
            out3 = os.path.join(tmp, "demo3")
            shutil.copytree(out2, out3)
            for f in ("ternary.ec2tm", "model.ec2t"):
                os.remove(os.path.join(out3, f))
            ckpt = os.path.join(out3, "ec2t.ckpt")
            # (with the super-network teaching EC2T)
            args3 = [out3 if a == out else a for a in small] + ["--resume", "--distill", "0.5"]
            run_until("ec2t-demo", *args3, line="phase A epoch   1", after="[3/5")
            check(os.path.exists(ckpt), "ec2t-demo wrote no ec2t.ckpt during EC2T")
            p = run("ec2t-demo", *args3)
            stage3 = p.stdout.split("[3/5")[-1].split("[4/5")[0]
            check("going on from " + ckpt in stage3 and "phase A epoch   1" not in stage3
                  and "phase B epoch   1" in stage3,
                  "ec2t-demo --resume did not go on from ec2t.ckpt: " + stage3)
            check(not os.path.exists(ckpt), "ec2t-demo left ec2t.ckpt behind")
            check("the super-network teaching" in stage3, "ec2t-demo ignored --distill")

            # the single steps on the same data
            sup = os.path.join(tmp, "s.ec2tm")
            sc = keys(run("ec2t-scale", os.path.join(out, "small.ec2tm"), sup, "--phi", "1").stdout)
            check(float(sc.get("macs_growth", 0)) > 1.5, "ec2t-scale did not grow the network")
            run("ec2t-scale", os.path.join(out, "small.ec2tm"), sup, "--grid", "1.4:x", expect=2)
            tern = os.path.join(tmp, "t.ec2tm")
            p = run("ec2t-ternarize", sup, tern, "--data", spec, "--epochs", "1",
                    "--retrain-epochs", "0", "--quiet", "--target-sparsity", "0.8",
                    "--val", "64", "--distill", "0.5")
            tz = keys(p.stdout)
            check(0.6 < float(tz.get("sparsity", 0)) < 1, "ec2t-ternarize: sparsity " + str(tz.get("sparsity")))
            check("lr x1.000" in p.stdout, "ec2t-ternarize: the rates are not constant by default")
            # stopped after its first epoch, ec2t-ternarize --checkpoint goes on from there,
            # its cosine over the 3 epochs of both phases too (factors 1, 0.75, 0.25),
            # here distilling from an ensemble of two teachers that also see mirrored batches
            ckpt = os.path.join(tmp, "t.ckpt")
            args = [sup, tern, "--data", spec, "--epochs", "2", "--retrain-epochs", "1", "--quiet",
                    "--val", "64", "--checkpoint", ckpt, "--schedule", "cosine", "--distill", "0.5",
                    "--teacher", os.path.join(out, "small.ec2tm"), "--teacher", sup, "--teacher-mirror"]
            run_until("ec2t-ternarize", *args, line="phase A epoch   1")
            check(os.path.exists(ckpt), "ec2t-ternarize --checkpoint: no checkpoint after the first epoch")
            p = run("ec2t-ternarize", *args)
            check("phase A epoch   1" not in p.stdout and "phase A epoch   2" in p.stdout
                  and "phase B epoch   1" in p.stdout, "ec2t-ternarize did not go on after epoch 1: " + p.stdout)
            lr = {l[:17]: l.split(" lr x")[1].split()[0] for l in p.stdout.splitlines() if " lr x" in l}
            check(lr.get("phase A epoch   2") == "0.750" and lr.get("phase B epoch   1") == "0.250",
                  "ec2t-ternarize --schedule cosine: rate factors " + str(lr))
            check(not os.path.exists(ckpt), "ec2t-ternarize left its finished checkpoint behind")
            p = run("ec2t-ternarize", sup, tern, "--data", spec, "--distill", "0.5", "--teacher",
                    os.path.join(tmp, "missing.ec2tm"), expect=1)
            check("missing.ec2tm" in p.stderr, "ec2t-ternarize, missing teacher: " + p.stderr)
            p = run("ec2t-ternarize", sup, tern, "--data", spec, "--distill", "0.5", "--teacher", sup,
                    "--teacher", os.path.join(tmp, "missing2.ec2tm"), expect=1)
            check("missing2.ec2tm" in p.stderr, "ec2t-ternarize, missing second teacher: " + p.stderr)
            run("ec2t-ternarize", sup, tern, *["--teacher", sup] * 5, expect=2)
            p = run("ec2t-ternarize", sup, tern, "--data", spec, "--val", "100000000", expect=1)
            check("leaves no training images" in p.stderr, "ec2t-ternarize --val too large: " + p.stderr)
            lenet = os.path.join(tmp, "l.ec2tm")
            tr = keys(run("ec2t-train", "--model", "lenet5", "--data", spec, "--epochs", "1",
                          "--out", lenet, "--quiet").stdout)
            check(int(tr.get("file_bytes", 0)) == os.path.getsize(lenet), "ec2t-train: file_bytes")
            run("ec2t-scale", lenet, sup, expect=1)  # LeNet-5 has no stages to scale

            # the guide's program, from its own directory (it writes minimal.ec2t there)
            p = subprocess.run([os.path.join(BIN, "ec2t-minimal"), data], cwd=tmp,
                               capture_output=True, text=True, timeout=600)
            check(p.returncode == 0 and "minimal.ec2t:" in p.stdout
                  and os.path.exists(os.path.join(tmp, "minimal.ec2t")),
                  "ec2t-minimal failed: " + p.stdout + p.stderr)

    if failures:
        print("\n\n".join(failures))
        return 1
    print("all example checks passed")
    return 0


sys.exit(main())
