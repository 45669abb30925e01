"""Reload saved models in a new Python process, exactly as the CLI does.

A model that reloads in the process that built it proves little: every custom object is
already registered there. :func:`reload_in_fresh_process` starts a new interpreter that
imports only ``bnnkit`` and calls :func:`bnnkit.serialization.load_model` (what every CLI
command does), and brings back each model's outputs, weights, layer classes and configs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import json, sys
import numpy as np
import bnnkit
from bnnkit.serialization import load_model

inputs, out = sys.argv[1], sys.argv[2]
x = np.load(inputs)
summary = []
for index, path in enumerate(sys.argv[3:]):
    model = load_model(path)
    arrays = {"outputs": model(x, training=False).numpy()}
    arrays.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(f"{out}/{index}.npz", **arrays)
    summary.append({
        "classes": [type(l).__module__ + "." + type(l).__name__ for l in model.layers],
        "configs": json.loads(json.dumps([l.get_config() for l in model.layers], default=str)),
        "weights": len(model.get_weights())})
with open(f"{out}/summary.json", "w") as stream:
    json.dump(summary, stream)
"""


@dataclass
class Reloaded:
    """What a fresh process saw after loading one model."""

    outputs: np.ndarray
    weights: list
    classes: list       # "module.Class" of each layer
    configs: list       # each layer's get_config(), JSON round-tripped


def layer_classes(model) -> list[str]:
    return [type(layer).__module__ + "." + type(layer).__name__ for layer in model.layers]


def layer_configs(model) -> list:
    return json.loads(json.dumps([layer.get_config() for layer in model.layers], default=str))


def reload_in_fresh_process(paths, x, tmp_path: Path) -> list[Reloaded]:
    """Load each of ``paths`` with bnnkit's loader in one new process; run it on ``x``."""
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    inputs = tmp_path / "inputs.npy"
    np.save(inputs, np.asarray(x, np.float32))
    env = {k: v for k, v in os.environ.items() if k != "BNNKIT_DEBUG"}
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(inputs), str(tmp_path),
                             *map(str, paths)], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"reload in a fresh process failed:\n{result.stderr[-3000:]}"
    summary = json.loads((tmp_path / "summary.json").read_text())
    reloaded = []
    for index, entry in enumerate(summary):
        with np.load(tmp_path / f"{index}.npz") as arrays:
            reloaded.append(Reloaded(
                outputs=arrays["outputs"],
                weights=[arrays[f"w{i}"] for i in range(entry["weights"])],
                classes=entry["classes"], configs=entry["configs"]))
    return reloaded


def assert_reloads_identically(model, reloaded: Reloaded, x) -> None:
    """Same layer classes and configs, identical weights and bit-identical outputs."""
    assert reloaded.classes == layer_classes(model)
    assert reloaded.configs == layer_configs(model)
    for got, want in zip(reloaded.weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(reloaded.outputs, model(x, training=False).numpy())
