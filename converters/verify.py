"""Check a converted model against its Keras original, and measure its accuracy.

    from converters import compare_keras_tflite, evaluate_tflite
    compare_keras_tflite(model, "out/model.tflite", x)   # {"top1_agreement", "max_abs_diff", "n"}
    evaluate_tflite("out/model.tflite", x, y)             # {"accuracy", "n", "runtime", ...}

Both run the ``.tflite`` through :func:`converters.open_runner`: guarded, with the runtime and
the kernel options a deployment would use (for LCE: the indirect BGEMM kernels), so the
agreement measured is that of those options.

**The verification every conversion passes** (:func:`judge`, enforced by
:func:`converters.convert.convert_model`) compares the ``.tflite`` with the model the user
passed in, before any rewrite, so a rewrite that changes the function is caught here:

* on real images (a dataset is known): top-1 agreement >= ``min_agreement`` (99%) and the
  largest absolute output difference <= ``max_relative_diff`` times the output scale (the
  root mean square of the original outputs). The second bound catches a change that keeps
  the argmax, e.g. rescaled logits;
* on random images (no dataset): top-1 agreement means little there, so the criterion is
  elementwise and does not depend on which inputs sit near a decision boundary: at most
  ``max_fraction`` of the output elements may differ by more than ``tolerance`` times the
  output scale. Random-init binary networks break that through *sign ties* (pre-activations
  exactly 0, whose sign a rounding-sized difference flips, and the flip travels on), so when
  it fails, :func:`converters.explain.explain_model` compares every layer on the ``.tflite``'s
  own inputs: the conversion passes when every layer agrees there, and the report counts
  the sign ties that explain the output difference.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bnnkit.errors import InvalidInputError
from converters.runtime import Runner, open_runner

__all__ = [
    "Bounds",
    "compare_keras_tflite",
    "elementwise_disagreement",
    "evaluate_tflite",
    "judge",
    "judge_layers",
    "outputs_agreement",
]


def _runner(model_or_runner, **options) -> Runner:
    if isinstance(model_or_runner, Runner):
        return model_or_runner
    return open_runner(model_or_runner, **options)


def elementwise_disagreement(expected, actual, *, tolerance: float) -> dict:
    """How far ``actual`` is from ``expected``, elementwise, relative to ``expected``'s scale.

    ``scale`` is the root mean square of ``expected``; an element *differs* when
    ``|expected - actual| > tolerance * scale``. Unlike top-1 agreement this does not depend on
    which inputs happen to be near a decision boundary, so it is meaningful on random inputs.

    # Returns
        ``{"max_abs_diff", "scale", "relative_max_diff", "fraction_beyond", "tolerance",
        "elements"}``.
    """
    expected = np.asarray(expected, np.float64)
    actual = np.asarray(actual, np.float64)
    if expected.shape != actual.shape:
        raise InvalidInputError(
            f"outputs of shapes {expected.shape} and {actual.shape} cannot be compared"
        )
    scale = float(np.sqrt(np.mean(np.square(expected)))) if expected.size else 0.0
    scale = scale or 1.0
    diff = np.abs(expected - actual)
    max_diff = float(diff.max()) if diff.size else 0.0
    return {
        "max_abs_diff": max_diff,
        "scale": scale,
        "relative_max_diff": max_diff / scale,
        "fraction_beyond": float(np.mean(diff > tolerance * scale)) if diff.size else 0.0,
        "tolerance": float(tolerance),
        "elements": int(diff.size),
    }


def outputs_agreement(expected: np.ndarray, actual: np.ndarray) -> dict:
    """Top-1 agreement, max and mean abs difference and count of two output batches."""
    diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    return {
        "top1_agreement": float(np.mean(expected.argmax(-1) == actual.argmax(-1))),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "n": len(expected),
    }


def compare_keras_tflite(
    keras_model: Any,
    tflite_model: str | os.PathLike | bytes | Runner,
    x: Any,
    *,
    batch_size: int = 256,
    runtime: str = "auto",
    num_threads: int = 1,
) -> dict:
    """Top-1 agreement and max abs difference between Keras and TFLite outputs on ``x``.

    # Arguments
        keras_model: the Keras model that was converted.
        tflite_model: a path, bytes, or a runner from :func:`open_runner`.
        x: float32 NHWC images, normalized as the model expects.

    # Returns
        ``{"top1_agreement", "max_abs_diff", "mean_abs_diff", "n", "runtime", "options"}``.
    """
    runner = _runner(tflite_model, runtime=runtime, num_threads=num_threads)
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        raise InvalidInputError("no images to compare on")
    expected = np.asarray(keras_model.predict(x, batch_size=batch_size, verbose=0))
    actual = runner.predict(x, batch_size=batch_size)
    return {
        **outputs_agreement(expected, actual),
        "runtime": runner.runtime,
        "options": dict(runner.options),
    }


def evaluate_tflite(
    tflite_model: str | os.PathLike | bytes | Runner,
    x: Any,
    y: Any,
    *,
    num_threads: int = 1,
    batch_size: int = 256,
    runtime: str = "auto",
) -> dict:
    """Top-1 accuracy of a ``.tflite`` on ``(x, y)`` (x: float32 NHWC, y: int labels).

    # Returns
        ``{"accuracy", "n", "runtime", "options", "seconds", "ms_per_image"}``.
    """
    runner = _runner(tflite_model, runtime=runtime, num_threads=num_threads)
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x):
        raise InvalidInputError(f"{len(x)} images but {len(y)} labels")
    if len(y) == 0:
        raise InvalidInputError("no images to evaluate on")
    start = time.perf_counter()
    outputs = runner.predict(x, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return {
        "accuracy": float(np.mean(outputs.argmax(-1) == y)),
        "n": len(y),
        "runtime": runner.runtime,
        "options": dict(runner.options),
        "seconds": seconds,
        "ms_per_image": 1000 * seconds / len(y),
    }


#: Largest absolute output difference on real images, as a multiple of the output scale
#: (the RMS of the original outputs). Measured on LeNets trained 1 epoch on 2,000 MNIST
#: images, 1,000 test images, every method: lce <= 0.05x; among conversions with >= 99% top-1,
#: litert <= 0.35x and int8 <= 0.17x. A model whose logits are rescaled 3x (same argmax)
#: differs by 2x.
MAX_RELATIVE_DIFF = 1.0
#: On random images: an output element differs when it is off by more than ``tolerance``
#: times the output scale, and at most ``max_fraction`` of elements may differ. Measured on
#: random-init LeNets of every method, 64 random images: lce 0 elements beyond 1e-3x except
#: where sign ties flip bits (xnor, horq); litert <= 0.8% beyond 0.25x; int8 up to 10.6%
#: beyond 0.25x (those go on to the layer-by-layer check). Quantized targets round every
#: real-valued layer, so their tolerance is a quarter of the scale.
ELEMENTWISE_TOLERANCE = {"lce": 1e-3, "int8": 0.25, "litert": 0.25}
ELEMENTWISE_MAX_FRACTION = {"lce": 1e-3, "int8": 1e-2, "litert": 1e-2}
MAX_FRACTION = 1e-3


@dataclass(frozen=True)
class Bounds:
    """What a conversion must meet to be written (see the module docstring).

    # Arguments
        min_agreement: top-1 agreement with the original model on real images.
        max_relative_diff: max abs output difference / output scale on real images.
        tolerance: elementwise tolerance / output scale on random images.
        max_fraction: fraction of output elements allowed beyond the tolerance.
    """

    min_agreement: float = 0.99
    max_relative_diff: float = MAX_RELATIVE_DIFF
    tolerance: float = 1e-3
    max_fraction: float = MAX_FRACTION

    @classmethod
    def for_target(cls, target: str, *, min_agreement: float = 0.99) -> Bounds:
        if not 0.0 <= float(min_agreement) <= 1.0:
            raise InvalidInputError(f"min_agreement must be in [0, 1], got {min_agreement}")
        return cls(
            min_agreement=float(min_agreement),
            tolerance=ELEMENTWISE_TOLERANCE.get(target, 1e-3),
            max_fraction=ELEMENTWISE_MAX_FRACTION.get(target, MAX_FRACTION),
        )


def judge(original_outputs, tflite_outputs, *, real_data: bool, bounds: Bounds) -> dict:
    """Measure the ``.tflite``'s outputs against the original model's; pass or fail.

    # Returns
        The ``verification`` block of ``conversion.json``: the measured values
        (``original_model_top1_agreement``, ``original_model_max_abs_diff``,
        ``output_scale``, ``relative_max_diff``, ``fraction_beyond_tolerance``), the criterion
        used, the bounds, ``passed``, and ``failure`` (one line) when it did not pass.
    """
    expected = np.asarray(original_outputs)
    actual = np.asarray(tflite_outputs)
    elementwise = elementwise_disagreement(expected, actual, tolerance=bounds.tolerance)
    top1 = float(np.mean(expected.argmax(-1) == actual.argmax(-1)))
    result = {
        "reference": "the original Keras model, before rewrites",
        "criterion": "top1_and_max_diff" if real_data else "elementwise",
        "original_model_top1_agreement": top1,
        "original_model_max_abs_diff": elementwise["max_abs_diff"],
        "output_scale": elementwise["scale"],
        "relative_max_diff": elementwise["relative_max_diff"],
        "fraction_beyond_tolerance": elementwise["fraction_beyond"],
        "n": len(expected),
        "bounds": asdict(bounds),
    }
    failures = []
    if real_data:
        if top1 < bounds.min_agreement:
            failures.append(
                f"top-1 agreement {top1:.2%} < {bounds.min_agreement:.2%} (--min-agreement)"
            )
        if elementwise["relative_max_diff"] > bounds.max_relative_diff:
            failures.append(
                f"max abs output difference {elementwise['max_abs_diff']:.3g} is "
                f"{elementwise['relative_max_diff']:.3g}x the output scale "
                f"{elementwise['scale']:.3g} > {bounds.max_relative_diff:g}x"
            )
    elif elementwise["fraction_beyond"] > bounds.max_fraction:
        failures.append(
            f"{elementwise['fraction_beyond']:.2%} of output elements differ by "
            f"more than {bounds.tolerance:g}x the output scale (bound "
            f"{bounds.max_fraction:.2%})"
        )
    result["passed"] = not failures
    result["failure"] = "; ".join(failures) or None
    return result


def judge_layers(explanation: dict, bounds: Bounds) -> tuple[bool, str | None]:
    """Tie-aware pass on random images: every compared layer agrees on the ``.tflite``'s own
    inputs (:func:`converters.explain.explain_model`'s local comparison)."""
    for row in explanation["layers"]:
        local = row.get("local")
        if local and local["fraction_beyond"] > bounds.max_fraction:
            return False, (
                f"layer {row['layer']} ({row.get('op')}) disagrees with Keras on "
                f"its own inputs: {local['fraction_beyond']:.2%} of its elements "
                f"beyond {bounds.tolerance:g}x its scale (a conversion fault)"
            )
    return True, None
