# SPDX-License-Identifier: MIT
"""Tensors and NumPy, networks, errors and the log handler."""
import gc

import numpy as np
import pytest

import ec2t


def test_tensor_numpy_views_share_memory_and_keep_the_tensor_alive(rng):
    a = rng.normal(size=(2, 3, 4)).astype(np.float32)
    t = ec2t.Tensor.from_numpy(a)
    assert t.shape == (2, 3, 4) and t.size == 24 and t.ndim == 3 and t.dim(2) == 4
    v = t.numpy()
    assert np.array_equal(v, a) and np.array_equal(t.copy_to_numpy(), a)
    v[1, 2, 3] = 42.0  # a view: the tensor sees it
    assert t.copy_to_numpy()[1, 2, 3] == 42.0
    del t
    gc.collect()
    assert v[1, 2, 3] == 42.0  # the view kept the tensor alive
    t = ec2t.Tensor.new((4,))
    t.fill(2.5)
    assert np.all(np.asarray(t) == 2.5)


def test_tensor_npy_round_trip(tmp_path, rng):
    a = rng.normal(size=(3, 5)).astype(np.float32)
    ec2t.Tensor.from_numpy(a).save_npy(tmp_path / "a.npy")
    assert np.array_equal(np.load(tmp_path / "a.npy"), a)
    assert np.array_equal(ec2t.Tensor.load_npy(tmp_path / "a.npy").numpy(), a)
    data = (tmp_path / "a.npy").read_bytes()
    assert np.array_equal(ec2t.Tensor.load_npy_bytes(data).numpy(), a)
    with pytest.raises(ec2t.Error) as e:
        ec2t.Tensor.load_npy_bytes(data[:40])
    assert e.value.status == ec2t.EC2T_E_FORMAT


def test_net_params_are_views_and_model_files_round_trip(tmp_path, rng):
    net = ec2t.Net.build("lenet5", (1, 28, 28), 10).init(3)
    assert net.trainable_count == 61706 and net.input_shape == (1, 28, 28)
    params = net.params()
    assert params["fc1.weight"].shape == (120, 400)
    net.param("fc3.bias")[:] = 0.5  # writes go to the network
    assert np.all(net.params()["fc3.bias"] == 0.5)
    x = rng.normal(size=(4, 1, 28, 28)).astype(np.float32)
    y = net.forward(x)
    assert y.shape == (4, 10)
    net.save(tmp_path / "m.ec2tm")
    again = ec2t.Net.load(tmp_path / "m.ec2tm")
    assert np.array_equal(again.forward(x), y)
    assert np.array_equal(ec2t.Net.load_bytes((tmp_path / "m.ec2tm").read_bytes()).forward(x), y)
    net.export_safetensors(tmp_path / "m.safetensors")
    other = ec2t.Net.build("lenet5", (1, 28, 28), 10).import_safetensors(tmp_path / "m.safetensors")
    assert np.array_equal(other.forward(x), y)
    assert np.array_equal(net.clone().forward(x), y)
    assert [l.name for l in net.layers if l.kind == "dense"] == ["fc1", "fc2", "fc3"]
    assert net.layer("conv2").param("weight").shape == (16, 6, 5, 5)


def test_layer_by_layer_and_training_by_hand(rng):
    net = ec2t.Net.new((1, 6, 6))
    x = net.add_conv2d(net.input, 4, 3, pad=1, bias=True)
    x.name = "conv"
    b = net.add_batchnorm(x)
    b.set("bn_eps", 1e-3)
    assert b.get("bn_eps") == pytest.approx(1e-3)
    r = net.add_relu(b)
    r = net.add_residual(r, net.add_relu(b))
    r = net.add_dropout(net.add_flatten(net.add_global_avgpool(r)), 0.1)
    net.add_softmax_xent(net.add_dense(r, 3))
    net.init(1)
    assert [l.name for l in net.layer("conv").inputs] == [net.input.name]
    net.mode = "train"
    assert net.mode == "train"
    imgs = rng.normal(size=(8, 1, 6, 6)).astype(np.float32)
    loss, correct = net.forward_loss(imgs, np.arange(8) % 3)
    net.backward()
    assert loss > 0 and 0 <= correct <= 8
    assert np.any(net.param("conv.weight", grad=True) != 0)
    assert np.any(net.layer("conv").param("weight", grad=True).numpy() != 0)


def test_errors_carry_status_and_the_library_message(tmp_path):
    with pytest.raises(ec2t.Error) as e:
        ec2t.Net.build("resnet21", (3, 32, 32), 10)
    assert e.value.status == ec2t.EC2T_E_UNSUPPORTED
    assert "unknown architecture 'resnet21'" in e.value.message
    assert e.value.status_name == "EC2T_E_UNSUPPORTED" and "resnet21" in str(e.value)
    with pytest.raises(ec2t.Error) as e:
        ec2t.Net.load(tmp_path / "missing.ec2tm")
    assert e.value.status == ec2t.EC2T_E_IO and "missing.ec2tm" in e.value.message
    (tmp_path / "bad.ec2t").write_bytes(b"not an ec2t file at all")
    with pytest.raises(ec2t.Error) as e:
        ec2t.Engine.load(tmp_path / "bad.ec2t")
    assert e.value.status == ec2t.EC2T_E_FORMAT
    with pytest.raises(KeyError):
        ec2t.Context().set("no_such_setting", 1)


def test_context_settings_and_log_handler():
    ctx = ec2t.Context(threads=2, seed=11)
    assert ctx.threads == 2 and ctx.seed == 11
    assert ec2t.Context.bounds("threads") == (1, 1024)
    got = []
    ctx.set_log_handler(lambda level, message: got.append((level, message)))
    ctx.log_level = ec2t.EC2T_LOG_DEBUG
    with pytest.raises(ec2t.Error) as e:
        ctx.threads = 0
    assert got and got[-1][1] == e.value.message == ctx.last_error[1]
    assert ctx.last_error[0] == ec2t.EC2T_E_INVAL
    ctx.set_log_handler(None)
    n = len(got)
    with pytest.raises(ec2t.Error):
        ctx.threads = 0
    assert len(got) == n
    with pytest.raises(ec2t.Error):
        ctx.load_limit = -1


def test_every_object_reports_its_settings_bounds():
    # the bounds the headers document, through each object's own function
    assert ec2t.Scaler.bounds("phi") == (0.0, 8.0)
    assert ec2t.Scaler.bounds("depth") == (1.0, 8.0)
    lo, hi = ec2t.Scaler.bounds("transfer")
    assert isinstance(lo, int) and lo <= ec2t.EC2T_TRANSFER_PRESERVE <= hi
    lo, hi = ec2t.Trainer.bounds("lr")
    assert isinstance(lo, float) and 0 <= lo < hi
    lo, hi = ec2t.Trainer.bounds("epochs")
    assert isinstance(lo, int) and lo <= 1 < hi
    assert ec2t.Engine.bounds("isa")[0] <= ec2t.EC2T_ISA_AVX512 <= ec2t.Engine.bounds("isa")[1]
    lo, hi = ec2t.Layer.bounds("dropout_p")
    assert (lo, hi) == (0.0, 1.0) or (lo >= 0.0 and hi <= 1.0)
    lo, hi = ec2t.Dataset.bounds("crop_pad")
    assert isinstance(lo, int) and lo == 0 < hi
    with pytest.raises(KeyError):
        ec2t.Trainer.bounds("no_such_setting")


def test_dataset_and_scaler_integer_settings_read_back(rng):
    images = rng.random((4, 1, 8, 8), dtype=np.float32)
    ds = ec2t.Dataset.from_arrays(images, np.arange(4, dtype=np.int32), 4)
    ds.set("crop_pad", 2)
    assert ds.get("crop_pad") == 2
    sc = ec2t.Scaler()
    sc.set(transfer="preserve", phi=0.5)
    assert sc.get("transfer") == ec2t.EC2T_TRANSFER_PRESERVE and sc.get("phi") == 0.5
