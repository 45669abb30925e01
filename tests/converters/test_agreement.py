"""Keras-vs-TFLite top-1 agreement >= 99.5% on the full MNIST test set, for every method.

Uses trained runs, it does not train: run folders (``model.keras`` + ``metrics.json``) under
``$BNNKIT_RUNS_DIR`` (default: ``results/runs`` then ``runs`` in the checkout). Every
converted model found in a run (``<run>/<target>/model.tflite``, as ``bnnkit convert``
writes them) is checked; a run without one is converted to the ``lce`` target in a temporary
folder. Methods without an MNIST run are skipped with the reason.

    BNNKIT_RUNS_DIR=results/runs .venv/bin/python -m pytest tests/converters/test_agreement.py -m slow
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bnnkit.methods import available_methods

REPO_ROOT = Path(__file__).resolve().parents[2]
MIN_AGREEMENT = 0.995


def runs_dirs() -> list[Path]:
    if os.environ.get("BNNKIT_RUNS_DIR"):
        return [Path(os.environ["BNNKIT_RUNS_DIR"])]
    return [REPO_ROOT / "results" / "runs", REPO_ROOT / "runs"]


def mnist_runs(method: str) -> list[Path]:
    found = []
    for root in runs_dirs():
        if not root.is_dir():
            continue
        for metrics_path in sorted(root.glob("*/metrics.json")):
            try:
                metrics = json.loads(metrics_path.read_text())
            except (OSError, ValueError):
                continue
            described = metrics.get("method")
            name = described.get("method") if isinstance(described, dict) else described
            if name == method and metrics.get("dataset") == "mnist" \
                    and (metrics_path.parent / "model.keras").is_file():
                found.append(metrics_path.parent)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("method", available_methods())
def test_converted_mnist_model_agrees_with_keras_on_the_full_test_set(method, full_mnist, tmp_path):
    mnist = full_mnist
    runs = mnist_runs(method)
    if not runs:
        pytest.skip(f"no trained MNIST run of {method!r} under "
                    f"{', '.join(map(str, runs_dirs()))} (set BNNKIT_RUNS_DIR)")
    from converters import compare_keras_tflite
    from converters.targets import convert_lce

    from bnnkit.serialization import load_model

    assert len(mnist.x_test) == 10000, "the full MNIST test set is needed"
    x = mnist.normalize(mnist.x_test)
    results = {}
    for run in runs:
        model = load_model(run)
        converted = {p.parent.name: p for p in sorted(run.glob("*/model.tflite"))}
        if not converted:
            path = tmp_path / f"{run.name}-lce.tflite"
            path.write_bytes(convert_lce(model))
            converted = {"lce (converted by this test)": path}
        for target, tflite in converted.items():
            report = compare_keras_tflite(model, tflite, x)
            results[f"{run.name}/{target}"] = report["top1_agreement"]
    print(json.dumps(results, indent=2))
    low = {k: v for k, v in results.items() if v < MIN_AGREEMENT}
    assert not low, f"top-1 agreement below {MIN_AGREEMENT:.1%}: {low}"
