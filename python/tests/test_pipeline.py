# SPDX-License-Identifier: MIT
"""Trainer with a Python progress callback, the ternarizer, the scaler, the
report and the engine, on a toy problem."""
import numpy as np
import pytest

import ec2t


def test_dataset_from_arrays_and_batches(toy_data):
    data, images, labels = toy_data
    assert len(data) == 64 and data.classes == 3 and data.shape == (1, 12, 12)
    x, y = data.batch(0, 5)
    assert np.array_equal(x, images[:5]) and np.array_equal(y, labels[:5])
    mean, std = data.compute_normalization()
    data.set_normalization(mean, std)
    x, _ = data.batch(0, 64)
    assert abs(float(x.mean())) < 1e-3
    part = data.subset(10, 20)
    assert len(part) == 20
    data.set("crop_pad", 2)
    data.shuffle(5)
    with pytest.raises(ValueError):
        ec2t.Dataset.from_arrays(images, labels[:10], 3)


def test_trainer_progress_callback_sees_every_step_and_can_stop(toy_data):
    data, images, labels = toy_data
    net = ec2t.Net.build("resnet8", (1, 12, 12), 3).init(1)
    tr = ec2t.Trainer(net, "sgd", lr=0.05, batch_size=16, epochs=3, augment=0)
    assert tr.get("lr") == pytest.approx(0.05) and tr.get("batch_size") == 16
    assert tr.get("schedule") == ec2t.EC2T_SCHED_ONE_CYCLE
    steps = []
    tr.set_progress(lambda t: steps.append((t.get("step"), t.get("loss"))))
    loss0, _ = tr.epoch(data)
    assert [s for s, _ in steps] == [1, 2, 3, 4]
    for _ in range(2):
        loss, acc = tr.epoch(data)
    assert loss < loss0 and tr.get("epoch") == 3
    tr.set_progress(lambda t: t.get("step") == 2)  # true: stop
    with pytest.raises(ec2t.Error) as e:
        tr.epoch(data)
    assert e.value.status == ec2t.EC2T_E_ABORTED

    def broken(t):
        raise RuntimeError("from the callback")
    tr.set_progress(broken)
    with pytest.raises(RuntimeError, match="from the callback"):
        tr.epoch(data)
    tr.set_progress(None)
    assert tr.step(images[:16], labels[:16]) > 0
    with pytest.raises(ec2t.Error) as e:
        tr.set(batch_size=0)
    assert e.value.status == ec2t.EC2T_E_INVAL


def test_ternarize_compile_and_run(toy_data, tmp_path):
    data, images, labels = toy_data
    net = ec2t.Net.build("resnet8", (1, 12, 12), 3).init(2)
    tr = ec2t.Trainer(net, "sgd", lr=0.05, batch_size=16, epochs=4, augment=0)
    for _ in range(4):
        tr.epoch(data)
    tr.save_checkpoint(tmp_path / "t.ckpt")
    tr.load_checkpoint(tmp_path / "t.ckpt")
    sgd = ec2t.Trainer(net, "sgd", lr=0.01, batch_size=16, augment=0)
    group = sgd.add_group("adam", params=["linear.weight"], lr=1e-3)
    assert group == 1 and sgd.get("lr", group=1) == pytest.approx(1e-3)
    tz = ec2t.Ternarizer(net, gamma=0.1, init="kmeans")
    assert tz.get("gamma") == pytest.approx(0.1)
    assert ec2t.Ternarizer.bounds("gamma")[0] <= 0.1
    tz.attach(sgd)
    epochs = []
    tz.set_progress(lambda t, phase, epoch, acc: epochs.append((phase, epoch)))
    tz.train(sgd, data, data.subset(0, 32), 1, 1)
    assert len(epochs) == 2
    tz.update()
    stats = tz.stats()
    assert len(stats) == tz.get("layers") == 6
    assert all(0 <= s["sparsity"] <= 1 and s["w_p"] > 0 for s in stats)
    w = net.param("layer1.0.conv1.weight")
    assert len(np.unique(w)) <= 3
    rows = ec2t.report(net, tree_adder=True, compressed_formats=True)
    assert sum(r["ternary"] for r in rows) == 6
    engine = ec2t.Engine.compile(net)
    assert engine.get("ternary_layers") == 6 and engine.input_shape == (1, 12, 12)
    out = np.empty((64, 3), np.float32)
    logits = engine.run(images, out=out)
    assert logits is out
    assert np.abs(logits - net.forward(images)).max() < 1e-3
    engine.set_meta("source", "toy")
    engine.save(tmp_path / "toy.ec2t", encoding="raw")
    again = ec2t.Engine.load_bytes((tmp_path / "toy.ec2t").read_bytes())
    assert again.get_meta("source") == "toy" and again.get("encoding") == ec2t.EC2T_ENCODING_RAW
    assert np.array_equal(again.run(images[:7].astype(np.float64)), engine.run(images[:7]))
    assert engine.workspace_size(1) > 0


def test_scaler_builds_a_super_network(toy_data):
    data, images, _ = toy_data
    base = ec2t.Net.build("resnet8", (1, 12, 12), 3).init(4)
    sc = ec2t.Scaler(phi=1.0, depth=2.0, width=1.0, transfer="preserve", noise=0.0)
    assert sc.get("phi") == 1.0
    assert sc.plan(base) == ([2, 2, 2], [16, 32, 64])
    big = sc.apply(base)
    assert big.trainable_count > base.trainable_count
    assert np.abs(big.forward(images[:4]) - base.forward(images[:4])).max() < 1e-4
    others = [ec2t.Net.lenet5((1, 28, 28), 10), ec2t.Net.resnet([1, 1], [8, 16], (3, 16, 16), 5),
              ec2t.Net.ec2t_blocks([1, 1], [8, 16], 0.1, (3, 16, 16), 5)]
    assert [n.output_shape for n in others] == [(10, 1, 1), (5, 1, 1), (5, 1, 1)]
    assert others[1].macs > 0


def test_an_attached_ternarizer_outlives_its_trainer(toy_data):
    """Regression: the pipeline example crashed at exit when the interpreter
    freed the ternarizer before the trainer it was attached to."""
    import gc
    data, images, labels = toy_data
    net = ec2t.Net.build("resnet8", (1, 12, 12), 3).init(2)
    tr = ec2t.Trainer(net, "adam", lr=1e-4, batch_size=16)
    tz = ec2t.Ternarizer(net)
    tz.attach(tr)
    del tz
    gc.collect()
    assert tr.step(images[:16], labels[:16]) > 0
    del tr
    gc.collect()
    assert net.forward(images[:2]).shape == (2, 3)


def test_the_pipeline_example_runs_on_fashion_mnist(tmp_path):
    import os
    import subprocess
    import sys
    from conftest import SOURCE_ROOT
    data = "/usr/share/datasets/fashion-mnist"
    if not os.path.exists(f"{data}/train-images-idx3-ubyte.gz"):
        pytest.skip("Fashion-MNIST is not in %s (Debian package dataset-fashion-mnist)" % data)
    out = tmp_path / "p.ec2t"
    r = subprocess.run([sys.executable, os.path.join(SOURCE_ROOT, "examples", "python", "pipeline.py"),
                        data, "500", "1", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ternary engine accuracy" in r.stdout and out.exists()
    assert ec2t.Engine.load(out).get("ternary_layers") >= 6


def test_handles_with_callbacks_are_freed_in_order_at_exit():
    """Regression: the pipeline example crashed in the garbage collector at
    exit: a progress callback referring back to its trainer made a cycle
    that the collector freed in any order, the network before its trainer."""
    import subprocess
    import sys
    script = (
        "import ec2t, numpy as np\n"
        "x = np.random.default_rng(1).normal(size=(32, 1, 12, 12)).astype(np.float32)\n"
        "data = ec2t.Dataset.from_arrays(x, np.arange(32) % 3, 3)\n"
        "net = ec2t.Net.build('resnet8', (1, 12, 12), 3).init(1)\n"
        "tr = ec2t.Trainer(net, 'sgd', batch_size=16, augment=0)\n"
        "tr.set_progress(lambda t: None)\n"
        "tr.epoch(data)\n"
        "adam = ec2t.Trainer(net, 'adam', batch_size=16, augment=0)\n"
        "tz = ec2t.Ternarizer(net)\n"
        "tz.attach(adam)\n"
        "tz.set_progress(lambda *a: None)\n"
        "tz.train(adam, data, data, 1, 1)\n"
        "del net\n")
    r = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_a_cycle_of_handles_is_freed_children_first():
    """A context and its network in one reference cycle: the collector
    clears them in any order, the library still frees the network first."""
    import gc
    for _ in range(20):
        ctx = ec2t.Context()
        net = ec2t.Net.build("lenet5", (1, 28, 28), 10, ctx=ctx)
        tr = ec2t.Trainer(net, "sgd")
        tr.set_progress(lambda t: None)
        ctx.cycle, net.cycle, tr.cycle = tr, ctx, net
        del ctx, net, tr
        gc.collect()
