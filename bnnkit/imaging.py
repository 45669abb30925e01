"""Image file -> model input tensor, exactly as a bundle's ``metadata.json`` says.

This module is the reference that every runner matches: ``bnnkit predict``, the Raspberry
Pi runner and the Android app (whose plain-Java core, ``android_demo/core``, reproduces
every step below to 1e-6; golden vectors written by ``android_demo/tools/make_golden.py``
keep the two from drifting). It needs only numpy and Pillow, never TensorFlow, so it also
runs on a Pi.

    from bnnkit.imaging import load_image, to_input_tensor, top_k
    image = load_image("digit.png")
    x = to_input_tensor(image, metadata["input"])      # float32 [1, H, W, C]
    best = top_k(scores, 3, activation=metadata["output"]["activation"])

The steps, for ``input = {"shape": [1, H, W, C], "color_mode": ..., "resize": "bilinear",
"mean": [...], "std": [...]}``:

1. **Decode** (``load_image``) the first frame; EXIF orientation is not applied.
2. **8-bit pixels** (``to_pixels``): palette images are expanded, alpha is discarded (not
   composited), CMYK/YCbCr/LAB/HSV go through Pillow's conversion to RGB, 1-bit images become
   0/255, 16-bit and 32-bit integer grey images are scaled with
   ``p8 = floor(p * 255 / 65535 + 1/2)`` (clipped to [0, 65535] first).
   ``grayscale`` from RGB is ITU-R 601-2 luma in Pillow's 16-bit fixed point:

       L = (19595 R + 38470 G + 7471 B + 32768) >> 16

   (the three weights add up to 65536, so a grey RGB pixel keeps its value; Android's
   ``ARGB_8888`` bitmaps of grey images therefore give the same L as Pillow's ``L`` mode).
3. **Resize** (``resize_bilinear``) each channel, as float64, to (H, W) when the size differs,
   with a separable triangle ("bilinear") filter that is widened when shrinking, so that a
   large photo is averaged rather than aliased. For an axis of ``n_in`` -> ``n_out`` samples,
   with ``s = n_in / n_out`` and ``f = max(s, 1)``, output sample ``i`` is

       c = (i + 1/2) s,   lo = max(floor(c - f + 1/2), 0),   hi = min(floor(c + f + 1/2), n_in)
       w_j = max(0, 1 - |(j - c + 1/2) / f|)  for lo <= j < hi,   y_i = sum_j w_j x_j / sum_j w_j

   applied along the width first, then along the height. (This is the definition Pillow's
   ``BILINEAR`` resampling uses; bnnkit computes it itself so that Java can reproduce it.)
   With ``"resize_shorter_side": S`` (models trained with the ImageNet recipe, S = 256 for
   224 x 224), the image is instead resized to ``(h', w')`` with its shorter side S and the
   longer side ``floor(long * S / short)`` (integer arithmetic), and the central H x W is
   kept: rows ``(h' - H) // 2 ...``, columns ``(w' - W) // 2 ...`` (:func:`resized_pixels`).
4. **Normalize** per channel: ``x = (p / 255 - mean[c]) / std[c]``, then cast to float32.

Output scores: ``output.activation == "softmax"`` means the model already gives
probabilities; ``"linear"`` (logits) means a softmax is applied before ranking. ``top_k``
ranks by decreasing score, ties by increasing class index.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from bnnkit.errors import InvalidInputError, InvalidModelFileError

#: Refuse images with more pixels than this (a decompression bomb guard; 64 Mpx is larger
#: than any phone photo).
MAX_PIXELS = 64_000_000

COLOR_MODES = {"grayscale": 1, "rgb": 3}
RESIZE_FILTERS = ("bilinear",)
ACTIVATIONS = ("softmax", "linear")

_LUMA_R, _LUMA_G, _LUMA_B = 19595, 38470, 7471


def load_image(path: str | os.PathLike) -> Image.Image:
    """Open and fully decode an image file (first frame), refusing what is not one.

    # Arguments
    path: an image file Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP, ...).

    # Returns
    A decoded ``PIL.Image.Image``.

    # Raises
    InvalidInputError: the file is missing, not an image, truncated or corrupt, empty, or
        larger than ``MAX_PIXELS`` (a decompression bomb).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise InvalidInputError(f"{path}: image has no pixels ({width}x{height})")
                if width * height > MAX_PIXELS:
                    raise InvalidInputError(
                        f"{path}: {width}x{height} image has more than {MAX_PIXELS} pixels; "
                        "refusing it as a possible decompression bomb (resize it first)"
                    )
                image.seek(0)
                image.load()
                return image.copy()
    except InvalidInputError:
        raise
    except UnidentifiedImageError:
        raise InvalidInputError(f"{path}: not an image file Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInputError(
            f"{path}: refusing a possible decompression bomb (too many pixels)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidInputError(f"{path}: corrupt or truncated image ({error})") from None


def check_input_spec(spec: object) -> tuple[int, int, int]:
    """Validate a bundle's ``metadata["input"]`` and return ``(height, width, channels)``.

    # Raises
    InvalidModelFileError: a field is missing or has a value bnnkit cannot follow; the
        message names the field and the allowed values.
    """
    if not isinstance(spec, dict):
        raise InvalidModelFileError("metadata 'input' must be an object")
    shape = spec.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 4
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
    ):
        raise InvalidModelFileError(f"metadata input.shape must be [1, H, W, C], got {shape!r}")
    batch, height, width, channels = shape
    if batch != 1 or height < 1 or width < 1:
        raise InvalidModelFileError(f"metadata input.shape must be [1, H, W, C], got {shape!r}")
    dtype = spec.get("dtype", "float32")
    if dtype != "float32":
        raise InvalidModelFileError(
            f"metadata input.dtype {dtype!r} is not supported; use 'float32'"
        )
    mode = spec.get("color_mode")
    if mode not in COLOR_MODES:
        raise InvalidModelFileError(
            f"metadata input.color_mode {mode!r} is not one of {sorted(COLOR_MODES)}"
        )
    if COLOR_MODES[mode] != channels:
        raise InvalidModelFileError(
            f"metadata input.color_mode {mode!r} needs "
            f"{COLOR_MODES[mode]} channel(s) but input.shape has {channels}"
        )
    resize = spec.get("resize", "bilinear")
    if resize not in RESIZE_FILTERS:
        raise InvalidModelFileError(
            f"metadata input.resize {resize!r} is not one of {list(RESIZE_FILTERS)}"
        )
    side = spec.get("resize_shorter_side")
    if side is not None and (
        not isinstance(side, int) or isinstance(side, bool) or side < max(height, width)
    ):
        raise InvalidModelFileError(
            f"metadata input.resize_shorter_side must be an integer "
            f">= {max(height, width)} (the input's larger side), "
            f"got {side!r}"
        )
    for key in ("mean", "std"):
        values = spec.get(key)
        if (
            not isinstance(values, list)
            or len(values) != channels
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            )
        ):
            raise InvalidModelFileError(
                f"metadata input.{key} must be {channels} finite number(s), got {values!r}"
            )
    if any(v == 0 for v in spec["std"]):
        raise InvalidModelFileError(f"metadata input.std must not contain 0, got {spec['std']!r}")
    return height, width, channels


def to_pixels(image: Image.Image, color_mode: str) -> np.ndarray:
    """Convert a decoded image to uint8 pixels ``[H, W, C]`` in ``color_mode`` (step 2)."""
    if color_mode not in COLOR_MODES:
        raise InvalidModelFileError(
            f"color_mode {color_mode!r} is not one of {sorted(COLOR_MODES)}"
        )
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        wide = np.asarray(image, dtype=np.int64)
        wide = np.clip(wide, 0, 65535)
        pixels, is_grey = ((wide * 255 * 2 + 65535) // (2 * 65535)).astype(np.uint8), True
    elif mode == "F":
        raise InvalidInputError(
            "32-bit float images are not supported; save the image with 8 or 16 bits per channel"
        )
    elif mode in ("1", "L", "LA", "La"):
        pixels, is_grey = np.asarray(image.getchannel(0).convert("L"), dtype=np.uint8), True
    else:
        if mode not in ("RGB", "RGBA", "RGBX", "RGBa"):
            try:
                # P/PA (palette), CMYK, YCbCr, LAB, HSV: Pillow's own conversion.
                image = image.convert("RGBA" if mode in ("P", "PA") else "RGB")
            except (ValueError, OSError) as error:
                raise InvalidInputError(
                    f"cannot convert a {mode!r} image to RGB ({error})"
                ) from None
        pixels, is_grey = np.asarray(image, dtype=np.uint8)[..., :3], False  # alpha discarded
    if color_mode == "grayscale":
        if not is_grey:
            r, g, b = (pixels[..., i].astype(np.uint32) for i in range(3))
            pixels = ((_LUMA_R * r + _LUMA_G * g + _LUMA_B * b + 32768) >> 16).astype(np.uint8)
        return pixels[..., None].copy()
    if is_grey:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    return np.ascontiguousarray(pixels)


def _resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """The ``[n_out, n_in]`` matrix of step 3's normalized triangle-filter weights."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    weights = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        center = (i + 0.5) * scale
        lo = max(math.floor(center - support + 0.5), 0)
        hi = min(math.floor(center + support + 0.5), n_in)
        total = 0.0
        for j in range(lo, hi):
            w = max(0.0, 1.0 - abs((j - center + 0.5) / support))
            weights[i, j] = w
            total += w
        if total > 0.0:
            weights[i, lo:hi] /= total
    return weights


def resize_bilinear(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``[h, w, C]`` pixels to float64 ``[height, width, C]`` (step 3)."""
    values = np.asarray(pixels, dtype=np.float64)
    h, w = values.shape[:2]
    if (h, w) == (height, width):
        return values.copy()
    rows = _resize_weights(w, width)  # along the width first
    cols = _resize_weights(h, height)  # then along the height
    values = np.einsum("xj,hjc->hxc", rows, values)
    return np.einsum("yi,ixc->yxc", cols, values)


def shorter_side_size(height: int, width: int, side: int) -> tuple[int, int]:
    """``(h', w')`` with the shorter side ``side`` and the longer ``floor(long * side / short)``."""
    if height <= width:
        return side, width * side // height
    return height * side // width, side


def resized_pixels(
    pixels: np.ndarray, height: int, width: int, shorter_side: int | None = None
) -> np.ndarray:
    """Step 3: float64 ``[height, width, C]``, by a plain resize, or with ``shorter_side`` by
    a resize to that shorter side and a central crop."""
    if shorter_side is None:
        return resize_bilinear(pixels, height, width)
    new_h, new_w = shorter_side_size(pixels.shape[0], pixels.shape[1], shorter_side)
    values = resize_bilinear(pixels, new_h, new_w)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return values[top : top + height, left : left + width]


def to_input_tensor(image: Image.Image, metadata_input: dict) -> np.ndarray:
    """Preprocess a decoded image as ``metadata_input`` (a bundle's ``input``) says.

    # Arguments
    image: a ``PIL.Image.Image`` (e.g. from :func:`load_image`).
    metadata_input: ``metadata["input"]`` of the bundle.

    # Returns
    ``np.float32`` array of shape ``[1, H, W, C]``.

    # Raises
    InvalidModelFileError: the metadata cannot be followed (see :func:`check_input_spec`).
    InvalidInputError: the image cannot be converted.
    """
    check_input_spec(metadata_input)
    pixels = to_pixels(image, metadata_input["color_mode"])
    return pixels_to_input_tensor(pixels, metadata_input)


def pixels_to_input_tensor(pixels: np.ndarray, metadata_input: dict) -> np.ndarray:
    """Steps 3 and 4 on uint8 pixels ``[h, w, C]`` already in the metadata's colour mode."""
    height, width, channels = check_input_spec(metadata_input)
    if pixels.ndim != 3 or pixels.shape[2] != channels:
        raise InvalidInputError(f"pixels of shape {pixels.shape} do not have {channels} channel(s)")
    values = resized_pixels(pixels, height, width, metadata_input.get("resize_shorter_side"))
    mean = np.asarray(metadata_input["mean"], dtype=np.float64)
    std = np.asarray(metadata_input["std"], dtype=np.float64)
    values = (values / 255.0 - mean) / std
    return values.astype(np.float32)[None]


def softmax(scores: Any) -> np.ndarray:
    """Numerically stable softmax, in float64: ``exp(s_i - max s) / sum_j exp(s_j - max s)``."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def top_k(scores: Any, k: int = 3, *, activation: str = "softmax") -> list[tuple[int, float]]:
    """The ``k`` best ``(class_index, probability)`` pairs of one output vector.

    Ranked by decreasing probability, ties by increasing class index. ``activation`` is the
    bundle's ``output.activation``: ``"softmax"`` scores are used as they are, ``"linear"``
    scores (logits) go through :func:`softmax` first.
    """
    if activation not in ACTIVATIONS:
        raise InvalidModelFileError(
            f"metadata output.activation {activation!r} is not one of {list(ACTIVATIONS)}"
        )
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise InvalidInputError("model output is empty or contains NaN/Inf")
    if activation == "linear":
        values = softmax(values)
    order = sorted(range(values.size), key=lambda i: (-values[i], i))
    return [(i, float(values[i])) for i in order[: max(0, k)]]


__all__ = [
    "MAX_PIXELS",
    "check_input_spec",
    "load_image",
    "pixels_to_input_tensor",
    "resize_bilinear",
    "resized_pixels",
    "shorter_side_size",
    "softmax",
    "to_input_tensor",
    "to_pixels",
    "top_k",
]
