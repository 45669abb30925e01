"""``bnnkit predict``: the top-k classes of real image files, on a bundle or a bare ``.tflite``.

    bnnkit predict runs/mnist-bnn/bundle digit.png photo.jpg           # top 3 per image
    bnnkit predict runs/mnist-bnn/bundle digit.png --top-k 5 --json    # for machines
    bnnkit predict model.tflite digit.png --threads 2                  # no metadata

A bundle (``docs/bundle-format.md``) says everything: the input shape, colour mode,
normalization, output activation and class names. Each image file (PNG, JPEG, ... of any size
and mode: grayscale, RGBA, palette, 16-bit, CMYK) goes through :mod:`bnnkit.imaging`, the
reference preprocessing that the Raspberry Pi runner and the Android app match. The model runs
on the runtime that fits it (``converters.open_runner``): the LCE interpreter when it holds
LCE ops, a stock TFLite interpreter otherwise.

A bare ``.tflite`` has no metadata: the input shape comes from the model, 1 channel is taken as
``grayscale`` and 3 as ``rgb``, pixels are assumed normalized to [-1, 1]
(``mean = std = 0.5``, bnnkit's training default), outputs that are not already probabilities
go through a softmax, and classes are named by their index. Each assumption is printed as a
note.

Everything here except :func:`run` needs only numpy, Pillow (through :mod:`bnnkit.imaging`)
and, to read a bundle, :mod:`converters.bundle` (numpy and the ``tflite`` schema package), never
TensorFlow, so the Raspberry Pi runner ``pi/run_litert.py`` reuses it with its own interpreter.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnnkit import imaging
from bnnkit.errors import InvalidInputError, InvalidModelFileError, UnsupportedModelError

#: The normalization assumed for a ``.tflite`` without metadata: bnnkit's [-1, 1] default.
DEFAULT_MEAN = 0.5
DEFAULT_STD = 0.5
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


def read_bundle(folder: str | Path) -> ModelSpec:
    """Read a bundle folder (``model.tflite``, ``labels.txt``, ``metadata.json``).

    The files are validated by :func:`converters.bundle.read_bundle` (format version, labels
    against the model's outputs, ``model_sha256``, flatbuffer structure, ops against the
    declared runtime; it needs numpy and the ``tflite`` schema package, not TensorFlow), and
    the input spec by :func:`bnnkit.imaging.check_input_spec`.

    # Returns
    A :class:`ModelSpec`.

    # Raises
    InvalidModelFileError: a file is missing, or the metadata is malformed or inconsistent.
    """
    from converters.bundle import read_bundle as read_checked_bundle

    bundle = read_checked_bundle(folder)
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
    shape[0] = 1
    channels = shape[3]
    mode = "grayscale" if channels == 1 else "rgb"
    spec = {
        "shape": shape,
        "dtype": "float32",
        "color_mode": mode,
        "resize": "bilinear",
        "mean": [DEFAULT_MEAN] * channels,
        "std": [DEFAULT_STD] * channels,
    }
    note = (
        f"{Path(model_path).name} has no bundle metadata: assuming {mode} input "
        f"{shape[1]}x{shape[2]} normalized to [-1, 1] (mean {DEFAULT_MEAN}, std "
        f"{DEFAULT_STD}) and class names = output indices; export a bundle to fix these"
    )
    return ModelSpec(
        model_path=Path(model_path),
        input=spec,
        classes=None,
        activation=None,
        name=Path(model_path).stem,
        notes=[note],
    )


def scores_to_top_k(scores, spec: ModelSpec, k: int) -> list[dict]:
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
    spec: from :func:`read_bundle` or :func:`bare_model_spec`.
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
        spec = read_bundle(path)
        return spec.model_path, spec
    if not path.is_file():
        raise InvalidModelFileError(f"{path}: no such bundle folder or .tflite file")
    return path, None


def _open_runner(model_path: Path, threads: int | None):
    import converters  # deployment side, imported lazily (it imports TensorFlow/LCE)

    options = {} if threads is None else {"num_threads": threads}
    return converters.open_runner(model_path, runtime="auto", **options)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="top-k classes of image files on a bundle or .tflite",
        description="Print the top-k classes of each image (PNG/JPEG/..., any size and mode), "
        "preprocessed as the bundle's metadata.json says. A bare .tflite is assumed "
        "to take [-1, 1]-normalized pixels and its classes are numbered.",
    )
    parser.add_argument(
        "model",
        metavar="BUNDLE_OR_TFLITE",
        help="a bundle folder (from bnnkit convert) or a .tflite file",
    )
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    parser.add_argument(
        "--top-k", type=int, default=3, metavar="K", help="classes to print per image (default 3)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="interpreter threads (default: the runtime's)",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.top_k < 1:
        raise InvalidInputError(f"--top-k must be at least 1, got {args.top_k}")
    if args.threads is not None and args.threads < 1:
        raise InvalidInputError(f"--threads must be at least 1, got {args.threads}")
    model_path, spec = resolve_model(args.model)
    check_images_exist(args.images)
    runner = _open_runner(model_path, args.threads)
    if spec is None:
        spec = bare_model_spec(model_path, runner.input_shape)
    elif list(runner.input_shape)[1:] != list(spec.input["shape"])[1:]:
        raise InvalidModelFileError(
            f"{args.model}: metadata.json says input shape {spec.input['shape']} but the model "
            f"takes {list(runner.input_shape)}"
        )
    results = predict_files(runner.predict, spec, args.images, args.top_k)
    runtime = getattr(runner, "runtime", None)
    if args.json:
        print(json.dumps(to_report(spec, results, runtime), indent=2))
    else:
        for note in spec.notes:
            print(f"note: {note}", file=sys.stderr)
        print(format_text(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bnnkit.cli.predict ...``: the subcommand alone, same errors and exit codes."""
    import argparse

    from bnnkit.cli.main import run_parsed

    parser = argparse.ArgumentParser(prog="bnnkit")
    register(parser.add_subparsers(dest="command", required=True))
    return run_parsed(parser.parse_args(["predict", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
