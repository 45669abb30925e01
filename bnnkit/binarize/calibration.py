r"""Real layer inputs for data-driven binarization: im2col patches and their Gram matrix.

BWNH and SBD fit binary weights so that a layer's *outputs* on real data stay close to the
float layer's. A convolution with kernel \(W \in \mathbb{R}^{d \times d \times c \times T}\)
is a matrix product on its input patches (im2col): with \(X \in \mathbb{R}^{S \times M}\)
holding \(M\) patches of \(S = d\,d\,c\) values as columns and
\(W \in \mathbb{R}^{S \times T}\) the reshaped kernel, the layer's pre-activations are
\(X^\top W\). Every objective of the form

\[ \|X^\top W - X^\top \hat W\|_F^2 = \operatorname{tr}\big((W - \hat W)^\top G
   (W - \hat W)\big), \qquad G = X X^\top \in \mathbb{R}^{S \times S} \]

only needs the Gram matrix \(G\), which is accumulated batch by batch here, so the patches
of thousands of images never sit in memory at once.

    from bnnkit.binarize.calibration import calibration_images, layer_gram
    images = calibration_images(dataset, count=1024)
    stats = layer_gram(model, "block1_conv", images, patches_per_image=16)
    stats.gram      # (S, S) float64, G = X X^T
    stats.patches   # M, the number of patches summed

A dense layer is the case \(d = 1\) on a flat input: its patches are its input vectors.

With a ``reference`` model (the float network the binarization started from),
:func:`layer_gram` also accumulates, at the same patch positions, the cross product
\(C = X X_f^\top\) with the reference layer's input patches \(X_f\) and their Gram
\(G_f = X_f X_f^\top\). They turn the objective into "fit the *float network's* layer
outputs from the binarized network's own inputs",

\[ \|X_f^\top W - X^\top \hat W\|_F^2 = \operatorname{tr}(W^\top G_f W)
   - 2 \operatorname{tr}(\hat W^\top C W) + \operatorname{tr}(\hat W^\top G \hat W), \]

the alternative to fitting the partly binarized network's own outputs \(X^\top W\).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnkit.errors import InvalidInputError, UnsupportedModelError

__all__ = [
    "LayerGram",
    "calibration_images",
    "check_images",
    "kernel_matrix",
    "layer_gram",
    "layer_inputs",
    "supported_layer",
]


def calibration_images(dataset, count: int = 1024, *, seed: int = 0) -> np.ndarray:
    """``count`` training images of ``dataset`` (a :class:`bnnkit.data.Dataset`), normalized.

    The images are drawn without replacement with a fixed ``seed`` (all when ``count`` is
    at least the training-set size), as float32 NHWC model inputs. A streamed dataset
    (:class:`bnnkit.data.streaming.StreamingDataset`) gives its first ``count`` training
    images with the evaluation transform; its file list is already in a fixed mixed order.
    """
    if not hasattr(dataset, "x_train"):
        return dataset.arrays("train", count)[0]
    total = len(dataset.x_train)
    if total == 0:
        raise InvalidInputError(f"dataset {dataset.name!r} has no training images to calibrate on")
    if count is None or count >= total:
        index = np.arange(total)
    else:
        if count < 1:
            raise InvalidInputError(f"calibration image count must be >= 1, got {count}")
        index = np.sort(np.random.default_rng(seed).choice(total, size=int(count), replace=False))
    return dataset.normalize(dataset.x_train[index])


def check_images(model, images) -> np.ndarray:
    """Return ``images`` as float32, or raise :class:`InvalidInputError` if they cannot feed
    ``model`` (wrong rank or shape, empty, NaN/Inf)."""
    images = np.asarray(images)
    expected = tuple(model.input_shape[1:])
    if images.ndim != len(expected) + 1 or any(
        e is not None and e != g for e, g in zip(expected, images.shape[1:], strict=True)
    ):
        raise InvalidInputError(
            f"calibration images have shape {images.shape}; model {model.name!r} takes a batch "
            f"of shape (N, {', '.join(str(d) for d in expected)})"
        )
    if images.shape[0] == 0:
        raise InvalidInputError("no calibration images were given (an empty batch)")
    if not np.issubdtype(images.dtype, np.number):
        raise InvalidInputError(f"calibration images must be numbers, got dtype {images.dtype}")
    images = images.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise InvalidInputError("calibration images contain NaN or Inf values")
    return images


@dataclass
class LayerGram:
    r"""The Gram matrix of one layer's input patches.

    # Attributes
        layer: the layer's name.
        gram: \(G = X X^\top\), float64 of shape (S, S).
        patches: \(M\), the number of patches (columns of X) summed into ``gram``.
        cross: \(C = X X_f^\top\) with the reference model's patches (None without one).
        reference_gram: \(G_f = X_f X_f^\top\) (None without a reference model).
    """

    layer: str
    gram: np.ndarray
    patches: int
    cross: np.ndarray | None = None
    reference_gram: np.ndarray | None = None


def kernel_matrix(layer) -> np.ndarray:
    """A Conv2D/Dense kernel as the (S, T) matrix that multiplies im2col patches."""
    kernel = np.asarray(layer.get_weights()[0], np.float64)
    return kernel.reshape(-1, kernel.shape[-1])


def supported_layer(layer, *, allow_quantized: bool = False) -> bool:
    """True for the layers BWNH/SBD can binarize: float Conv2D (groups=1) and Dense.

    ``allow_quantized`` also accepts Larq's quantized versions (for measuring their inputs).
    """
    import tensorflow as tf

    quantized = getattr(layer, "input_quantizer", None) or getattr(layer, "kernel_quantizer", None)
    if quantized and not allow_quantized:
        return False  # already quantized (a Larq layer)
    if isinstance(layer, tf.keras.layers.Dense):
        return True
    return (
        isinstance(layer, tf.keras.layers.Conv2D)
        and not isinstance(
            layer, (tf.keras.layers.Conv2DTranspose, tf.keras.layers.DepthwiseConv2D)
        )
        and getattr(layer, "groups", 1) == 1
        and layer.data_format == "channels_last"
    )


def _patches(layer, inputs, patches_per_image, rng):
    """im2col of one batch: (B, P, S) float32 patches in the kernel's (kh, kw, c) order."""
    import tensorflow as tf

    if isinstance(layer, tf.keras.layers.Dense):
        x = inputs.numpy() if hasattr(inputs, "numpy") else np.asarray(inputs)
        return x.reshape(x.shape[0], -1, x.shape[-1])
    kh, kw = layer.kernel_size
    sh, sw = layer.strides
    dh, dw = layer.dilation_rate
    patches = tf.image.extract_patches(
        inputs,
        sizes=[1, kh, kw, 1],
        strides=[1, sh, sw, 1],
        rates=[1, dh, dw, 1],
        padding=layer.padding.upper(),
    ).numpy()
    patches = patches.reshape(patches.shape[0], -1, patches.shape[-1])
    if patches_per_image is not None and patches.shape[1] > patches_per_image:
        picks = np.stack(
            [
                rng.choice(patches.shape[1], patches_per_image, replace=False)
                for _ in range(patches.shape[0])
            ]
        )
        patches = np.take_along_axis(patches, picks[:, :, None], axis=1)
    return patches


def layer_inputs(model, layer_name: str, images, *, batch_size: int = 256):
    """The real inputs of ``layer_name`` for ``images`` (a Keras sub-model up to it)."""
    import tensorflow as tf

    layer = model.get_layer(layer_name)
    images = check_images(model, images)
    sub = tf.keras.Model(model.inputs, layer.input)
    return np.concatenate(
        [
            sub(images[i : i + batch_size], training=False).numpy()
            for i in range(0, len(images), batch_size)
        ]
    )


def layer_gram(
    model,
    layer_name: str,
    images,
    *,
    patches_per_image: int | None = 16,
    batch_size: int = 256,
    seed: int = 0,
    reference=None,
) -> LayerGram:
    r"""Accumulate \(G = X X^\top\) of ``layer_name``'s input patches over ``images``.

    # Arguments
        model: a functional Keras model containing the layer.
        layer_name: a Conv2D (channels_last, groups=1) or Dense layer of ``model`` (or a
            Larq QuantConv2D/QuantDense: its input quantizer is applied to the patches).
        images: float32 model inputs, shape (N,) + model input shape.
        patches_per_image: patches sampled per image and conv layer (without replacement,
            seeded); ``None`` takes every patch. A dense layer has one patch per image.
        batch_size: images per forward pass.
        seed: seed of the patch sampling.
        reference: a model with a layer of the same name and geometry (the float network):
            also accumulate \(C = X X_f^\top\) and \(G_f\) at the same patches.

    # Raises
        InvalidInputError: images of the wrong shape, empty, or not finite.
        UnsupportedModelError: the layer is not a supported Conv2D/Dense layer.
    """
    images = check_images(model, images)
    sources = [_PatchSource(model, layer_name, seed)]
    if reference is not None:
        sources.append(_PatchSource(reference, layer_name, seed))
    size = sources[0].size
    grams = {key: np.zeros((size, size), np.float64) for key in ("gram", "cross", "reference")}
    count = 0
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        patches = [source.patches(batch, patches_per_image) for source in sources]
        grams["gram"] += patches[0].T @ patches[0]
        if reference is not None:
            grams["cross"] += patches[0].T @ patches[1]
            grams["reference"] += patches[1].T @ patches[1]
        count += patches[0].shape[0]
    if reference is None:
        return LayerGram(layer_name, grams["gram"], count)
    return LayerGram(layer_name, grams["gram"], count, grams["cross"], grams["reference"])


class _PatchSource:
    """The im2col patches one layer of one model multiplies, batch by batch."""

    def __init__(self, model, layer_name, seed):
        import tensorflow as tf

        layer = model.get_layer(layer_name)
        if not supported_layer(layer, allow_quantized=True):
            raise UnsupportedModelError(
                f"layer {layer_name!r} ({type(layer).__name__}) has no im2col form: only "
                "Conv2D (channels_last, groups=1) and Dense layers are supported"
            )
        self.layer = layer
        self.input_quantizer = getattr(layer, "input_quantizer", None)
        self.sub = tf.keras.Model(model.inputs, layer.input)
        self.rng = np.random.default_rng(seed)  # same seed: same patch positions
        self.size = int(np.prod(layer.kernel.shape[:-1]))

    def patches(self, batch, patches_per_image):
        inputs = self.sub(batch, training=False)
        if self.input_quantizer is not None:  # what the layer really multiplies
            inputs = self.input_quantizer(inputs)
        patches = _patches(self.layer, inputs, patches_per_image, self.rng)
        return patches.reshape(-1, self.size).astype(np.float64)


def fit_gram(current, float_model, layer_name: str, images, *, fit: str, **options) -> LayerGram:
    """:func:`layer_gram` of ``current``'s layer, with the float model's cross products when
    ``fit="float"`` (the target is then the float network's layer outputs)."""
    return layer_gram(
        current, layer_name, images, reference=float_model if fit == "float" else None, **options
    )
