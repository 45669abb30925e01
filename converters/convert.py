"""The conversion pipeline: rewrite -> convert -> guard -> verify -> report -> write.

    import bnnkit
    from converters import convert_model
    report = convert_model(model, "out/", target="lce", calibration_x=x, calibration_y=y)
    # out/model.tflite and out/conversion.json; report is the same dict as conversion.json

Nothing is written unless every check passes: a layer that should run on binary kernels
but stays float raises :class:`~bnnkit.errors.UnsupportedModelError` (unless
``allow_float=True``), and an existing output is kept unless ``overwrite=True``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import bnnkit
from bnnkit.errors import InvalidInputError, OutputExistsError, UnsupportedModelError
from converters.flatbuffer import read_flatbuffer
from converters.guard import guard_model, sha256_bytes
from converters.macs import model_macs
from converters.report import REPORT_FORMAT_VERSION
from converters.rewrites import rewrite_model
from converters.runtime import RUNTIMES, open_runner
from converters.targets import TARGETS, ConverterInputs, Target, convert_float

MODEL_FILE = "model.tflite"
REPORT_FILE = "conversion.json"
RANDOM_CALIBRATION_IMAGES = 64


def _calibration(model, calibration_x):
    shape = tuple(int(d) for d in model.input_shape[1:])
    if calibration_x is None:
        rng = np.random.default_rng(0)
        return rng.uniform(-1, 1, (RANDOM_CALIBRATION_IMAGES, *shape)).astype(np.float32), \
            "random images (no calibration data given)"
    x = np.asarray(calibration_x)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise InvalidInputError(f"calibration images of shape {x.shape} do not match the "
                                f"model input (N, {', '.join(map(str, shape))})")
    if len(x) == 0:
        raise InvalidInputError("calibration_x is empty")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise InvalidInputError("calibration images contain NaN or Inf")
    return x, "calibration images"


def _layer_outcomes(macs: dict, histogram: dict, target: Target, tensor_names: list):
    """Which binary layers became binary kernels; the float layers and why."""
    binary = [layer for layer in macs["layers"] if layer["kind"] == "binary"]
    expected = sum(layer["binary_terms"] for layer in binary)
    produced = histogram.get("LceBconv2d", 0)
    float_layers, missing = [], []
    wording = target.wording
    if not target.binary_kernels:
        for layer in binary:
            float_layers.append({"layer": layer["name"], "kind": "binary",
                                 "reason": wording.binary_layer})
    elif produced < expected:
        # name matching first (the converter truncates names), then the count decides
        unmatched = [layer for layer in binary
                     if not any(f"/{layer['name']}/" in name for name in tensor_names)]
        suspects = unmatched if unmatched else binary
        for layer in suspects:
            missing.append(layer["name"])
            float_layers.append({"layer": layer["name"], "kind": "binary",
                                 "reason": f"should be binary, but LCE produced "
                                           f"{produced} LceBconv2d for {expected} binary "
                                           "convs: this layer did not become one"})
    for layer in macs["layers"]:
        if layer["kind"] == "float":
            float_layers.append({"layer": layer["name"], "kind": "float",
                                 "reason": "real-valued layer (inputs "
                                           f"{layer['input_bits']}-bit, weights "
                                           f"{layer['kernel_bits']}-bit)"
                                           + wording.float_layer})
        elif layer["kind"] == "binary_weight":
            packed = int(np.ceil(layer["params"] / 8))
            stored = layer["params"] * wording.binary_weight_bytes
            deploy = wording.binary_weight_conv
            float_layers.append({
                "layer": layer["name"], "kind": "binary_weight",
                "reason": (f"binary weights but real-valued inputs: no binary kernel "
                           f"applies (XNOR/popcount needs both binary), so it deploys as "
                           f"{deploy}, {stored:,} bytes of weights; a 1-bit packing "
                           f"would take {packed:,} bytes"),
                "stored_weight_bytes": stored, "packed_1bit_bytes": packed})
    return float_layers, missing, expected, produced


def convert_model(keras_model, output_dir, target: str = "lce", *, calibration_x=None,
                  calibration_y=None, allow_float: bool = False, overwrite: bool = False,
                  qat_data=None, qat_epochs: int = 0, rewrite: bool = True,
                  compare_float: bool = True, metadata: dict | None = None) -> dict:
    """Convert ``keras_model`` for ``target``, verify it and write it to ``output_dir``.

    # Arguments
        keras_model: a trained ``tf.keras`` model (bnnkit or plain Larq).
        output_dir: folder receiving ``model.tflite`` and ``conversion.json``.
        target: a name in :data:`converters.targets.TARGETS` (``lce``, ``int8``, ``litert``).
        calibration_x: float32 images, normalized as the model expects, for the agreement
            check (and the int8 ranges). Default: 64 random images in [-1, 1].
        calibration_y: their labels; adds Keras and TFLite accuracy to the report.
        allow_float: accept binary layers that LCE left in float (listed in the report).
        overwrite: replace an existing ``model.tflite``/``conversion.json``.
        qat_data: ``(x, y)`` training images/labels for the int8 target's QAT fine-tuning.
        qat_epochs: int8 target: epochs of QAT fine-tuning (0: range calibration only).
        rewrite: apply :mod:`converters.rewrites` first.
        compare_float: also convert the model in float to report the size ratio.
        metadata: extra fields copied into the report (e.g. method, dataset).

    # Returns
        The report (the content of ``conversion.json``, plus ``model_path``).

    # Raises
        OutputExistsError, UnsupportedModelError, InvalidInputError, InvalidModelFileError.
    """
    started = time.perf_counter()
    target_name = target
    chosen = TARGETS.get(target)
    output_dir = Path(output_dir)
    model_path, report_path = output_dir / MODEL_FILE, output_dir / REPORT_FILE
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputExistsError(f"{output_dir} exists and is not a folder")
    existing = [str(p) for p in (model_path, report_path) if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass "
                                "overwrite=True (--overwrite) to replace")
    if len(keras_model.inputs) != 1 or len(keras_model.outputs) != 1:
        raise UnsupportedModelError("only models with one input and one output are supported")
    x, data_kind = _calibration(keras_model, calibration_x)

    source_macs = model_macs(keras_model)
    converted_model, log, fast_path_warnings = (rewrite_model(keras_model) if rewrite
                                                else (keras_model, [], []))
    macs = model_macs(converted_model)
    converted = chosen.convert(converted_model, ConverterInputs(x, qat_data, int(qat_epochs)))
    converted_model, data, int8_info = converted.model, converted.data, converted.details

    runnable = set().union(*(runtime.custom_ops for runtime in RUNTIMES))
    unknown_ops = [op for op in read_flatbuffer(data).custom_ops if op not in runnable]
    if unknown_ops:
        raise UnsupportedModelError(
            f"the {target_name} converter left op(s) {', '.join(unknown_ops)} that no bnnkit "
            "runtime supports; replace the layer(s) using them")
    data, info = guard_model(data)
    histogram = info.op_histogram
    tensor_names = [tensor.name for op in info.operators if op.op == "LceBconv2d"
                    for tensor in (info.tensors[i] for i in op.inputs + op.outputs if i >= 0)]
    float_layers, missing, expected, produced = _layer_outcomes(macs, histogram, chosen,
                                                                tensor_names)
    if missing and not allow_float:
        raise UnsupportedModelError(
            f"{len(missing)} layer(s) that should run on binary kernels stayed float with "
            f"target {target}: {', '.join(missing)} (LCE produced {produced} LceBconv2d for "
            f"{expected} binary convs). Fix the model or pass --allow-float.")

    float_size = None
    if compare_float:
        float_size = len(convert_float(keras_model))
    runner = open_runner(data, runtime=chosen.runtime)
    from converters.verify import compare_keras_tflite

    agreement = compare_keras_tflite(converted_model, runner, x)
    agreement["data"] = data_kind
    if converted.details is not None and converted_model is not keras_model:
        original = compare_keras_tflite(keras_model, runner, x)
        agreement["original_model_top1_agreement"] = original["top1_agreement"]
        agreement["original_model_max_abs_diff"] = original["max_abs_diff"]
    accuracy = None
    if calibration_y is not None:
        y = np.asarray(calibration_y).reshape(-1)
        if len(y) != len(x):
            raise InvalidInputError(f"{len(x)} calibration images but {len(y)} labels")
        keras_out = keras_model.predict(x, batch_size=256, verbose=0)
        tflite_out = runner.predict(x)
        accuracy = {"keras": float(np.mean(keras_out.argmax(-1) == y)),
                    "tflite": float(np.mean(tflite_out.argmax(-1) == y)), "n": int(len(y))}
        accuracy["cost"] = accuracy["keras"] - accuracy["tflite"]

    executed_binary = macs["binary_macs"] if chosen.binary_kernels and not missing else 0
    total = macs["total_macs"]
    report = {
        "format_version": REPORT_FORMAT_VERSION,
        "model_file": MODEL_FILE,
        "sha256": sha256_bytes(data),
        "size_bytes": len(data),
        "float_size_bytes": float_size,
        "float_size_ratio": (float_size / len(data)) if float_size else None,
        "size": {"tflite_bytes": len(data), "float_tflite_bytes": float_size,
                 "ratio_vs_float": (float_size / len(data)) if float_size else None},
        "target": target,
        "runtime": runner.runtime,
        "kernel_options": dict(runner.options),
        "op_histogram": histogram,
        "custom_ops": info.custom_ops,
        "lce_bconv2d": {"expected": expected if chosen.binary_kernels else 0,
                        "produced": produced},
        "macs": {"binary_macs": executed_binary, "float_macs": total - executed_binary,
                 "total_macs": total,
                 "binary_fraction": executed_binary / total if total else 0.0,
                 "model_binary_fraction": macs["binary_fraction"],
                 "source_binary_fraction": source_macs["binary_fraction"],
                 "layers": macs["layers"]},
        "agreement": agreement,
        "accuracy": accuracy,
        "binary_layers": [] if not chosen.binary_kernels else [
            {"layer": layer["name"], "kernel": "LceBconv2d", "binary_convs": layer["binary_terms"]}
            for layer in macs["layers"] if layer["kind"] == "binary" and layer["name"] not in missing],
        "float_layers": float_layers,
        "rewrites": log,
        "warnings": fast_path_warnings,
        "int8": int8_info,
        "input_shape": [1, *[int(d) for d in keras_model.input_shape[1:]]],
        "bnnkit_version": bnnkit.__version__,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if metadata:
        report.update({k: v for k, v in metadata.items() if k not in report})
    from bnnkit.serialization import atomic_write_bytes, atomic_write_json

    atomic_write_bytes(model_path, data)
    atomic_write_json(report_path, report)
    return {**report, "model_path": str(model_path)}
