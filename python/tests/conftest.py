# SPDX-License-Identifier: MIT
"""Shared fixtures: paths from meson's test environment."""
import os

import numpy as np
import pytest

SOURCE_ROOT = os.environ.get("EC2T_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
RESNET20 = os.path.join(SOURCE_ROOT, "tests", "data", "resnet20-cifar10")


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.fixture
def toy_data(rng):
    """64 images of 1x12x12 in 3 classes, each class a brighter block, so
    that a network can learn them in an epoch or two."""
    import ec2t
    labels = np.arange(64, dtype=np.int32) % 3
    images = rng.normal(0, 0.3, (64, 1, 12, 12)).astype(np.float32)
    for i, y in enumerate(labels):
        images[i, 0, 4 * y:4 * y + 4, :] += 1.5
    return ec2t.Dataset.from_arrays(images, labels, 3), images, labels
