"""Convert a training run folder or a saved Keras model file: what ``bnnkit convert`` does.

    from converters.runs import convert_run
    report = convert_run("runs/mnist-bnn", target="lce", bundle="runs/mnist-bnn/bundle")
    # runs/mnist-bnn/lce/model.tflite and conversion.json, and a deployment bundle

A run folder holds ``model.keras`` and ``config.json``, which names the dataset (and the
method, recorded in the report). Calibration data (agreement check, int8 ranges) is the
first :data:`CALIBRATION_IMAGES` test images of that dataset, through the evaluation transform
the run trained with (its input options in ``config.json``); with no dataset, random images
are used and the report says so. The int8 target's QAT fine-tuning uses the first
:data:`QAT_IMAGES` training images. A bundle's ``metadata.json`` input is that transform.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bnnkit.errors import InvalidInputError, OutputExistsError
from converters.bundle import write_bundle
from converters.convert import MODEL_FILE, REPORT_FILE, convert_model
from converters.targets import TARGETS

__all__ = ["CALIBRATION_IMAGES", "QAT_IMAGES", "convert_run", "default_output", "run_config"]

CALIBRATION_IMAGES = 1000
QAT_IMAGES = 10000


def run_config(model_path: Path) -> dict:
    """A run folder's ``config.json`` (``{}`` for a model file or an unreadable config)."""
    config = model_path / "config.json" if model_path.is_dir() else None
    if config is None or not config.is_file():
        return {}
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def default_output(model_path: Path, target: str) -> Path:
    """``<run folder>/<target>``, or ``<model file stem>-<target>`` beside a model file."""
    if model_path.is_dir():
        return model_path / target
    return model_path.with_name(f"{model_path.stem}-{target}")


@dataclass(frozen=True)
class _Data:
    name: str | None
    classes: list[str] | None
    calibration_x: Any = None
    calibration_y: Any = None
    qat_data: tuple | None = None
    input_spec: dict | None = None


def _check_options(target: str, qat_epochs: int) -> None:
    chosen = TARGETS.get(target)
    if qat_epochs < 0:
        raise InvalidInputError("--qat-epochs must be >= 0")
    if qat_epochs and not chosen.fine_tunes:
        fine_tuning = " or ".join(t.name for t in TARGETS if t.fine_tunes)
        raise InvalidInputError(f"--qat-epochs applies to --target {fine_tuning} only")


def _data(name: str | None, data_dir: str | None, config: dict, qat_epochs: int) -> _Data:
    """The calibration (and QAT) images of ``name`` with the run's evaluation transform, and
    the bundle input spec that states it."""
    if not name:
        if qat_epochs:
            raise InvalidInputError("--qat-epochs needs training data: pass --dataset")
        return _Data(None, None)
    from bnnkit.data import InputOptions, load_dataset

    dataset = load_dataset(
        name,
        data_dir,
        allow_subset=bool(config.get("allow_subset", False)),
        options=InputOptions.from_config(config),
        recorded_dir=config.get("data_dir"),
    )
    calibration_x, calibration_y = dataset.arrays("test", CALIBRATION_IMAGES)
    return _Data(
        name,
        list(dataset.classes),
        calibration_x,
        calibration_y,
        dataset.arrays("train", QAT_IMAGES) if qat_epochs else None,
        dataset.input_spec(),
    )


def convert_run(
    model: str | os.PathLike,
    *,
    target: str = "lce",
    output: str | os.PathLike | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
    qat_epochs: int = 0,
    allow_float: bool = False,
    bundle: str | os.PathLike | None = None,
    custom_objects: Sequence[str] = (),
    overwrite: bool = False,
    verification: dict | None = None,
) -> dict:
    """Load a run folder or model file, convert it for ``target`` and write the results.

    # Arguments
        model: a ``runs/<name>/`` folder, a ``.keras``/``.h5`` file or a SavedModel folder.
        target: a name in :data:`converters.targets.TARGETS`.
        output: the folder for ``model.tflite`` and ``conversion.json``
            (default: :func:`default_output`).
        dataset: calibration data (default: the run's ``config.json``).
        data_dir: where to look for the dataset first.
        qat_epochs: the int8 target's QAT fine-tuning epochs.
        allow_float: accept binary layers that stay float.
        bundle: also write a deployment bundle there.
        custom_objects: modules to import before loading (they define custom objects).
        overwrite: replace existing outputs.
        verification: ``min_agreement`` and ``allow_disagreement`` for
            :func:`converters.convert.convert_model` (default: its defaults).

    # Returns
        The conversion report (:func:`converters.convert.convert_model`), with ``output``
        and ``bundle`` (None when no bundle was asked for).

    # Raises
        OutputExistsError, InvalidInputError, InvalidModelFileError, UnsupportedModelError,
        DatasetNotFoundError.
    """
    model_path = Path(model)
    out = Path(output) if output else default_output(model_path, target)
    for existing in (out / MODEL_FILE, out / REPORT_FILE):
        if existing.exists() and not overwrite:
            raise OutputExistsError(f"{existing} already exists; add --overwrite to replace it")
    _check_options(target, qat_epochs)
    config = run_config(model_path)
    from bnnkit.serialization import load_model

    # InvalidModelFileError for anything that is not a model or needs unknown custom objects
    keras_model = load_model(model_path, custom_object_modules=list(custom_objects))
    data = _data(dataset or config.get("dataset"), data_dir, config, qat_epochs)
    report = convert_model(
        keras_model,
        out,
        target,
        calibration_x=data.calibration_x,
        calibration_y=data.calibration_y,
        allow_float=allow_float,
        overwrite=overwrite,
        qat_data=data.qat_data,
        qat_epochs=qat_epochs,
        metadata={
            "source_model": str(model_path),
            "method": config.get("method"),
            "dataset": data.name,
        },
        **(verification or {}),
    )
    if bundle:
        classes = data.classes or [str(i) for i in range(int(keras_model.output_shape[-1]))]
        name = model_path.name if model_path.is_dir() else model_path.stem
        write_bundle(
            bundle,
            report["model_path"],
            classes=classes,
            metadata={
                "name": name,
                "method": config.get("method"),
                "dataset": data.name,
                "target": target,
                "input": data.input_spec,
            },
            overwrite=overwrite,
        )
    return {**report, "output": str(out), "bundle": str(bundle) if bundle else None}
