"""bnnkit's deployment side: Keras model -> verified ``.tflite`` for every target.

    import bnnkit  # first: selects Keras 2
    from converters import convert_model, open_runner, evaluate_tflite

    report = convert_model(model, "out/", target="lce", calibration_x=x, calibration_y=y)
    runner = open_runner("out/model.tflite")     # guarded; LCE interpreter for LCE ops
    probabilities = runner.predict(x)

Modules (one responsibility each): :mod:`~converters.flatbuffer` (schema reader),
:mod:`~converters.guard` (validation before any interpreter), :mod:`~converters.runtime`
(runners), :mod:`~converters.macs`, :mod:`~converters.rewrites`, :mod:`~converters.targets`,
:mod:`~converters.convert` (the pipeline), :mod:`~converters.verify`,
:mod:`~converters.report` (``conversion.json`` and the printed table),
:mod:`~converters.bundle` (deployment bundles: the one reader and writer),
:mod:`~converters.predict` (top-k classes of image files, for ``bnnkit predict`` and the Pi),
:mod:`~converters.android` (a bundle into the Android app's assets).

Names are imported lazily, so ``import converters.guard`` or ``converters.bundle`` does not
import TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "convert_model": "converters.convert",
    "convert_keras_model": "converters.convert",
    "TARGETS": "converters.targets",
    "Target": "converters.targets",
    "RUNTIMES": "converters.runtime",
    "Runtime": "converters.runtime",
    "choose_runtime": "converters.runtime",
    "open_runner": "converters.runtime",
    "LCE_KERNEL_OPTIONS": "converters.runtime",
    "evaluate_tflite": "converters.verify",
    "compare_keras_tflite": "converters.verify",
    "guard_model": "converters.guard",
    "read_flatbuffer": "converters.flatbuffer",
    "write_bundle": "converters.bundle",
    "read_bundle": "converters.bundle",
    "format_table": "converters.report",
    "predict_images": "converters.predict",
    "export_android": "converters.android",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'converters' has no attribute {name!r}")
