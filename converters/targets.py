"""The conversion targets: Keras model -> ``.tflite`` bytes, one :class:`Target` each.

The targets are :class:`Target` objects in one registry, :data:`TARGETS`:

* ``lce``: ``larq_compute_engine.convert_keras_model``: binary convs become ``LceBconv2d``
  (with ``LceQuantize`` in front), real-valued layers stay float32.
* ``int8``: LCE binary layers plus int8 real-valued layers. The real-valued conv/dense layers
  are annotated for quantization-aware training with tensorflow-model-optimization
  (``quantize_annotate_layer`` then ``quantize_apply``); their activation ranges are
  calibrated on data (:func:`calibrate_ranges`) and optionally fine-tuned (QAT, batch-norm
  frozen) for a few epochs; then the LCE converter emits int8 ``CONV_2D``/``FULLY_CONNECTED``
  around the ``LceBconv2d`` ops.
* ``litert``: stock TFLite builtin ops only, for any stock runtime (Android's Maven
  ``tensorflow-lite``, ``ai-edge-litert``, ``tf.lite.Interpreter``). The stock
  ``TFLiteConverter`` folds each quantizer applied to a constant kernel into its constant
  value (``+-1``, or ``+-alpha`` per channel), and the quantizers applied to activations
  become builtin ops (``SIGN``, ``ADD``, ``MUL``...). Weights are then stored as int8 with
  per-channel scales (dynamic-range quantization): a binary kernel ``+-alpha_c`` is exactly
  ``+-127`` times the scale ``alpha_c / 127``, so binary weights are stored exactly.
  Real-valued weights are rounded to int8 as well.

Also here: the same model converted in float (stock converter, no optimization), the size
reference of every report.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bnnkit.errors import UnsupportedModelError
from bnnkit.registry import Registry
from converters.flatbuffer import read_flatbuffer

__all__ = [
    "TARGETS",
    "Converted",
    "ConverterInputs",
    "LayerWording",
    "Target",
    "calibrate_ranges",
    "convert_float",
    "convert_lce",
    "convert_litert",
    "prepare_int8",
]


@contextlib.contextmanager
def _quiet():
    """Silence the converters' Python-side logging and printing (C++ logs stay)."""
    previous = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    level = logging.getLogger("tensorflow").level
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.getLogger("tensorflow").setLevel(level)
        if previous is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        else:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = previous


def _conversion_failed(target, error):
    message = str(error).strip().splitlines()
    detail = message[-1][:400] if message else type(error).__name__
    return UnsupportedModelError(f"the {target} converter could not convert this model: {detail}")


def convert_lce(model: Any) -> bytes:
    """LCE's converter, its native part in a child process (:mod:`converters.lce_convert`):
    a model that crashes it is refused with the reason instead of ending this process."""
    from converters.lce_convert import convert_keras_model

    try:
        with _quiet():
            return convert_keras_model(model)
    except UnsupportedModelError:
        raise
    except Exception as error:  # LCE's Python raises many types
        raise _conversion_failed("lce", error) from error


def convert_float(model: Any) -> bytes:
    """The same model, converted by the stock converter in float32 (size reference)."""
    import tensorflow as tf

    try:
        with _quiet():
            return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    except Exception as error:
        raise _conversion_failed("float (stock)", error) from error


def convert_litert(model: Any) -> bytes:
    """Stock builtin ops only, weights int8 (dynamic-range quantization)."""
    import tensorflow as tf

    try:
        with _quiet():
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            data = bytes(converter.convert())
    except Exception as error:
        raise _conversion_failed("litert", error) from error
    custom = read_flatbuffer(data).custom_ops
    if custom:
        raise UnsupportedModelError(
            f"the litert conversion produced custom ops "
            f"{', '.join(custom)}; it must use builtin ops only"
        )
    return data


def _annotate_real_layers(model):
    """Clone ``model`` with every real-valued conv/dense layer annotated for QAT."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    from converters.macs import is_linear_layer, layer_bits

    annotated = []
    clones = {}
    constant_kernels = {}
    for layer in model.layers:  # eagerly, before cloning builds a graph
        if _binary_weight_as_plain_layer(layer) is not None:
            constant_kernels[layer.name] = np.asarray(
                layer.kernel_quantizer(tf.convert_to_tensor(layer.kernel))
            )

    def annotate(layer):
        replacement = (
            _binary_weight_as_plain_layer(layer) if layer.name in constant_kernels else None
        )
        if replacement is not None:
            annotated.append(layer.name)
            clones[layer.name] = replacement
            return tfmot.quantization.keras.quantize_annotate_layer(replacement)
        clone = layer.__class__.from_config(layer.get_config())
        if (
            is_linear_layer(layer)
            and layer_bits(layer)[:2] == (32, 32)
            and type(layer)
            in (tf.keras.layers.Conv2D, tf.keras.layers.Dense, tf.keras.layers.DepthwiseConv2D)
        ):
            annotated.append(layer.name)
            clones[layer.name] = clone
            return tfmot.quantization.keras.quantize_annotate_layer(clone)
        clones[layer.name] = clone
        return clone

    clone = tf.keras.models.clone_model(model, clone_function=annotate)
    for layer in model.layers:
        weights = layer.get_weights()
        if layer.name in constant_kernels:
            weights = [constant_kernels[layer.name]] + weights[1:]
        if weights:
            clones[layer.name].set_weights(weights)
    return clone, annotated


def _binary_weight_as_plain_layer(layer):
    """A Larq layer with binary weights and real inputs (BWN, BWNH, SBD) as a plain Keras
    ``Conv2D``/``Dense`` holding its quantized kernel ``alpha * sign(W)``: tfmot can then
    quantize it, and per-channel int8 stores ``+-alpha_c`` exactly (``+-127`` steps of
    ``alpha_c / 127``). Returns the new (unbuilt) layer, or None."""
    import larq as lq
    import tensorflow as tf

    from converters.macs import layer_bits

    if type(layer) not in (lq.layers.QuantConv2D, lq.layers.QuantDense):
        return None
    if layer_bits(layer)[:2] != (32, 1) or layer.input_quantizer is not None:
        return None
    if (
        isinstance(layer, lq.layers.QuantConv2D)
        and layer.padding == "same"
        and float(layer.pad_values) != 0.0
    ):
        return None
    config = layer.get_config()
    for key in ("input_quantizer", "kernel_quantizer", "pad_values", "metrics"):
        config.pop(key, None)
    cls = (
        tf.keras.layers.Conv2D
        if isinstance(layer, lq.layers.QuantConv2D)
        else tf.keras.layers.Dense
    )
    config["kernel_constraint"] = None
    return cls.from_config(config)


def prepare_int8(
    model: Any,
    calibration_x: Any,
    *,
    qat_data: tuple | None = None,
    qat_epochs: int = 0,
    learning_rate: float = 1e-4,
    batch_size: int = 64,
) -> tuple[Any, dict]:
    """Return ``(qat_model, info)``: the QAT model the ``int8`` target converts.

    # Arguments
        model: the trained Keras model.
        calibration_x: images (float32, normalized) used to calibrate the int8 ranges.
        qat_data: ``(x, y)`` training data for the optional fine-tuning.
        qat_epochs: epochs of QAT fine-tuning (0: calibrate ranges only).
    """
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    from bnnkit.serialization import custom_objects

    annotated_model, annotated = _annotate_real_layers(model)
    if not annotated:
        raise UnsupportedModelError(
            "the int8 target found no real-valued Conv2D/Dense layer to quantize; use --target lce"
        )
    try:
        with tfmot.quantization.keras.quantize_scope(custom_objects()):
            qat_model = tfmot.quantization.keras.quantize_apply(annotated_model)
    except Exception as error:
        raise _conversion_failed("int8 (tfmot quantize_apply)", error) from error
    for layer in qat_model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.trainable = False  # calibration/fine-tuning must not move BN statistics
    calibration_x = np.asarray(calibration_x, np.float32)
    # One forward pass in training mode sets the weight ranges (tfmot's last-value
    # quantizers read them from the kernels only then; BN is frozen above).
    qat_model(calibration_x[:batch_size], training=True)
    calibrated = calibrate_ranges(qat_model, model, calibration_x, batch_size=batch_size)
    info = {
        "annotated_layers": annotated,
        "calibration_images": len(calibration_x),
        "calibrated_ranges": calibrated,
        "qat_epochs": 0,
    }
    if qat_epochs and qat_data is not None:
        x, y = qat_data
        qat_model.compile(
            tf.keras.optimizers.Adam(learning_rate),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        qat_model.fit(
            np.asarray(x, np.float32),
            np.asarray(y),
            batch_size=batch_size,
            epochs=int(qat_epochs),
            verbose=0,
        )
        info.update(qat_epochs=int(qat_epochs), qat_images=len(x), qat_learning_rate=learning_rate)
    return qat_model, info


def _range_variables(layer, suffixes):
    found = {}
    for weight in layer.weights:
        for key, suffix in suffixes.items():
            if weight.name.split("/")[-1].startswith(suffix):
                found[key] = weight
    return found.get("min"), found.get("max")


def calibrate_ranges(
    qat_model: Any, float_model: Any, x: np.ndarray, *, batch_size: int = 64
) -> dict:
    """Set the activation fake-quant ranges of a tfmot QAT model from data, layer by layer.

    tfmot learns them as moving averages (decay 0.999) starting from [-6, 6]: a few batches
    barely move them. Here each range is set to the observed ``[min(0, lo), max(0, hi)]`` of
    the tensor it quantizes in ``float_model`` (the model before ``quantize_apply``): the
    model input for ``QuantizeLayer``, the wrapped layer's output for a ``QuantizeWrapper``
    named ``quant_<layer>``.
    """
    import tensorflow as tf

    ranges = {}
    for layer in qat_model.layers:
        kind = type(layer).__name__
        if kind == "QuantizeLayer":
            low, high = _range_variables(
                layer, {"min": "quantize_layer_min", "max": "quantize_layer_max"}
            )
            values = x
        elif kind.startswith("QuantizeWrapper"):
            low, high = _range_variables(
                layer, {"min": "post_activation_min", "max": "post_activation_max"}
            )
            if low is None:  # wrapped activations (tfmot adds them after quantized layers)
                low, high = _range_variables(layer, {"min": "output_min", "max": "output_max"})
            name = layer.name[len("quant_") :] if layer.name.startswith("quant_") else layer.name
            if low is None or high is None or name not in [m.name for m in float_model.layers]:
                continue
            probe = tf.keras.Model(float_model.inputs, float_model.get_layer(name).output)
            values = np.concatenate(
                [
                    np.asarray(probe(x[start : start + batch_size], training=False))
                    for start in range(0, len(x), batch_size)
                ]
            )
        else:
            continue
        if low is None or high is None:
            continue
        lo, hi = min(0.0, float(values.min())), max(0.0, float(values.max()))
        low.assign(np.full(low.shape, lo, np.float32))
        high.assign(np.full(high.shape, hi, np.float32))
        ranges[layer.name] = [lo, hi]
    return ranges


@dataclass(frozen=True)
class ConverterInputs:
    """What a target's converter may use besides the model.

    # Arguments
        calibration_x: float32 images, normalized as the model expects (int8 ranges).
        qat_data: ``(x, y)`` training data for the int8 target's QAT fine-tuning.
        qat_epochs: epochs of QAT fine-tuning (0: calibrate ranges only).
    """

    calibration_x: np.ndarray
    qat_data: tuple[np.ndarray, np.ndarray] | None = None
    qat_epochs: int = 0


@dataclass(frozen=True)
class Converted:
    """A target's output: the Keras model actually converted (the int8 target converts a QAT
    copy), the ``.tflite`` bytes, and the target's own report section (or None)."""

    model: Any
    data: bytes
    details: dict | None = None


@dataclass(frozen=True)
class LayerWording:
    """How a target's report words the layers that do not run on binary kernels.

    # Arguments
        float_layer: appended to a real-valued layer's reason (how its weights are stored).
        binary_weight_conv: what a binary-weight, real-input layer deploys as.
        binary_weight_bytes: bytes per stored weight of such a layer.
        binary_layer: for a target without binary kernels, why a binary layer runs in float.
    """

    float_layer: str
    binary_weight_conv: str
    binary_weight_bytes: int
    binary_layer: str = ""


@dataclass(frozen=True)
class Target:
    """A conversion target.

    # Arguments
        name: what ``--target`` and ``convert_model(target=...)`` call it.
        description: one line for ``--help``.
        converter: ``(keras_model, ConverterInputs) -> Converted``.
        runtime: the runtime (:data:`converters.runtime.RUNTIMES`) that verifies it.
        binary_kernels: binary convs are expected to become ``LceBconv2d``.
        wording: how its report words the layers that stay real-valued.
        android_flavor: the Android app flavor that can run its models.
        fine_tunes: takes ``qat_epochs`` of quantization-aware fine-tuning.
    """

    name: str
    description: str
    converter: Callable[[Any, ConverterInputs], Converted]
    runtime: str
    binary_kernels: bool
    wording: LayerWording
    android_flavor: str
    fine_tunes: bool = False

    def convert(self, model: Any, inputs: ConverterInputs) -> Converted:
        return self.converter(model, inputs)


def _lce(model: Any, inputs: ConverterInputs) -> Converted:
    return Converted(model, convert_lce(model))


def _int8(model: Any, inputs: ConverterInputs) -> Converted:
    qat_model, details = prepare_int8(
        model, inputs.calibration_x, qat_data=inputs.qat_data, qat_epochs=inputs.qat_epochs
    )
    return Converted(qat_model, convert_lce(qat_model), details)


def _litert(model: Any, inputs: ConverterInputs) -> Converted:
    return Converted(model, convert_litert(model))


_INT8_BINARY_WEIGHTS = "an int8 conv (its +-alpha weights are exact in int8)"

#: Every conversion target; the first is the default.
TARGETS: Registry[Target] = Registry(
    "target",
    [
        Target(
            "lce",
            "LCE binary kernels; real-valued layers in float32",
            _lce,
            runtime="lce",
            binary_kernels=True,
            android_flavor="lce",
            wording=LayerWording("", "a float32 conv", binary_weight_bytes=4),
        ),
        Target(
            "int8",
            "LCE binary kernels; real-valued layers in int8",
            _int8,
            runtime="lce",
            binary_kernels=True,
            android_flavor="lce",
            fine_tunes=True,
            wording=LayerWording(
                ": int8 weights and activations", _INT8_BINARY_WEIGHTS, binary_weight_bytes=1
            ),
        ),
        Target(
            "litert",
            "stock TFLite builtin ops only, int8 weights",
            _litert,
            runtime="tflite",
            binary_kernels=False,
            android_flavor="litert",
            wording=LayerWording(
                ": int8 weights",
                _INT8_BINARY_WEIGHTS,
                binary_weight_bytes=1,
                binary_layer="stock TFLite has no binary kernels: runs as "
                "CONV_2D with its +-1 weights stored as int8",
            ),
        ),
    ],
)
