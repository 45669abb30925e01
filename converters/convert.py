"""The conversion pipeline: rewrite -> convert -> seal -> guard -> verify -> report -> write.

    import bnnkit
    from converters import convert_model, convert_keras_model

    report = convert_model(model, "out/", target="lce", calibration_x=x, calibration_y=y)
    # out/model.tflite and out/conversion.json; report is the same dict as conversion.json

    data = convert_keras_model(model, target="lce")   # the .tflite bytes only, nothing written

Each step is a function of its own:

* :func:`rewrite` makes the model convertible (:mod:`converters.rewrites`);
* :func:`convert` runs the target's converter (:mod:`converters.targets`);
* :func:`seal` embeds the model's content digest in its ``metadata`` table, so that the file
  checks itself wherever it is copied (:mod:`converters.seal`);
* :func:`guard` checks the bytes (structure, ops some runtime has, a trial run) and that
  every binary layer became a binary kernel where the target has them;
* :func:`verify` runs the ``.tflite`` on the calibration images beside the Keras model;
* :func:`build_report` assembles ``conversion.json``;
* :func:`write` writes the model and the report, atomically.

Nothing is written unless every check passes: a layer that should run on binary kernels
but stays float raises :class:`~bnnkit.errors.UnsupportedModelError` (unless
``allow_float=True``), and an existing output is kept unless ``overwrite=True``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import bnnkit
from bnnkit.errors import InvalidInputError, OutputExistsError, UnsupportedModelError
from bnnkit.serialization import atomic_write_bytes, atomic_write_json
from converters.flatbuffer import FlatbufferInfo, read_flatbuffer
from converters.guard import guard_model, sha256_bytes
from converters.macs import model_macs
from converters.report import REPORT_FORMAT_VERSION
from converters.rewrites import rewrite_model
from converters.runtime import RUNTIMES, open_runner
from converters.seal import seal_model
from converters.targets import TARGETS, Converted, ConverterInputs, Target, convert_float
from converters.verify import compare_keras_tflite

__all__ = [
    "MODEL_FILE",
    "REPORT_FILE",
    "Calibration",
    "Guarded",
    "Rewritten",
    "Verification",
    "build_report",
    "calibration",
    "convert",
    "convert_keras_model",
    "convert_model",
    "guard",
    "rewrite",
    "seal",
    "verify",
    "write",
]

MODEL_FILE = "model.tflite"
REPORT_FILE = "conversion.json"
RANDOM_CALIBRATION_IMAGES = 64


@dataclass(frozen=True)
class Calibration:
    """The images conversion is checked on (and the int8 ranges set from).

    # Arguments
        x: float32 images, normalized as the model expects.
        y: their labels, or None.
        kind: what the images are, for the report.
    """

    x: np.ndarray
    y: np.ndarray | None
    kind: str


@dataclass(frozen=True)
class Rewritten:
    """The model the target converts, what the rewrites did, and the MACs before and after."""

    model: Any
    log: list
    warnings: list
    source_macs: dict
    macs: dict


@dataclass(frozen=True)
class Guarded:
    """Checked ``.tflite`` bytes and what became of each layer.

    # Arguments
        data: the model bytes.
        info: the flatbuffer as read by the guard.
        float_layers: the layers that do not run on binary kernels, each with its reason.
        missing: binary layers that should have become ``LceBconv2d`` and did not.
        expected: ``LceBconv2d`` ops the binary layers should give.
        produced: ``LceBconv2d`` ops in the model.
    """

    data: bytes
    info: FlatbufferInfo
    float_layers: list
    missing: list
    expected: int
    produced: int


@dataclass(frozen=True)
class Verification:
    """The ``.tflite`` run beside the Keras model on the calibration images.

    # Arguments
        runtime: the runtime it ran on.
        kernel_options: that runtime's options.
        agreement: top-1 agreement and output differences (see
            :func:`converters.verify.compare_keras_tflite`), plus the kind of images.
        accuracy: Keras and TFLite accuracy when the images have labels, else None.
    """

    runtime: str
    kernel_options: dict
    agreement: dict
    accuracy: dict | None = field(default=None)


def calibration(model: Any, calibration_x: Any = None, calibration_y: Any = None) -> Calibration:
    """Check the calibration images against the model's input; random ones when None.

    # Raises
        InvalidInputError: wrong shape, empty, NaN/Inf, or a label count that differs.
    """
    shape = tuple(int(d) for d in model.input_shape[1:])
    if calibration_x is None:
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (RANDOM_CALIBRATION_IMAGES, *shape)).astype(np.float32)
        return Calibration(x, None, "random images (no calibration data given)")
    x = np.asarray(calibration_x)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise InvalidInputError(
            f"calibration images of shape {x.shape} do not match the "
            f"model input (N, {', '.join(map(str, shape))})"
        )
    if len(x) == 0:
        raise InvalidInputError("calibration_x is empty")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise InvalidInputError("calibration images contain NaN or Inf")
    y = None
    if calibration_y is not None:
        y = np.asarray(calibration_y).reshape(-1)
        if len(y) != len(x):
            raise InvalidInputError(f"{len(x)} calibration images but {len(y)} labels")
    return Calibration(x, y, "calibration images")


def rewrite(model: Any, *, enabled: bool = True) -> Rewritten:
    """Apply :func:`converters.rewrites.rewrite_model` (unless disabled); count MACs."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedModelError("only models with one input and one output are supported")
    source_macs = model_macs(model)
    rewritten, log, warnings = rewrite_model(model) if enabled else (model, [], [])
    return Rewritten(rewritten, log, warnings, source_macs, model_macs(rewritten))


def convert(rewritten: Rewritten, target: Target, inputs: ConverterInputs) -> Converted:
    """Run ``target``'s converter on the rewritten model."""
    return target.convert(rewritten.model, inputs)


def seal(converted: Converted) -> Converted:
    """The converted model with its content digest embedded (:func:`converters.seal.seal_model`);
    everything after this step (guard, verify, the report's sha256, write) sees these bytes."""
    return dataclasses.replace(converted, data=seal_model(converted.data))


def _binary_kernel_outcomes(
    macs: dict, produced: int, target: Target, tensor_names: list
) -> tuple[list, list]:
    """The binary layers that do not run on binary kernels (with reasons), and the names of
    those that should have become ``LceBconv2d`` and did not."""
    binary = [layer for layer in macs["layers"] if layer["kind"] == "binary"]
    expected = sum(layer["binary_terms"] for layer in binary)
    if not target.binary_kernels:
        return [
            {"layer": layer["name"], "kind": "binary", "reason": target.wording.binary_layer}
            for layer in binary
        ], []
    if produced >= expected:
        return [], []
    # name matching first (the converter truncates names), then the count decides
    unmatched = [
        layer for layer in binary if not any(f"/{layer['name']}/" in name for name in tensor_names)
    ]
    missing = [layer["name"] for layer in (unmatched or binary)]
    reason = (
        f"should be binary, but LCE produced {produced} LceBconv2d for {expected} "
        "binary convs: this layer did not become one"
    )
    return [{"layer": name, "kind": "binary", "reason": reason} for name in missing], missing


def _real_valued_outcomes(macs: dict, target: Target) -> list:
    """The real-valued and binary-weight/real-input layers, each with how it deploys."""
    wording, outcomes = target.wording, []
    for layer in macs["layers"]:
        if layer["kind"] == "float":
            outcomes.append(
                {
                    "layer": layer["name"],
                    "kind": "float",
                    "reason": f"real-valued layer (inputs {layer['input_bits']}-bit, "
                    f"weights {layer['kernel_bits']}-bit)" + wording.float_layer,
                }
            )
        elif layer["kind"] == "binary_weight":
            packed = int(np.ceil(layer["params"] / 8))
            stored = layer["params"] * wording.binary_weight_bytes
            outcomes.append(
                {
                    "layer": layer["name"],
                    "kind": "binary_weight",
                    "reason": (
                        f"binary weights but real-valued inputs: no binary kernel "
                        f"applies (XNOR/popcount needs both binary), so it deploys as "
                        f"{wording.binary_weight_conv}, {stored:,} bytes of weights; a "
                        f"1-bit packing would take {packed:,} bytes"
                    ),
                    "stored_weight_bytes": stored,
                    "packed_1bit_bytes": packed,
                }
            )
    return outcomes


def guard(
    converted: Converted, target: Target, macs: dict, *, allow_float: bool = False
) -> Guarded:
    """Check the converted bytes: ops some runtime has, structure and a trial run
    (:func:`converters.guard.guard_model`), and binary layers on binary kernels.

    # Raises
        UnsupportedModelError: ops no runtime has, or binary layers left in float (unless
            ``allow_float``).
        InvalidModelFileError: the bytes are not a valid model or crash a trial run.
    """
    runnable = set().union(*(runtime.custom_ops for runtime in RUNTIMES))
    unknown_ops = [op for op in read_flatbuffer(converted.data).custom_ops if op not in runnable]
    if unknown_ops:
        raise UnsupportedModelError(
            f"the {target.name} converter left op(s) {', '.join(unknown_ops)} that no bnnkit "
            "runtime supports; replace the layer(s) using them"
        )
    data, info = guard_model(converted.data)
    produced = info.op_histogram.get("LceBconv2d", 0)
    expected = sum(layer["binary_terms"] for layer in macs["layers"] if layer["kind"] == "binary")
    tensor_names = [
        tensor.name
        for op in info.operators
        if op.op == "LceBconv2d"
        for tensor in (info.tensors[i] for i in op.inputs + op.outputs if i >= 0)
    ]
    binary_layers, missing = _binary_kernel_outcomes(macs, produced, target, tensor_names)
    if missing and not allow_float:
        raise UnsupportedModelError(
            f"{len(missing)} layer(s) that should run on binary kernels stayed float with "
            f"target {target.name}: {', '.join(missing)} (LCE produced {produced} LceBconv2d "
            f"for {expected} binary convs). Fix the model or pass --allow-float."
        )
    float_layers = binary_layers + _real_valued_outcomes(macs, target)
    return Guarded(data, info, float_layers, missing, expected, produced)


def verify(
    keras_model: Any,
    rewritten: Rewritten,
    converted: Converted,
    target: Target,
    calibration: Calibration,
) -> Verification:
    """Run the ``.tflite`` on ``target``'s runtime beside the Keras models on the calibration
    images: agreement with the model the target converted (and with ``keras_model`` too when
    the target converted a transformed copy, e.g. int8's QAT model), and Keras vs TFLite
    accuracy when there are labels."""
    runner = open_runner(converted.data, runtime=target.runtime)
    agreement = compare_keras_tflite(converted.model, runner, calibration.x)
    agreement["data"] = calibration.kind
    if converted.model is not rewritten.model and converted.model is not keras_model:
        original = compare_keras_tflite(keras_model, runner, calibration.x)
        agreement["original_model_top1_agreement"] = original["top1_agreement"]
        agreement["original_model_max_abs_diff"] = original["max_abs_diff"]
    accuracy = None
    if calibration.y is not None:
        keras_out = keras_model.predict(calibration.x, batch_size=256, verbose=0)
        tflite_out = runner.predict(calibration.x)
        accuracy = {
            "keras": float(np.mean(keras_out.argmax(-1) == calibration.y)),
            "tflite": float(np.mean(tflite_out.argmax(-1) == calibration.y)),
            "n": len(calibration.y),
        }
        accuracy["cost"] = accuracy["keras"] - accuracy["tflite"]
    return Verification(runner.runtime, dict(runner.options), agreement, accuracy)


def _size(data: bytes, float_size: int | None) -> dict:
    return {
        "tflite_bytes": len(data),
        "float_tflite_bytes": float_size,
        "ratio_vs_float": (float_size / len(data)) if float_size else None,
    }


def _macs(rewritten: Rewritten, guarded: Guarded, target: Target) -> dict:
    macs = rewritten.macs
    executed = macs["binary_macs"] if target.binary_kernels and not guarded.missing else 0
    total = macs["total_macs"]
    return {
        "binary_macs": executed,
        "float_macs": total - executed,
        "total_macs": total,
        "binary_fraction": executed / total if total else 0.0,
        "model_binary_fraction": macs["binary_fraction"],
        "source_binary_fraction": rewritten.source_macs["binary_fraction"],
        "layers": macs["layers"],
    }


def build_report(
    target: Target,
    rewritten: Rewritten,
    converted: Converted,
    guarded: Guarded,
    verification: Verification,
    float_size: int | None,
) -> dict:
    """The content of ``conversion.json`` (format :data:`REPORT_FORMAT_VERSION`)."""
    data, info = guarded.data, guarded.info
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "model_file": MODEL_FILE,
        "sha256": sha256_bytes(data),
        "size": _size(data, float_size),
        "target": target.name,
        "runtime": verification.runtime,
        "kernel_options": verification.kernel_options,
        "op_histogram": info.op_histogram,
        "custom_ops": info.custom_ops,
        "lce_bconv2d": {
            "expected": guarded.expected if target.binary_kernels else 0,
            "produced": guarded.produced,
        },
        "macs": _macs(rewritten, guarded, target),
        "agreement": verification.agreement,
        "accuracy": verification.accuracy,
        "binary_layers": []
        if not target.binary_kernels
        else [
            {"layer": layer["name"], "kernel": "LceBconv2d", "binary_convs": layer["binary_terms"]}
            for layer in rewritten.macs["layers"]
            if layer["kind"] == "binary" and layer["name"] not in guarded.missing
        ],
        "float_layers": guarded.float_layers,
        "rewrites": rewritten.log,
        "warnings": rewritten.warnings,
        "int8": converted.details,
        "input_shape": [1, *[int(d) for d in rewritten.model.input_shape[1:]]],
        "bnnkit_version": bnnkit.__version__,
    }


def _output_paths(output_dir: str | Path, overwrite: bool) -> tuple[Path, Path]:
    """``(model_path, report_path)`` in ``output_dir``; refuses to replace without
    ``overwrite`` (checked before any conversion work)."""
    output_dir = Path(output_dir)
    model_path, report_path = output_dir / MODEL_FILE, output_dir / REPORT_FILE
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputExistsError(f"{output_dir} exists and is not a folder")
    existing = [str(p) for p in (model_path, report_path) if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{', '.join(existing)} already exist(s); pass overwrite=True (--overwrite) to replace"
        )
    return model_path, report_path


def write(output_dir: str | Path, data: bytes, report: dict, *, overwrite: bool = False) -> Path:
    """Write ``model.tflite`` and ``conversion.json`` atomically; return the model path."""
    model_path, report_path = _output_paths(output_dir, overwrite)
    atomic_write_bytes(model_path, data)
    atomic_write_json(report_path, report)
    return model_path


def _checked_bytes(
    keras_model: Any,
    target: Target,
    calibration: Calibration,
    inputs: ConverterInputs,
    *,
    rewrite_first: bool,
    allow_float: bool,
) -> tuple[Rewritten, Converted, Guarded]:
    """rewrite -> convert -> seal -> guard: the steps both public functions share."""
    rewritten = rewrite(keras_model, enabled=rewrite_first)
    converted = seal(convert(rewritten, target, inputs))
    return rewritten, converted, guard(converted, target, rewritten.macs, allow_float=allow_float)


def convert_keras_model(
    keras_model: Any,
    *,
    target: str = "lce",
    calibration_x: Any = None,
    qat_data: tuple | None = None,
    qat_epochs: int = 0,
    rewrite: bool = True,
    allow_float: bool = False,
) -> bytes:
    """Convert ``keras_model`` for ``target`` and return the checked ``.tflite`` bytes.

    The rewrite, convert, seal and guard steps of :func:`convert_model`, without
    verification, report or files.

    # Example
        data = convert_keras_model(model, target="litert")
        Path("model.tflite").write_bytes(data)

    # Arguments
        keras_model: a ``tf.keras`` model.
        target: a name in :data:`converters.targets.TARGETS`.
        calibration_x: images for the int8 ranges (default: 64 random images in [-1, 1]).
        qat_data, qat_epochs: the int8 target's QAT fine-tuning.
        rewrite: apply :mod:`converters.rewrites` first.
        allow_float: accept binary layers that stay float.

    # Returns
        The ``.tflite`` bytes.
    """
    chosen = TARGETS.get(target)
    checked = calibration(keras_model, calibration_x)
    inputs = ConverterInputs(checked.x, qat_data, int(qat_epochs))
    *_, guarded = _checked_bytes(
        keras_model, chosen, checked, inputs, rewrite_first=rewrite, allow_float=allow_float
    )
    return guarded.data


def convert_model(
    keras_model: Any,
    output_dir: str | Path,
    target: str = "lce",
    *,
    calibration_x: Any = None,
    calibration_y: Any = None,
    allow_float: bool = False,
    overwrite: bool = False,
    qat_data: tuple | None = None,
    qat_epochs: int = 0,
    rewrite: bool = True,
    compare_float: bool = True,
    metadata: dict | None = None,
) -> dict:
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
    chosen = TARGETS.get(target)
    _output_paths(output_dir, overwrite)
    checked = calibration(keras_model, calibration_x, calibration_y)
    inputs = ConverterInputs(checked.x, qat_data, int(qat_epochs))
    rewritten, converted, guarded = _checked_bytes(
        keras_model, chosen, checked, inputs, rewrite_first=rewrite, allow_float=allow_float
    )
    float_size = len(convert_float(keras_model)) if compare_float else None
    verification = verify(keras_model, rewritten, converted, chosen, checked)
    report = build_report(chosen, rewritten, converted, guarded, verification, float_size)
    report["seconds"] = round(time.perf_counter() - started, 2)
    report.update({k: v for k, v in (metadata or {}).items() if k not in report})
    model_path = write(output_dir, guarded.data, report, overwrite=overwrite)
    return {**report, "model_path": str(model_path)}
