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
* :func:`verify` runs the ``.tflite`` on the calibration images beside the original Keras
  model (before rewrites) and judges it (:mod:`converters.verify`); :func:`tie_check`
  re-examines a failure on random images layer by layer; :func:`enforce` refuses a
  conversion that failed (:class:`~bnnkit.errors.DisagreementError`);
* :func:`build_report` assembles ``conversion.json``;
* :func:`write` writes the model and the report, atomically.

Nothing is written unless every check passes: a conversion that fails verification
raises :class:`~bnnkit.errors.DisagreementError` (unless ``allow_disagreement=True``), a
layer that should run on binary kernels but stays float raises
:class:`~bnnkit.errors.UnsupportedModelError` (unless ``allow_float=True``), and an
existing output is kept unless ``overwrite=True``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import bnnkit
from bnnkit.errors import (
    DisagreementError,
    InvalidInputError,
    OutputExistsError,
    UnsupportedModelError,
)
from bnnkit.serialization import atomic_write_bytes, atomic_write_json
from converters.flatbuffer import FlatbufferInfo, read_flatbuffer
from converters.guard import guard_model, sha256_bytes
from converters.macs import model_macs
from converters.report import REPORT_FORMAT_VERSION
from converters.rewrites import rewrite_model
from converters.runtime import RUNTIMES, open_runner
from converters.seal import seal_model
from converters.targets import TARGETS, Converted, ConverterInputs, Target, convert_float
from converters.verify import Bounds, judge, judge_layers, outputs_agreement

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
    "convert_submodel",
    "enforce",
    "guard",
    "rewrite",
    "seal",
    "tie_check",
    "verify",
    "write",
]

MODEL_FILE = "model.tflite"
REPORT_FILE = "conversion.json"
RANDOM_CALIBRATION_IMAGES = 64
TIE_CHECK_IMAGES = 8  # images the layer-by-layer tie check runs (it converts a sub-model per cut)


@dataclass(frozen=True)
class Calibration:
    """The images conversion is checked on (and the int8 ranges set from).

    # Arguments
        x: float32 images, normalized as the model expects.
        y: their labels, or None.
        kind: what the images are, for the report.
        real: real images (the verification's top-1 criterion) rather than random ones
            (its elementwise, tie-aware criterion).
    """

    x: np.ndarray
    y: np.ndarray | None
    kind: str
    real: bool = True


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
        agreement: top-1 agreement and output differences between the original model and
            the ``.tflite`` (and the converted Keras model, when the target converted a
            transformed copy), plus the kind of images.
        accuracy: Keras and TFLite accuracy when the images have labels, else None.
        checks: the judgement (:func:`converters.verify.judge`): measured values, bounds,
            ``passed`` and the one-line ``failure``.
    """

    runtime: str
    kernel_options: dict
    agreement: dict
    accuracy: dict | None = field(default=None)
    checks: dict = field(default_factory=dict)


def calibration(model: Any, calibration_x: Any = None, calibration_y: Any = None) -> Calibration:
    """Check the calibration images against the model's input; random ones when None.

    # Raises
        InvalidInputError: wrong shape, empty, NaN/Inf, or a label count that differs.
    """
    shape = tuple(int(d) for d in model.input_shape[1:])
    if calibration_x is None:
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (RANDOM_CALIBRATION_IMAGES, *shape)).astype(np.float32)
        return Calibration(x, None, "random images (no calibration data given)", real=False)
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


def _input_kind(layer: dict) -> str:
    bits = layer["input_bits"]
    return "real-valued" if bits >= 32 else f"{bits}-bit (k-bit, not binary)"


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
                        f"binary weights but {_input_kind(layer)} inputs: no binary kernel "
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


def tie_check(
    keras_model: Any,
    target: Target,
    calibration: Calibration,
    verification: Verification,
    bounds: Bounds,
    converted: Converted | None = None,
) -> None:
    """Random images failed the elementwise check: compare layer by layer
    (:func:`converters.explain.explain_model`, cut where values are rounded, and layer by
    layer where a local comparison fails) and pass when every compared layer agrees on the
    ``.tflite``'s own inputs; the sign ties that explain the output difference are counted.
    The cut at the output reuses ``converted`` (the model being verified).
    Updates ``verification.checks``."""
    from converters.explain import explain_model

    def convert_cut(submodel: Any, target_name: str) -> bytes:
        if converted is not None and submodel.outputs[0] is keras_model.outputs[0]:
            return converted.data
        return convert_submodel(submodel, target_name)

    checks = verification.checks
    started = time.perf_counter()
    explanation = explain_model(
        keras_model,
        calibration.x[:TIE_CHECK_IMAGES],
        convert=convert_cut,
        target=target.name,
        bounds=bounds,
        stop_after=None,
        cuts="quantizer_inputs",
    )
    passed, failure = judge_layers(explanation, bounds)
    divergence = explanation["first_divergence"] or {}
    checks["tie_check"] = {
        "passed": passed,
        "images": explanation["images"],
        "cuts": explanation["cuts"],
        "layers_compared": len(explanation["layers"]),
        "sign_ties": explanation["sign_ties"],
        "first_divergence": {key: divergence.get(key) for key in ("layer", "op", "verdict")},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if passed:
        checks.update(passed=True, failure=None, criterion="elementwise_tie_aware")
    else:
        checks["failure"] = f"{checks['failure']}; {failure}"


def verify(
    keras_model: Any,
    rewritten: Rewritten,
    converted: Converted,
    target: Target,
    calibration: Calibration,
    bounds: Bounds | None = None,
) -> Verification:
    """Run the ``.tflite`` on ``target``'s runtime beside the original Keras model (the one the
    user passed, before rewrites) on the calibration images and judge it
    (:func:`converters.verify.judge`). Also reports the agreement with the Keras model the
    target converted when that is a transformed copy, and accuracies when there are labels.
    Nothing is raised here: :func:`enforce` decides, after :func:`tie_check` when random
    images failed the elementwise check."""
    bounds = bounds or Bounds.for_target(target.name)
    runner = open_runner(converted.data, runtime=target.runtime)
    original = np.asarray(keras_model.predict(calibration.x, batch_size=256, verbose=0))
    tflite = runner.predict(calibration.x)
    agreement = {
        **outputs_agreement(original, tflite),
        "reference": "original model",
        "data": calibration.kind,
        "runtime": runner.runtime,
        "options": dict(runner.options),
    }
    if converted.model is not keras_model:
        converted_out = np.asarray(
            converted.model.predict(calibration.x, batch_size=256, verbose=0)
        )
        agreement["converted_model"] = outputs_agreement(converted_out, tflite)
    checks = judge(original, tflite, real_data=calibration.real, bounds=bounds)
    checks["data"] = calibration.kind
    accuracy = None
    if calibration.y is not None:
        accuracy = {
            "keras": float(np.mean(original.argmax(-1) == calibration.y)),
            "tflite": float(np.mean(tflite.argmax(-1) == calibration.y)),
            "n": len(calibration.y),
        }
        accuracy["cost"] = accuracy["keras"] - accuracy["tflite"]
    return Verification(runner.runtime, dict(runner.options), agreement, accuracy, checks)


def enforce(
    verification: Verification, calibration: Calibration, *, allow_disagreement: bool = False
) -> None:
    """Refuse a conversion that failed its verification (unless ``allow_disagreement``).

    # Raises
        DisagreementError: one line with the measured values and the bounds.
    """
    checks = verification.checks
    checks["allowed_disagreement"] = bool(allow_disagreement and not checks["passed"])
    if checks["passed"] or allow_disagreement:
        return
    raise DisagreementError(
        f"the .tflite does not match the original Keras model on {checks['n']} "
        f"{calibration.kind}: {checks['failure']}; nothing written "
        "(--allow-disagreement writes it anyway, marked in the report)"
    )


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
        "verification": verification.checks,
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


def convert_submodel(keras_model: Any, target: str) -> bytes:
    """:func:`convert_keras_model` with binary layers allowed to stay float: how
    :func:`converters.explain.explain_model` converts each cut of a model."""
    return convert_keras_model(keras_model, target=target, allow_float=True)


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
    min_agreement: float = 0.99,
    allow_disagreement: bool = False,
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
        min_agreement: the top-1 agreement with ``keras_model`` required on real images
            (see :mod:`converters.verify` for every bound).
        allow_disagreement: write the model even when it fails verification; the report's
            ``verification.allowed_disagreement`` is then true.

    # Returns
        The report (the content of ``conversion.json``, plus ``model_path``).
        ``report["verification"]["original_model_top1_agreement"]`` is the top-1 agreement
        between ``keras_model`` (before any rewrite) and the ``.tflite``.

    # Raises
        OutputExistsError, UnsupportedModelError, InvalidInputError, InvalidModelFileError,
        DisagreementError (verification failed; nothing written).
    """
    started = time.perf_counter()
    chosen = TARGETS.get(target)
    bounds = Bounds.for_target(chosen.name, min_agreement=min_agreement)
    _output_paths(output_dir, overwrite)
    checked = calibration(keras_model, calibration_x, calibration_y)
    inputs = ConverterInputs(checked.x, qat_data, int(qat_epochs))
    rewritten, converted, guarded = _checked_bytes(
        keras_model, chosen, checked, inputs, rewrite_first=rewrite, allow_float=allow_float
    )
    float_size = len(convert_float(keras_model)) if compare_float else None
    verification = verify(keras_model, rewritten, converted, chosen, checked, bounds)
    if not verification.checks["passed"] and not checked.real and not allow_disagreement:
        tie_check(keras_model, chosen, checked, verification, bounds, converted)
    enforce(verification, checked, allow_disagreement=allow_disagreement)
    report = build_report(chosen, rewritten, converted, guarded, verification, float_size)
    report["seconds"] = round(time.perf_counter() - started, 2)
    report.update({k: v for k, v in (metadata or {}).items() if k not in report})
    model_path = write(output_dir, guarded.data, report, overwrite=overwrite)
    return {**report, "model_path": str(model_path)}
