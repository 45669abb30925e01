"""Check a converted model against its Keras original, and measure its accuracy.

    from converters import compare_keras_tflite, evaluate_tflite
    compare_keras_tflite(model, "out/model.tflite", x)   # {"top1_agreement", "max_abs_diff", "n"}
    evaluate_tflite("out/model.tflite", x, y)             # {"accuracy", "n", "runtime", ...}

Both run the ``.tflite`` through :func:`converters.open_runner`: guarded, with the runtime and
the kernel options a deployment would use (for LCE: the indirect BGEMM kernels), so the
agreement measured is that of those options.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from bnnkit.errors import InvalidInputError
from converters.runtime import Runner, open_runner

__all__ = ["compare_keras_tflite", "evaluate_tflite"]


def _runner(model_or_runner, **options) -> Runner:
    if isinstance(model_or_runner, Runner):
        return model_or_runner
    return open_runner(model_or_runner, **options)


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
    diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    return {
        "top1_agreement": float(np.mean(expected.argmax(-1) == actual.argmax(-1))),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "n": len(x),
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
