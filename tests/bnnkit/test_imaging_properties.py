"""Property tests (hypothesis) tying deployment preprocessing to training preprocessing.

A model is trained on ``Dataset.normalize(uint8 images)``; on a phone or Pi the same image
arrives as a file and goes through :mod:`bnnkit.imaging` as the bundle's metadata says. For
an image already at the model's size, the two must give the same tensor, whatever the
pixels; lossless mode changes (16-bit, RGB grey, RGBA) must not change it either.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bnnkit import imaging
from bnnkit.data.dataset import Dataset

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def images(channels: int):
    shapes = st.tuples(st.integers(1, 40), st.integers(1, 40)).map(lambda s: (*s, channels))
    return hnp.arrays(np.uint8, shapes)


def spec_for(shape, mode):
    channels = shape[-1]
    return {"shape": [1, *shape], "dtype": "float32", "color_mode": mode,
            "resize": "bilinear", "mean": [0.5] * channels, "std": [0.5] * channels}


def dataset_for(x: np.ndarray) -> Dataset:
    return Dataset("t", x[None], np.zeros(1, np.int64), x[None], np.zeros(1, np.int64),
                   ["a"], "test", "grayscale" if x.shape[-1] == 1 else "rgb")


def through_file(tmp_path, image: Image.Image, suffix=".png") -> Image.Image:
    path = tmp_path / f"image{suffix}"
    image.save(path)
    return imaging.load_image(path)


@SETTINGS
@given(x=images(1))
def test_a_grayscale_png_at_model_size_equals_the_training_normalization(tmp_path_factory, x):
    tmp = tmp_path_factory.mktemp("png")
    loaded = through_file(tmp, Image.fromarray(x[..., 0], "L"))
    tensor = imaging.to_input_tensor(loaded, spec_for(x.shape, "grayscale"))
    np.testing.assert_allclose(tensor[0], dataset_for(x).normalize(x[None])[0],
                               rtol=0, atol=1e-6)


@SETTINGS
@given(x=images(3))
def test_an_rgb_png_at_model_size_equals_the_training_normalization(tmp_path_factory, x):
    tmp = tmp_path_factory.mktemp("png")
    loaded = through_file(tmp, Image.fromarray(x, "RGB"))
    tensor = imaging.to_input_tensor(loaded, spec_for(x.shape, "rgb"))
    np.testing.assert_allclose(tensor[0], dataset_for(x).normalize(x[None])[0],
                               rtol=0, atol=1e-6)


@SETTINGS
@given(x=images(1))
def test_lossless_mode_changes_of_a_grey_image_give_the_same_tensor(tmp_path_factory, x):
    tmp = tmp_path_factory.mktemp("modes")
    grey = x[..., 0]
    spec = spec_for(x.shape, "grayscale")
    reference = imaging.to_input_tensor(through_file(tmp, Image.fromarray(grey, "L")), spec)
    variants = {
        "I;16": Image.fromarray(grey.astype(np.uint16) * 257),
        "RGB": Image.fromarray(np.stack([grey] * 3, -1), "RGB"),
        "RGBA": Image.fromarray(np.dstack([grey] * 3 + [255 - grey]), "RGBA"),
    }
    for mode, image in variants.items():
        tensor = imaging.to_input_tensor(through_file(tmp, image), spec)
        np.testing.assert_array_equal(tensor, reference, err_msg=mode)


@SETTINGS
@given(x=images(1), height=st.integers(1, 32), width=st.integers(1, 32))
def test_resized_inputs_stay_in_the_normalized_pixel_range(x, height, width):
    image = Image.fromarray(x[..., 0], "L")
    tensor = imaging.to_input_tensor(image, spec_for((height, width, 1), "grayscale"))
    assert tensor.shape == (1, height, width, 1) and tensor.dtype == np.float32
    assert np.all(np.isfinite(tensor))
    # A weighted average of pixels lies between the smallest and the largest pixel.
    low, high = (x.min() / 255 - 0.5) / 0.5, (x.max() / 255 - 0.5) / 0.5
    assert tensor.min() >= low - 1e-6 and tensor.max() <= high + 1e-6
