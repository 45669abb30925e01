"""Deployment bundles: ``model.tflite`` + ``labels.txt`` + ``metadata.json``.

The format is specified in ``docs/bundle-format.md``; the Android app, the Raspberry Pi runner
and ``bnnkit predict`` read it instead of hard-coding anything. This module writes bundles and
validates them on reading (no TensorFlow import):

    from converters.bundle import write_bundle, read_bundle
    write_bundle("bundle/", "out/model.tflite", classes=mnist.classes,
                 metadata={"name": "mnist-bnn", "method": "bnn", "dataset": "mnist"})
    bundle = read_bundle("bundle/")   # bundle.metadata, bundle.classes, bundle.model_path

``metadata.json`` gets ``model_sha256`` (the sha256 of ``model.tflite``), which
:func:`converters.guard.guard_model` checks before any interpreter opens the model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bnnkit
from bnnkit.data.dataset import DEFAULT_MEAN, DEFAULT_STD
from bnnkit.errors import InvalidInputError, InvalidModelFileError, OutputExistsError
from converters.guard import check_structure, guard_model, sha256_bytes

__all__ = [
    "FORMAT_VERSION",
    "LABELS_FILE",
    "METADATA_FILE",
    "MODEL_FILE",
    "RUNTIMES",
    "Bundle",
    "copy_bundle",
    "default_input_spec",
    "read_bundle",
    "write_bundle",
]

FORMAT_VERSION = 1
MODEL_FILE, LABELS_FILE, METADATA_FILE = "model.tflite", "labels.txt", "metadata.json"
#: ``metadata.json``'s ``runtime``: ``lce`` needs Larq Compute Engine's ops, ``tflite`` runs on
#: any stock TFLite runtime.
RUNTIMES = ("lce", "tflite")


@dataclass
class Bundle:
    """A bundle as read and checked by :func:`read_bundle`."""

    path: Path
    model_path: Path
    metadata: dict
    classes: list

    @property
    def runtime(self) -> str:
        return str(self.metadata["runtime"])


def default_input_spec(shape: Sequence[int]) -> dict:
    """The input spec of a model without one: ``shape`` (batch 1), grayscale for 1 channel and
    rgb for 3, bilinear resize, and the [-1, 1] normalization bnnkit's datasets train with."""
    channels = int(shape[-1])
    return {
        "shape": [1, *[int(d) for d in shape[1:]]],
        "dtype": "float32",
        "color_mode": "grayscale" if channels == 1 else "rgb",
        "resize": "bilinear",
        "mean": [DEFAULT_MEAN] * channels,
        "std": [DEFAULT_STD] * channels,
    }


def _checked_classes(classes: Sequence[Any], num_outputs: int) -> list[str]:
    names = [str(name) for name in classes]
    if not names or len(names) != num_outputs:
        raise InvalidInputError(f"{len(names)} class names for a model with {num_outputs} outputs")
    # labels.txt holds one name per line: a name must be exactly one non-empty line for
    # every line splitter (str.splitlines also breaks on \x0b, \x0c, \x1c-\x1e, \x85, \u2028/9).
    unusable = [name for name in names if name.splitlines() != [name]]
    if unusable:
        raise InvalidInputError(
            f"class names must be non-empty and contain no line breaks: {unusable[:3]!r}"
        )
    return names


def _refuse_existing(output_dir: Path, overwrite: bool) -> None:
    if output_dir.exists() and any(output_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{output_dir} already exists and is not empty; pass "
            "overwrite=True (--overwrite) to replace it"
        )


def _write_folder(output_dir: Path, data: bytes, classes: list[str], record: dict) -> Path:
    """Write the three files into a staging folder, then swap it in for ``output_dir``."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    try:
        (staging / MODEL_FILE).write_bytes(data)
        (staging / LABELS_FILE).write_text(
            "".join(f"{name}\n" for name in classes), encoding="utf-8"
        )
        (staging / METADATA_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if output_dir.exists():
            backup = output_dir.with_name(f".{output_dir.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(output_dir, backup)
            os.replace(staging, output_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, output_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return output_dir


# Fields write_bundle derives from the model; values given in ``metadata`` are ignored.
_DERIVED = ("runtime", "model_file", "labels_file", "model_sha256", "classes", "format_version")


def write_bundle(
    output_dir: str | os.PathLike,
    tflite_path: str | os.PathLike | bytes,
    *,
    classes: Sequence[Any],
    metadata: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a bundle folder from a converted model.

    # Arguments
        output_dir: the bundle folder to create.
        tflite_path: the ``.tflite`` (guarded first: structure, sha256, trial run).
        classes: class names in output order.
        metadata: fields of ``metadata.json`` (``name``, ``method``, ``target``, ``dataset``,
            ``input``...). Missing ones are derived from the model: input shape, the
            [-1, 1] normalization bnnkit's datasets use, ``runtime`` from its ops.
        overwrite: replace an existing bundle folder.

    # Returns
        The bundle folder.
    """
    output_dir = Path(output_dir)
    _refuse_existing(output_dir, overwrite)
    data, info = guard_model(tflite_path)
    names = _checked_classes(classes, int(info.output_tensors[0].shape[-1]))
    given = {k: v for k, v in (metadata or {}).items() if k not in _DERIVED}
    record = {
        "format_version": FORMAT_VERSION,
        "name": given.pop("name", output_dir.name),
        "method": given.pop("method", None),
        "target": given.pop("target", None) or ("lce" if info.lce_ops else "litert"),
        "runtime": "lce" if info.lce_ops else "tflite",
        "dataset": given.pop("dataset", None),
        "model_file": MODEL_FILE,
        "labels_file": LABELS_FILE,
        "model_sha256": sha256_bytes(data),
        "input": given.pop("input", None) or default_input_spec(info.input_tensors[0].shape),
        "output": given.pop("output", None) or {"num_classes": len(names), "activation": "softmax"},
        "classes": names,
        "bnnkit_version": bnnkit.__version__,
        **given,
    }
    return _write_folder(output_dir, data, names, record)


def copy_bundle(bundle: Bundle, output_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Copy a bundle read by :func:`read_bundle` to ``output_dir`` (files under their
    standard names), replacing what is there only with ``overwrite``."""
    output_dir = Path(output_dir)
    _refuse_existing(output_dir, overwrite)
    record = dict(bundle.metadata, model_file=MODEL_FILE, labels_file=LABELS_FILE)
    return _write_folder(output_dir, bundle.model_path.read_bytes(), bundle.classes, record)


def read_bundle(path: str | os.PathLike) -> Bundle:
    """Read and validate a bundle folder (no interpreter is started).

    Checks: the three files exist, ``metadata.json`` is a format-1 object with an input
    spec, the labels match the class count, ``model.tflite`` matches ``model_sha256`` and is
    a structurally valid TFLite model whose ops fit the declared ``runtime``.

    # Raises
        InvalidModelFileError: naming the file and what is wrong with it.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InvalidModelFileError(f"{folder} is not a bundle folder")
    metadata_path = folder / METADATA_FILE
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidModelFileError(f"{folder} has no {METADATA_FILE}; not a bundle") from None
    except (OSError, ValueError) as error:
        raise InvalidModelFileError(f"{metadata_path} is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise InvalidModelFileError(f"{metadata_path} must hold a JSON object")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise InvalidModelFileError(
            f"{metadata_path}: format_version "
            f"{metadata.get('format_version')!r} is not supported "
            f"(this bnnkit reads {FORMAT_VERSION})"
        )
    model_path = folder / str(metadata.get("model_file", MODEL_FILE))
    labels_path = folder / str(metadata.get("labels_file", LABELS_FILE))
    for required in (model_path, labels_path):
        if not required.is_file():
            raise InvalidModelFileError(f"bundle {folder} is missing {required.name}")
    classes = labels_path.read_text(encoding="utf-8").splitlines()
    while classes and classes[-1] == "":
        classes.pop()
    if not isinstance(metadata.get("input"), dict) or "shape" not in metadata["input"]:
        raise InvalidModelFileError(f"{metadata_path} has no input spec (input.shape)")
    if metadata.get("runtime") not in RUNTIMES:
        raise InvalidModelFileError(
            f"{metadata_path}: runtime {metadata.get('runtime')!r} is not 'lce' or 'tflite'"
        )
    data = model_path.read_bytes()
    expected = metadata.get("model_sha256")
    if expected is not None and sha256_bytes(data) != expected:
        raise InvalidModelFileError(
            f"{model_path} does not match model_sha256 in "
            f"{METADATA_FILE}: the model was modified or corrupted"
        )
    info = check_structure(data, str(model_path))
    num_outputs = int(info.output_tensors[0].shape[-1])
    if len(classes) != num_outputs:
        raise InvalidModelFileError(
            f"{labels_path} lists {len(classes)} classes but the model has {num_outputs} outputs"
        )
    if [int(d) for d in metadata["input"]["shape"][1:]] != info.input_tensors[0].shape[1:]:
        raise InvalidModelFileError(
            f"{metadata_path}: input.shape {metadata['input']['shape']}"
            f" does not match the model's {info.input_tensors[0].shape}"
        )
    if info.lce_ops and metadata["runtime"] != "lce":
        raise InvalidModelFileError(
            f"{metadata_path} says runtime 'tflite' but the model uses "
            f"LCE ops ({', '.join(info.lce_ops)})"
        )
    return Bundle(path=folder, model_path=model_path, metadata=metadata, classes=classes)
