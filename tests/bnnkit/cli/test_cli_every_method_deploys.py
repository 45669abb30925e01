"""Every method, trained and converted by the CLI in new processes, agrees with its model.

For each registered method: ``bnnkit train`` on the first 10,000 MNIST training images for one
epoch, then ``bnnkit convert`` of the run to the method's deployment target (``lce`` for
binary activations, ``litert`` otherwise), each in its own process, as a user runs them (so a
model that does not reload in a new process fails here). The ``.tflite`` must give the same
top-1 class as the trained Keras model (the user's original, reloaded from ``model.keras``)
on at least 99.5 % of the first 2,000 real MNIST test images.

CI tier (``-m ci``, run by ``.ci/run``): needs the full MNIST through ``$BNNKIT_DATA``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bnnkit.methods import available_methods, get_method

pytestmark = pytest.mark.ci

REPO_ROOT = Path(__file__).resolve().parents[3]
TRAIN_IMAGES = 10_000
TEST_IMAGES = 2_000
MIN_AGREEMENT = 0.995


def deploy_target(method: str) -> str:
    """``lce`` when the method's activations are binary (binary kernels), else ``litert``."""
    return "lce" if get_method(method).binary_activations else "litert"


def cli(*args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BNNKIT_DEBUG"}
    env["BNNKIT_OFFLINE"] = "1"
    result = subprocess.run([sys.executable, "-m", "bnnkit.cli.main", *map(str, args)],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"bnnkit {args[0]} failed:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="session")
def deployed(tmp_path_factory, full_datasets):
    """``method -> (run folder, conversion report)``, trained and converted on first use."""
    runs = tmp_path_factory.mktemp("every-method")
    cache: dict = {}

    def get(method: str):
        if method not in cache:
            cli("train", "--method", method, "--dataset", "mnist", "--data-dir", full_datasets,
                "--epochs", 1, "--train-limit", TRAIN_IMAGES, "--test-limit", TEST_IMAGES,
                "--seed", 0, "--runs-dir", runs, "--name", method)
            result = cli("convert", runs / method, "--target", deploy_target(method), "--json")
            cache[method] = runs / method, json.loads(result.stdout[result.stdout.index("{"):])
        return cache[method]

    return get


@pytest.mark.parametrize("method", available_methods())
def test_method_converts_to_its_target_and_agrees_with_the_trained_model(
        method, deployed, full_mnist):
    from bnnkit.serialization import load_model
    from converters import open_runner

    run, report = deployed(method)
    assert report["target"] == deploy_target(method)
    x = full_mnist.normalize(full_mnist.x_test[:TEST_IMAGES])
    original = load_model(run).predict(x, batch_size=256, verbose=0).argmax(-1)
    converted = open_runner(report["model_path"]).predict(x).argmax(-1)
    agreement = float(np.mean(original == converted))
    assert agreement >= MIN_AGREEMENT, f"{method}: top-1 agreement {agreement:.4f}"
    recorded = (report.get("verification") or {}).get("original_model_top1_agreement")
    if recorded is not None:  # bnnkit convert's own check against the original model
        assert recorded >= MIN_AGREEMENT, f"{method}: conversion.json says {recorded:.4f}"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train_images"] == TRAIN_IMAGES and metrics["test_images"] == TEST_IMAGES
    assert metrics["test_accuracy"] > 0.5, f"{method} did not learn: {metrics['test_accuracy']}"
