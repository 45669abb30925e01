"""What ``--seed`` determinism costs: the same training with TensorFlow's op determinism on
and off, each in fresh processes, alternating.

    python -m bnnkit.bench.determinism      # results/determinism.json, docs/reliability.md

Each run trains LeNet-BNN (:data:`SETUP`) with :func:`bnnkit.training.train` in a new Python
process and reports the CPU seconds and wall seconds of the ``train`` call and the sha256 of
the final weights. CPU time is the fair comparison on a machine shared with other jobs; wall
time is reported but is not.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULT = REPO_ROOT / "results" / "determinism.json"
SETUP = {
    "method": "bnn",
    "dataset": "mnist",
    "epochs": 3,
    "seed": 7,
    "train_limit": 5000,
    "test_limit": 1000,
    "batch_size": 128,
}
RUNS_PER_SETTING = 3

__all__ = ["RESULT", "RUNS_PER_SETTING", "SETUP", "markdown", "measure", "run_once"]

_CHILD = r"""
import hashlib, json, sys, tempfile, time
import bnnkit
from bnnkit.serialization import load_model
from bnnkit.training import TrainConfig, train

setup = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as work:
    config = TrainConfig(**setup)
    cpu, wall = time.process_time(), time.perf_counter()
    train(config, f"{work}/run", verbose=0, log=lambda *a: None)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    digest = hashlib.sha256()
    for weight in load_model(f"{work}/run").get_weights():
        digest.update(weight.tobytes())
print(json.dumps({"cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
                  "weights_sha256": digest.hexdigest()}))
"""


def run_once(deterministic: bool, data_dir: str) -> dict:
    setup = {**SETUP, "deterministic": deterministic, "data_dir": data_dir}
    env = {k: v for k, v in os.environ.items() if k != "BNNKIT_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(setup)],
        cwd=REPO_ROOT,
        env={**env, "BNNKIT_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"training run failed: {result.stderr[-2000:]}")
    return {"deterministic": deterministic, **json.loads(result.stdout.strip().splitlines()[-1])}


def measure(data_dir: str | None = None, runs: int = RUNS_PER_SETTING) -> dict:
    """``runs`` runs per setting, alternating on/off; per-setting means and weight identity."""
    from bnnkit.data.loaders import BUNDLED_SUBSET

    records = [
        run_once(on, str(data_dir or BUNDLED_SUBSET)) for _ in range(runs) for on in (True, False)
    ]
    settings = {}
    for on in (True, False):
        mine = [r for r in records if r["deterministic"] is on]
        settings["on" if on else "off"] = {
            "cpu_seconds_mean": round(statistics.mean(r["cpu_seconds"] for r in mine), 2),
            "wall_seconds_mean": round(statistics.mean(r["wall_seconds"] for r in mine), 2),
            "identical_weights": len({r["weights_sha256"] for r in mine}) == 1,
        }
    hashes = {
        on: {r["weights_sha256"] for r in records if r["deterministic"] is on}
        for on in (True, False)
    }
    return {
        "setup": SETUP,
        "runs": records,
        "settings": settings,
        "on_and_off_weights_equal": hashes[True] == hashes[False],
    }


def markdown(result: dict) -> str:
    """The table of docs/reliability.md for ``result``."""
    s = result["setup"]
    lines = [
        f"LeNet-BNN, the first {s['train_limit']:,} MNIST training images, batch "
        f"{s['batch_size']}, {s['epochs']} epochs, seed {s['seed']}; "
        f"{len(result['runs']) // 2} runs per setting in new processes, alternating "
        "(results/determinism.json):",
        "",
        "| setting | CPU seconds of `train` (mean) | wall seconds (mean) | final weights |",
        "|---|---|---|---|",
    ]
    other = "equal to" if result["on_and_off_weights_equal"] else "different from"
    for key, label in (("on", "op determinism on (bnnkit default)"), ("off", "op determinism off")):
        row = result["settings"][key]
        weights = "identical in every run" if row["identical_weights"] else "NOT identical"
        if key == "off":
            weights += f", {other} the runs with it on"
        lines.append(
            f"| {label} | {row['cpu_seconds_mean']:.1f} | "
            f"{row['wall_seconds_mean']:.1f} | {weights} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    from bnnkit.bench.docfigures import update_docs
    from bnnkit.serialization import atomic_write_json

    atomic_write_json(RESULT, measure())
    update_docs()
