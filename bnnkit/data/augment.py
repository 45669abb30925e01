r"""Image transforms inside the TensorFlow graph: decoding, the evaluation resize, and the
training augmentation of each recipe, deterministic under a seed.

    from bnnkit.data.augment import get_augmentation
    imagenet = get_augmentation("imagenet", (224, 224), channels=3)
    pixels = imagenet.train_encoded(jpeg_bytes, seed=[7, 0])   # float32 [224, 224, 3], 0..255
    pixels = imagenet.evaluate_encoded(jpeg_bytes)             # resize 256, center crop 224

Every transform returns float32 pixels in 0..255; the pipeline normalizes whole batches
afterwards with ``x = (p / 255 - mean) / std``.

**Evaluation** is what a deployment bundle's ``metadata.json`` states and what
:mod:`bnnkit.imaging` (``bnnkit predict``, the Pi runner, the Android app) reproduces:

- decoding: JPEG with libjpeg's accurate integer DCT (``dct_method="INTEGER_ACCURATE"``),
  which gives the same pixels as Pillow; other formats with ``tf.io.decode_image``; alpha is
  dropped; ``grayscale`` is Pillow's ITU-R 601-2 luma
  ``L = (19595 R + 38470 G + 7471 B + 32768) >> 16``;
- ``resize``: the antialiased triangle ("bilinear") filter (``tf.image.resize(...,
  antialias=True)``, the filter :func:`bnnkit.imaging.resize_bilinear` defines);
- ``imagenet`` only: resize so that the shorter side is ``S = round(size / 0.875)`` (256 for
  224), the longer side to ``floor(long * S / short)``, then crop the central ``size x size``
  (top ``(h' - size) // 2``, left ``(w' - size) // 2``): the standard single-crop protocol
  of ResNet (He et al. 2016) that Bi-Real and XNOR-Net report.

**Training** augmentation per recipe:

- ``none``: the evaluation transform (MNIST, Fashion-MNIST);
- ``cifar``: zero-pad 4 pixels on each side, take a random ``H x W`` crop, flip horizontally
  with probability 1/2 (He et al. 2016, Sec. 4.2; the CIFAR recipe of the BNN papers);
- ``imagenet``: the Inception random-resized crop (Szegedy et al. 2015, Sec. 6): a box of
  8-100% of the image area with aspect ratio in [3/4, 4/3], resized to ``size x size``, then a
  horizontal flip with probability 1/2. JPEGs decode only the box
  (``tf.io.decode_and_crop_jpeg``).

Randomness uses TensorFlow's stateless random ops only: each image's seed is derived from
(run seed, epoch, worker, position in the epoch) by :func:`element_seed`, so the augmented
batches depend on nothing else (not on thread timing, not on where a run was resumed).

# References
- He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016.
- Szegedy et al. Going Deeper with Convolutions. CVPR 2015.
"""

from __future__ import annotations

from typing import Any

from bnnkit.errors import InvalidConfigError

#: libjpeg's accurate integer IDCT: bit-identical to Pillow's JPEG decoding.
JPEG_DCT_METHOD = "INTEGER_ACCURATE"
_LUMA = (19595, 38470, 7471)


def luma(rgb) -> Any:
    """uint8 RGB ``[h, w, 3]`` -> uint8 grey ``[h, w, 1]``, Pillow's fixed-point ITU-R 601-2."""
    import tensorflow as tf

    wide = tf.cast(rgb, tf.int32)
    grey = (
        _LUMA[0] * wide[..., 0] + _LUMA[1] * wide[..., 1] + _LUMA[2] * wide[..., 2] + 32768
    ) // 65536
    return tf.cast(grey, tf.uint8)[..., None]


def to_channels(rgb, channels: int) -> Any:
    """uint8 RGB pixels in ``channels`` (1: luma, 3: as they are)."""
    return luma(rgb) if channels == 1 else rgb


def decode(encoded, channels: int) -> Any:
    """Encoded image bytes -> uint8 ``[h, w, channels]`` (the first frame of a GIF)."""
    import tensorflow as tf

    rgb = tf.cond(
        tf.io.is_jpeg(encoded),
        lambda: tf.io.decode_jpeg(encoded, channels=3, dct_method=JPEG_DCT_METHOD),
        lambda: tf.io.decode_image(encoded, channels=3, expand_animations=False),
    )
    return to_channels(rgb, channels)


def resize(pixels, height: int, width: int) -> Any:
    """Pixels ``[h, w, C]`` -> float32 ``[height, width, C]`` with the antialiased bilinear
    filter (unchanged, as float32, when already that size)."""
    import tensorflow as tf

    pixels = tf.cast(pixels, tf.float32)
    shape = tf.shape(pixels)
    same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
    return tf.cond(
        same,
        lambda: pixels,
        lambda: tf.image.resize(pixels, (height, width), "bilinear", antialias=True),
    )


def fold_seed(seed: int, *values) -> Any:
    """A stateless seed ``[2]`` derived from ``seed`` and ``values`` (ints or int64 tensors)."""
    import tensorflow as tf

    folded = tf.constant([seed, 0x5EED], tf.int64)
    for value in values:
        folded = tf.random.experimental.stateless_fold_in(folded, tf.cast(value, tf.int64))
    return folded


def element_seed(seed: int, epoch, worker, index) -> Any:
    """The stateless seed of one training image: (seed, epoch, worker, position) folded."""
    return fold_seed(seed, epoch, worker, index)


class Augmentation:
    """The ``none`` recipe (also the base class): training sees the evaluation transform.

    # Arguments
        size: ``(height, width)`` of the model input.
        channels: 1 (grayscale) or 3 (RGB).
    """

    name = "none"

    def __init__(self, size: tuple[int, int], channels: int):
        self.height, self.width = (int(d) for d in size)
        self.channels = int(channels)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.height, self.width, self.channels

    def evaluate(self, pixels) -> Any:
        """uint8 ``[h, w, C]`` -> float32 ``[H, W, C]``: the evaluation (deployment) transform."""
        return resize(pixels, self.height, self.width)

    def train(self, pixels, seed) -> Any:
        """uint8 ``[h, w, C]`` -> float32 ``[H, W, C]``, augmented with the stateless ``seed``."""
        del seed
        return self.evaluate(pixels)

    def evaluate_encoded(self, encoded) -> Any:
        return self.shaped(self.evaluate(decode(encoded, self.channels)))

    def train_encoded(self, encoded, seed) -> Any:
        return self.shaped(self.train(decode(encoded, self.channels), seed))

    def to_cache(self, encoded) -> Any:
        """What a cache keeps of an image without changing any result: the pixels resized
        by :meth:`evaluate` (float32), since :meth:`train` starts from them."""
        return self.shaped(self.evaluate(decode(encoded, self.channels)))

    def train_cached(self, kept, seed) -> Any:
        """:meth:`train_encoded` from what :meth:`to_cache` kept."""
        return self.shaped(self.train(kept, seed))

    def shaped(self, pixels) -> Any:
        """``pixels`` with the static shape of the model input."""
        pixels.set_shape(self.input_shape)
        return pixels

    def input_spec(self) -> dict:
        """Fields of a bundle's ``metadata["input"]`` that describe :meth:`evaluate`."""
        return {"resize": "bilinear"}


class CifarAugmentation(Augmentation):
    """Pad 4 + random ``H x W`` crop + horizontal flip (He et al. 2016, Sec. 4.2)."""

    name = "cifar"
    padding = 4

    def train(self, pixels, seed) -> Any:
        import tensorflow as tf

        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        pad = self.padding
        padded = tf.pad(self.evaluate(pixels), [[pad, pad], [pad, pad], [0, 0]])
        crop = tf.image.stateless_random_crop(padded, self.input_shape, crop_seed)
        return tf.image.stateless_random_flip_left_right(crop, flip_seed)


class ImagenetAugmentation(Augmentation):
    """Random-resized crop + flip for training; resize ``size / 0.875`` + center crop for
    evaluation (see the module docstring)."""

    name = "imagenet"
    crop_fraction = 0.875
    area_range = (0.08, 1.0)
    aspect_ratio_range = (3 / 4, 4 / 3)

    @property
    def resize_shorter_side(self) -> int:
        return round(min(self.height, self.width) / self.crop_fraction)

    def evaluate(self, pixels) -> Any:
        import tensorflow as tf

        shape = tf.shape(pixels)
        h, w = tf.cast(shape[0], tf.int64), tf.cast(shape[1], tf.int64)
        side = tf.constant(self.resize_shorter_side, tf.int64)
        new_h = tf.where(h <= w, side, h * side // w)
        new_w = tf.where(h <= w, w * side // h, side)
        resized = tf.image.resize(
            tf.cast(pixels, tf.float32),
            tf.cast(tf.stack([new_h, new_w]), tf.int32),
            "bilinear",
            antialias=True,
        )
        top = (new_h - self.height) // 2
        left = (new_w - self.width) // 2
        return resized[top : top + self.height, left : left + self.width]

    def _box(self, shape, seed):
        import tensorflow as tf

        begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
            shape,
            tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
            seed,
            min_object_covered=0.1,
            aspect_ratio_range=self.aspect_ratio_range,
            area_range=self.area_range,
            max_attempts=10,
            use_image_if_no_bounding_boxes=True,
        )
        return begin[0], begin[1], size[0], size[1]

    def _crop_encoded(self, encoded, seed):
        import tensorflow as tf

        def jpeg():
            top, left, h, w = self._box(tf.io.extract_jpeg_shape(encoded), seed)
            return tf.io.decode_and_crop_jpeg(
                encoded, tf.stack([top, left, h, w]), channels=3, dct_method=JPEG_DCT_METHOD
            )

        def other():
            image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
            top, left, h, w = self._box(tf.shape(image), seed)
            return image[top : top + h, left : left + w]

        return to_channels(tf.cond(tf.io.is_jpeg(encoded), jpeg, other), self.channels)

    def _resize_and_flip(self, crop, seed):
        import tensorflow as tf

        resized = tf.image.resize(
            tf.cast(crop, tf.float32), (self.height, self.width), "bilinear", antialias=True
        )
        return tf.image.stateless_random_flip_left_right(resized, seed)

    def train(self, pixels, seed) -> Any:
        import tensorflow as tf

        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        top, left, h, w = self._box(tf.shape(pixels), crop_seed)
        return self._resize_and_flip(pixels[top : top + h, left : left + w], flip_seed)

    def train_encoded(self, encoded, seed) -> Any:
        import tensorflow as tf

        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        crop = self._crop_encoded(encoded, crop_seed)
        return self.shaped(self._resize_and_flip(crop, flip_seed))

    def to_cache(self, encoded) -> Any:
        """The file bytes: the random crop needs the whole image."""
        return encoded

    def train_cached(self, kept, seed) -> Any:
        return self.train_encoded(kept, seed)

    def input_spec(self) -> dict:
        return {"resize": "bilinear", "resize_shorter_side": self.resize_shorter_side}


AUGMENTATIONS: dict[str, type[Augmentation]] = {
    cls.name: cls for cls in (Augmentation, CifarAugmentation, ImagenetAugmentation)
}


def get_augmentation(name: str, size: tuple[int, int], channels: int) -> Augmentation:
    """The augmentation recipe ``name`` (``none``, ``cifar``, ``imagenet``) for a model input."""
    if name not in AUGMENTATIONS:
        raise InvalidConfigError(
            f"unknown augmentation {name!r}; choose one of: {', '.join(AUGMENTATIONS)}"
        )
    return AUGMENTATIONS[name](size, channels)


__all__ = [
    "AUGMENTATIONS",
    "JPEG_DCT_METHOD",
    "Augmentation",
    "CifarAugmentation",
    "ImagenetAugmentation",
    "decode",
    "element_seed",
    "fold_seed",
    "get_augmentation",
    "luma",
    "resize",
]
