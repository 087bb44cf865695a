# SPDX-License-Identifier: MIT
"""PyTorch checkpoint to .ec2t: the EC2T authors' ResNet-20s (safetensors)
run in the engine give PyTorch's logits (issue 26's recipe, in a few lines)."""
import os

import numpy as np
import pytest

import ec2t
from conftest import RESNET20


@pytest.mark.parametrize("model", ["resnet20_ec2t_spars64", "resnet20_ec2t_spars45", "resnet20_fp"])
def test_authors_resnet20_matches_pytorch(model, tmp_path):
    d = RESNET20
    net = ec2t.Net.build("resnet20", (3, 32, 32), 10).import_safetensors(f"{d}/{model}.safetensors")
    engine = ec2t.Engine.compile(net)
    logits = engine.run(np.load(f"{d}/inputs.npy"))
    expected = np.load(f"{d}/{model}.logits.npy")
    assert logits.shape == (8, 10)
    assert np.abs(logits - expected).max() < 1e-4
    # the float network agrees, and so does the saved .ec2t file loaded again
    assert np.abs(net.forward(np.load(f"{d}/inputs.npy")) - expected).max() < 1e-4
    engine.save(tmp_path / "m.ec2t", encoding="entropy")
    again = ec2t.Engine.load(tmp_path / "m.ec2t")
    assert np.array_equal(again.run(np.load(f"{d}/inputs.npy")), logits)
    if "ec2t" in model:
        assert engine.get("ternary_layers") == 18


def test_the_recipe_in_a_few_lines_from_a_fresh_interpreter():
    """The README/GUIDE recipe, run as a user runs it (python3 -c)."""
    import subprocess
    import sys
    recipe = (
        "import ec2t, numpy as np\n"
        f"d = {RESNET20!r}\n"
        "net = ec2t.Net.build('resnet20', (3, 32, 32), 10).import_safetensors(d + '/resnet20_ec2t_spars64.safetensors')\n"
        "logits = ec2t.Engine.compile(net).run(np.load(d + '/inputs.npy'))\n"
        "assert np.abs(logits - np.load(d + '/resnet20_ec2t_spars64.logits.npy')).max() < 1e-4\n")
    assert len(recipe.splitlines()) <= 10
    subprocess.run([sys.executable, "-c", recipe], check=True, env=os.environ)


def test_a_wrong_checkpoint_is_an_error_with_the_library_message():
    net = ec2t.Net.build("resnet32", (3, 32, 32), 10)
    with pytest.raises(ec2t.Error) as e:
        net.import_safetensors(f"{RESNET20}/resnet20_fp.safetensors")
    assert e.value.status < 0 and e.value.message
    with pytest.raises(ec2t.Error) as e:
        net.import_safetensors(f"{RESNET20}/no-such-file.safetensors")
    assert e.value.status == ec2t.EC2T_E_IO
    assert "no-such-file" in e.value.message
