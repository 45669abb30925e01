"""Accuracy of a ``.tflite`` on a dataset's test split: what ``bnnkit evaluate`` does.

    from converters.evaluate import evaluate_on_dataset
    evaluate_on_dataset("runs/mnist-bnn/lce/model.tflite", dataset="mnist", limit=1000)
    # {"accuracy", "n", "runtime", "options", "seconds", "ms_per_image", "model", "dataset"}

The model is guarded and opened first (:func:`converters.runtime.open_runner`), so a corrupt
file fails before any data is loaded. The dataset defaults to the one recorded beside the
model (a bundle's ``metadata.json`` or a ``conversion.json``), else MNIST.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bnnkit.errors import InvalidInputError
from converters.runtime import AUTO, open_runner
from converters.verify import evaluate_tflite

__all__ = ["evaluate_on_dataset", "recorded_dataset", "run_config_near"]

DEFAULT_DATASET = "mnist"


def recorded_dataset(model: Path) -> str | None:
    """The dataset named in the ``metadata.json`` or ``conversion.json`` beside ``model``."""
    folder = model if model.is_dir() else model.parent
    for name in ("metadata.json", "conversion.json"):
        try:
            value = json.loads((folder / name).read_text()).get("dataset")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str):
            return value
    return None


def run_config_near(model: Path) -> dict:
    """The ``config.json`` of the run ``model`` was converted from (it sits in the run folder
    or one of its sub-folders), for its input options; ``{}`` when there is none."""
    folder = model if model.is_dir() else model.parent
    for candidate in (folder / "config.json", folder.parent / "config.json"):
        try:
            config = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(config, dict):
            return config
    return {}


def evaluate_on_dataset(
    model: str | os.PathLike,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    limit: int | None = None,
    threads: int = 1,
    runtime: str = AUTO,
) -> dict:
    """Top-1 accuracy of ``model`` (a ``.tflite`` or a folder holding one) on a test split.

    # Arguments
        model: the ``.tflite`` file or a bundle/conversion folder.
        dataset: dataset name (default: the recorded one, else MNIST).
        data_dir: where to look for the dataset first.
        limit: only the first ``limit`` test images.
        threads: interpreter threads.
        runtime: ``auto`` or a name in :data:`converters.runtime.RUNTIMES`.

    # Returns
        :func:`converters.verify.evaluate_tflite`'s result with ``model`` and ``dataset``.
    """
    if limit is not None and limit < 1:
        raise InvalidInputError("--limit must be >= 1")
    if threads < 1:
        raise InvalidInputError("--threads must be >= 1")
    path = Path(model)
    runner = open_runner(path, runtime=runtime, num_threads=threads)
    from bnnkit.data import InputOptions, load_dataset

    name = dataset or recorded_dataset(path) or DEFAULT_DATASET
    data = load_dataset(name, data_dir, options=InputOptions.from_config(run_config_near(path)))
    x, y = data.arrays("test", limit)
    result = evaluate_tflite(runner, x, y)
    result.update(model=str(path), dataset=name)
    return result
