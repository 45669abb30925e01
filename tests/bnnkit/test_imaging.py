"""bnnkit.imaging: image file -> input tensor as metadata.json says (the app's reference)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bnnkit.errors import InvalidInputError, InvalidModelFileError
from bnnkit import imaging
from bnnkit.imaging import load_image, to_input_tensor, to_pixels, top_k

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

GREY = {"shape": [1, 28, 28, 1], "dtype": "float32", "color_mode": "grayscale",
        "resize": "bilinear", "mean": [0.5], "std": [0.5]}
RGB = {"shape": [1, 32, 32, 3], "dtype": "float32", "color_mode": "rgb",
       "resize": "bilinear", "mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]}


def _save(tmp_path, image, name="x.png", **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_mnist_sample_tensor_equals_dataset_normalization():
    path = SAMPLES / "mnist_00_7.png"
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    x = to_input_tensor(load_image(path), GREY)
    assert x.shape == (1, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, ..., 0], (pixels / 255 - 0.5) / 0.5, atol=1e-6)


@pytest.mark.parametrize("size", [(73, 100), (30, 20), (640, 480), (11, 3)])
def test_bilinear_resize_matches_pillow_float_resampling(size):
    rng = np.random.default_rng(1)
    plane = rng.integers(0, 256, size[::-1]).astype(np.float32)
    reference = np.asarray(Image.fromarray(plane, "F").resize((28, 28), Image.BILINEAR))
    ours = imaging.resize_bilinear(plane[..., None], 28, 28)[..., 0]
    # Pillow keeps float32 between its two passes; bnnkit keeps float64.
    np.testing.assert_allclose(ours, reference, atol=5e-5)


def test_resize_of_a_constant_image_keeps_the_constant():
    pixels = np.full((300, 217, 3), 77, dtype=np.uint8)
    out = imaging.resize_bilinear(pixels, 32, 32)
    np.testing.assert_allclose(out, 77.0, atol=1e-9)


def test_grayscale_from_rgb_is_pillow_luma():
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    np.testing.assert_array_equal(to_pixels(image, "grayscale")[..., 0],
                                  np.asarray(image.convert("L")))


def test_rgba_alpha_is_discarded_not_composited():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0  # fully transparent red
    assert (to_pixels(Image.fromarray(rgba, "RGBA"), "rgb")[..., 0] == 200).all()


def test_palette_and_cmyk_images_become_rgb(tmp_path):
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    palette = rgb.quantize(colors=16)
    np.testing.assert_array_equal(to_pixels(palette, "rgb"),
                                  np.asarray(palette.convert("RGB")))
    cmyk = rgb.convert("CMYK")
    np.testing.assert_array_equal(to_pixels(cmyk, "rgb"), np.asarray(cmyk.convert("RGB")))
    # a palette PNG with transparency opens as P with tRNS: still works
    path = _save(tmp_path, palette, "p.png", transparency=0)
    assert to_input_tensor(load_image(path), RGB).shape == (1, 32, 32, 3)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    wide = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    path = _save(tmp_path, Image.fromarray(wide))
    image = load_image(path)
    assert image.mode.startswith("I")
    np.testing.assert_array_equal(to_pixels(image, "grayscale")[0, :, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(to_pixels(image, "rgb")[0, 3], [255, 255, 255])


def test_grey_image_as_rgb_repeats_the_channel():
    grey = Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4))
    pixels = to_pixels(grey, "rgb")
    assert pixels.shape == (4, 4, 3)
    np.testing.assert_array_equal(pixels[..., 2], np.asarray(grey))


def test_rgb_normalization_uses_each_channels_mean_and_std():
    pixels = np.zeros((32, 32, 3), dtype=np.uint8)
    pixels[..., 1] = 255
    x = imaging.pixels_to_input_tensor(pixels, RGB)[0, 0, 0]
    expected = [(0 - 0.4914) / 0.247, (1 - 0.4822) / 0.243, (0 - 0.4465) / 0.261]
    np.testing.assert_allclose(x, expected, rtol=1e-6)


def test_non_image_file_is_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("definitely not a png")
    with pytest.raises(InvalidInputError, match="not an image"):
        load_image(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="no such image"):
        load_image(tmp_path / "missing.png")


def test_truncated_image_is_refused(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (64, 64, 3), dtype=np.uint8)) \
        .save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InvalidInputError, match="corrupt or truncated"):
        load_image(path)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    path = _save(tmp_path, Image.new("L", (100, 100)))
    monkeypatch.setattr(imaging, "MAX_PIXELS", 5000)
    with pytest.raises(InvalidInputError, match="decompression bomb"):
        load_image(path)


def test_shorter_side_resize_keeps_the_central_columns_of_a_wide_image():
    # a 4 x 8 grey image whose value is 10 * column: shorter side 4 = no resize, central 4 x 4
    pixels = np.tile((10 * np.arange(8, dtype=np.uint8))[None, :, None], (4, 1, 1))
    spec = {"shape": [1, 4, 4, 1], "color_mode": "grayscale", "resize_shorter_side": 4,
            "mean": [0.0], "std": [1.0]}
    x = imaging.pixels_to_input_tensor(pixels, spec)
    np.testing.assert_allclose(x[0, :, :, 0], np.tile(10 * np.arange(2, 6) / 255, (4, 1)),
                               atol=1e-7)


@pytest.mark.parametrize("height,width,side,expected", [
    (375, 500, 256, (256, 341)), (500, 375, 256, (341, 256)), (224, 224, 256, (256, 256)),
    (683, 1024, 256, (256, 383))])
def test_shorter_side_size_floors_the_longer_side(height, width, side, expected):
    assert imaging.shorter_side_size(height, width, side) == expected


@pytest.mark.parametrize("field,value,match", [
    ("shape", [28, 28, 1], "input.shape"),
    ("shape", [2, 28, 28, 1], "input.shape"),
    ("color_mode", "bgr", "color_mode"),
    ("color_mode", "rgb", "needs 3 channel"),
    ("mean", [0.5, 0.5], "input.mean"),
    ("std", [0.0], "must not contain 0"),
    ("resize", "nearest", "input.resize"),
    ("dtype", "uint8", "input.dtype"),
    ("resize_shorter_side", 27, "resize_shorter_side"),
    ("resize_shorter_side", 28.5, "resize_shorter_side"),
])
def test_metadata_that_cannot_be_followed_is_refused(field, value, match):
    spec = dict(GREY, **{field: value})
    with pytest.raises(InvalidModelFileError, match=match):
        to_input_tensor(Image.new("L", (28, 28)), spec)


def test_top_k_ranks_by_probability_then_index():
    assert top_k([0.1, 0.3, 0.3, 0.05, 0.25], 3) == [(1, 0.3), (2, 0.3), (4, 0.25)]


def test_top_k_applies_softmax_to_logits():
    best = top_k([0.0, 2.0, 1.0], 2, activation="linear")
    assert [i for i, _ in best] == [1, 2]
    assert best[0][1] == pytest.approx(np.exp(2) / (1 + np.exp(1) + np.exp(2)))


def test_top_k_refuses_nan_output():
    with pytest.raises(InvalidInputError, match="NaN"):
        top_k([0.1, float("nan")], 1)
