"""Top-k classes of real image files on a bundle or a bare ``.tflite``: the prediction library
behind ``bnnkit predict`` and the Raspberry Pi runner (``pi/run_litert.py``).

    from converters.predict import predict_images
    report = predict_images("runs/mnist-bnn/bundle", ["digit.png"], top_k=3)
    report["predictions"][0]["top_k"]    # [{"index", "label", "probability"}, ...], best first

A bundle (``docs/bundle-format.md``) says everything: the input shape, colour mode,
normalization, output activation and class names. Each image file (PNG, JPEG, ... of any size
and mode: grayscale, RGBA, palette, 16-bit, CMYK) goes through :mod:`bnnkit.imaging`, the
reference preprocessing that the Android app matches. :func:`predict_images` runs the model on
the runtime that fits it (:func:`converters.runtime.open_runner`); the other functions take any
``predict`` callable, so the Pi runner uses them with its own interpreter.

A bare ``.tflite`` has no metadata: the input shape comes from the model and the rest from
:func:`converters.bundle.default_input_spec` (1 channel is ``grayscale``, 3 are ``rgb``, pixels
normalized to [-1, 1] as bnnkit trains), outputs that are not already probabilities go
through a softmax, and classes are named by their index. Each assumption is recorded as a note.

This module imports numpy, Pillow (through :mod:`bnnkit.imaging`) and the ``tflite`` schema
package, never TensorFlow: a Pi installs bnnkit without its training dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bnnkit import imaging
from bnnkit.errors import InvalidInputError, InvalidModelFileError, UnsupportedModelError
from converters.bundle import default_input_spec, read_bundle
from converters.runtime import AUTO, Runner, open_runner

__all__ = [
    "ModelSpec",
    "bare_model_spec",
    "bundle_spec",
    "check_images_exist",
    "format_text",
    "predict_files",
    "predict_images",
    "resolve_model",
    "scores_to_top_k",
    "to_report",
]

_SOFTMAX_TOLERANCE = 1e-3


@dataclass
class ModelSpec:
    """What running a model on an image needs, from a bundle or inferred from a bare model.

    # Arguments
    model_path: the ``.tflite`` file.
    input: ``metadata["input"]`` (see :func:`bnnkit.imaging.check_input_spec`).
    classes: one name per output, in output order.
    activation: ``"softmax"`` (outputs are probabilities), ``"linear"`` (logits), or ``None``
        when unknown (a bare model: decided from the first output, see :func:`scores_to_top_k`).
    """

    model_path: Path
    input: dict
    classes: list[str] | None
    activation: str | None
    name: str = ""
    target: str | None = None
    runtime: str | None = None
    notes: list[str] = field(default_factory=list)


def bundle_spec(folder: str | Path) -> ModelSpec:
    """Read a bundle folder (``model.tflite``, ``labels.txt``, ``metadata.json``).

    The files are validated by :func:`converters.bundle.read_bundle` (format version, labels
    against the model's outputs, ``model_sha256``, flatbuffer structure, ops against the
    declared runtime), and the input spec by :func:`bnnkit.imaging.check_input_spec`.

    # Returns
    A :class:`ModelSpec`.

    # Raises
    InvalidModelFileError: a file is missing, or the metadata is malformed or inconsistent.
    """
    bundle = read_bundle(folder)
    metadata = bundle.metadata
    imaging.check_input_spec(metadata.get("input"))
    activation = (metadata.get("output") or {}).get("activation", "softmax")
    if activation not in imaging.ACTIVATIONS:
        raise InvalidModelFileError(
            f"{folder}: metadata output.activation {activation!r} is "
            f"not one of {list(imaging.ACTIVATIONS)}"
        )
    return ModelSpec(
        model_path=bundle.model_path,
        input=metadata["input"],
        classes=list(bundle.classes) or None,
        activation=activation,
        name=str(metadata.get("name") or Path(folder).name),
        target=metadata.get("target"),
        runtime=metadata.get("runtime"),
    )


def bare_model_spec(model_path: str | Path, input_shape: Sequence[int]) -> ModelSpec:
    """The spec assumed for a ``.tflite`` without metadata, from its input shape.

    # Raises
    UnsupportedModelError: the input is not an image ``[1, H, W, 1 or 3]``.
    """
    shape = [int(d) for d in input_shape]
    if len(shape) != 4 or shape[3] not in (1, 3) or min(shape[1:3]) < 1:
        raise UnsupportedModelError(
            f"{model_path}: input shape {shape} is not an image [1, H, W, 1 or 3]; "
            "bnnkit predict needs an image classifier"
        )
    spec = default_input_spec(shape)
    mode = spec["color_mode"]
    note = (
        f"{Path(model_path).name} has no bundle metadata: assuming {mode} input "
        f"{shape[1]}x{shape[2]} normalized to [-1, 1] (mean {spec['mean'][0]}, std "
        f"{spec['std'][0]}) and class names = output indices; export a bundle to fix these"
    )
    return ModelSpec(
        model_path=Path(model_path),
        input=spec,
        classes=None,
        activation=None,
        name=Path(model_path).stem,
        notes=[note],
    )


def scores_to_top_k(scores: Any, spec: ModelSpec, k: int) -> list[dict]:
    """Rank one output vector; returns ``[{"index", "label", "probability"}]``, best first.

    For a bare model (``spec.activation is None``) the outputs are used as probabilities when
    they already are (all in [0, 1], summing to 1 within 1e-3), otherwise a softmax is applied;
    the choice is recorded in ``spec.activation`` and ``spec.notes``.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if spec.activation is None:
        finite = bool(np.all(np.isfinite(values)))
        is_probability = (
            finite
            and values.min() >= 0.0
            and values.max() <= 1.0
            and abs(values.sum() - 1.0) <= _SOFTMAX_TOLERANCE
        )
        spec.activation = "softmax" if is_probability else "linear"
        if not is_probability and finite:
            spec.notes.append("the outputs are not probabilities: applying a softmax")
    if spec.classes is None:
        spec.classes = [str(i) for i in range(values.size)]
    if values.size != len(spec.classes):
        raise InvalidModelFileError(
            f"{spec.model_path}: the model has {values.size} outputs but the bundle names "
            f"{len(spec.classes)} classes"
        )
    best = imaging.top_k(values, k, activation=spec.activation)
    return [{"index": i, "label": spec.classes[i], "probability": p} for i, p in best]


def predict_files(
    predict: Callable[[np.ndarray], np.ndarray],
    spec: ModelSpec,
    image_paths: Sequence[str | Path],
    k: int = 3,
) -> list[dict]:
    """Preprocess each image as ``spec.input`` says, run ``predict`` on it, rank the outputs.

    # Arguments
    predict: ``float32 [1, H, W, C] -> scores`` (any runtime).
    spec: from :func:`bundle_spec` or :func:`bare_model_spec`.
    image_paths: image files.
    k: how many classes to keep per image (at most the number of classes).

    # Returns
    ``[{"image": str, "top_k": [{"index", "label", "probability"}, ...]}, ...]``.

    # Raises
    InvalidInputError: an image is missing, not an image, corrupt or cannot be converted.
    """
    if k < 1:
        raise InvalidInputError(f"--top-k must be at least 1, got {k}")
    results = []
    for path in image_paths:
        image = imaging.load_image(path)  # its errors already name the file
        try:
            x = imaging.to_input_tensor(image, spec.input)
        except InvalidInputError as error:
            raise InvalidInputError(f"{path}: {error}") from error
        scores = predict(x)
        results.append({"image": str(path), "top_k": scores_to_top_k(scores, spec, k)})
    return results


def format_text(results: list[dict]) -> str:
    """One line per image: ``IMAGE: label (p), label (p), ...``."""
    lines = []
    for result in results:
        ranked = ", ".join(f"{c['label']} ({c['probability']:.4f})" for c in result["top_k"])
        lines.append(f"{result['image']}: {ranked}")
    return "\n".join(lines)


def to_report(spec: ModelSpec, results: list[dict], runtime: str | None) -> dict:
    """The ``--json`` document (the Pi runner prints the same one)."""
    return {
        "model": str(spec.model_path),
        "name": spec.name,
        "target": spec.target,
        "runtime": runtime,
        "input": spec.input,
        "activation": spec.activation,
        "notes": list(spec.notes),
        "predictions": results,
    }


def check_images_exist(image_paths: Sequence[str | Path]) -> None:
    """Fail before loading the model when an image file is missing."""
    missing = [str(p) for p in image_paths if not Path(p).is_file()]
    if missing:
        raise InvalidInputError(f"no such image file: {', '.join(missing)}")


def resolve_model(path: str | Path) -> tuple[Path, ModelSpec | None]:
    """``(model_file, spec)`` for a bundle folder, ``(path, None)`` for a bare model file."""
    path = Path(path)
    if path.is_dir():
        spec = bundle_spec(path)
        return spec.model_path, spec
    if not path.is_file():
        raise InvalidModelFileError(f"{path}: no such bundle folder or .tflite file")
    return path, None


def _open_runner(model_path: Path, threads: int | None, runtime: str) -> Runner:
    return open_runner(model_path, runtime=runtime, num_threads=1 if threads is None else threads)


def predict_images(
    model: str | Path,
    images: Sequence[str | Path],
    *,
    top_k: int = 3,
    threads: int | None = None,
    runtime: str = AUTO,
) -> dict:
    """Top-k classes of each image file on a bundle folder or a bare ``.tflite``.

    # Arguments
        model: a bundle folder or a ``.tflite`` file.
        images: image files (any format Pillow reads).
        top_k: classes to keep per image.
        threads: interpreter threads (default 1).
        runtime: ``auto`` or a runtime name (:data:`converters.runtime.RUNTIMES`).

    # Returns
        :func:`to_report`'s document: ``model``, ``name``, ``target``, ``runtime``, ``input``,
        ``activation``, ``notes`` and ``predictions``.

    # Raises
        InvalidInputError: a bad count, or an image that is missing or unreadable (checked
            before the model is loaded).
        InvalidModelFileError, UnsupportedModelError: the model or bundle cannot be run.
    """
    if top_k < 1:
        raise InvalidInputError(f"--top-k must be at least 1, got {top_k}")
    if threads is not None and threads < 1:
        raise InvalidInputError(f"--threads must be at least 1, got {threads}")
    model_path, spec = resolve_model(model)
    check_images_exist(images)
    runner = _open_runner(model_path, threads, runtime)
    if spec is None:
        spec = bare_model_spec(model_path, runner.input_shape)
    elif list(runner.input_shape)[1:] != list(spec.input["shape"])[1:]:
        raise InvalidModelFileError(
            f"{model}: metadata.json says input shape {spec.input['shape']} but the model "
            f"takes {list(runner.input_shape)}"
        )
    results = predict_files(runner.predict, spec, images, top_k)
    return to_report(spec, results, runner.runtime)
