"""Shared, cached inputs of the tests/bnnkit/test_binarize_*.py files (not a test module)."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=None)
def trained_lenet(data_dir: str):
    """A small LeNet (width 0.25) trained 1 epoch on 2000 MNIST images, and its data."""
    import tensorflow as tf

    from bnnkit.data import load_dataset
    from bnnkit.models import build_model

    dataset = load_dataset("mnist", data_dir).subset(train=2000, test=256)
    tf.keras.utils.set_random_seed(0)
    model = build_model("lenet", "float", width=0.25)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(dataset.pipeline("train", 64, shuffle_seed=0), epochs=1, verbose=0)
    return model, dataset


def calibration_and_held_out(dataset, count=256):
    from bnnkit.binarize import calibration_images

    return calibration_images(dataset, count), dataset.normalize(dataset.x_test)


def gram_on(model, layer_name, images):
    from bnnkit.binarize import layer_gram

    return layer_gram(model, layer_name, images, patches_per_image=None).gram


def float_kernel(model, layer_name):
    from bnnkit.binarize.calibration import kernel_matrix

    return kernel_matrix(model.get_layer(layer_name))


def random_problem(seed, s=40, n=12, m=300):
    """A correlated random least-squares problem: W (s, n) and G = X X^T (s, s)."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((s, s)) / np.sqrt(s)
    x = mix @ rng.standard_normal((s, m))
    return rng.standard_normal((s, n)) * 0.1, x @ x.T
