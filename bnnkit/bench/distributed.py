"""One process, MirroredStrategy and two MultiWorkerMirroredStrategy workers on localhost.

    python -m bnnkit.bench.distributed      # results/distributed.json, docs/distributed.md

Each runs ``bnnkit train`` (LeNet-BNN, :data:`ARGS`) in its own processes on the same data;
the two workers get a ``TF_CONFIG`` naming free localhost ports. The test accuracies land in
``results/distributed.json`` and, rendered, in docs/distributed.md
(:mod:`bnnkit.bench.docfigures`). ``tests/bnnkit/test_training_distributed.py`` runs the same
commands through these functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from bnnkit.bench.datascale import free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULT = REPO_ROOT / "results" / "distributed.json"
ARGS = [
    "--method",
    "bnn",
    "--dataset",
    "mnist",
    "--epochs",
    "2",
    "--train-limit",
    "2000",
    "--test-limit",
    "500",
    "--seed",
    "1",
]

__all__ = [
    "ARGS",
    "RESULT",
    "env",
    "markdown",
    "measure",
    "metrics_of",
    "run_workers",
    "tf_config",
    "train_command",
]


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {
            "cluster": {"worker": [f"localhost:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


def env(**extra: str) -> dict:
    base = dict(os.environ, BNNKIT_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2")
    base.pop("TF_CONFIG", None)
    base.pop("BNNKIT_DEBUG", None)
    return {**base, **extra}


def train_command(data_dir: Path, runs: Path, name: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bnnkit.cli.main",
        "train",
        *ARGS,
        "--data-dir",
        str(data_dir),
        "--runs-dir",
        str(runs),
        "--name",
        name,
        "--json",
        *extra,
    ]


def run_workers(data_dir: Path, runs: Path, name: str, worker_tmp: Path, *extra: str) -> list:
    """Start 2 workers with TF_CONFIG on free localhost ports; return their results."""
    ports = free_ports(2)
    worker_tmp.mkdir(exist_ok=True)
    processes = [
        subprocess.Popen(
            train_command(data_dir, runs, name, "--strategy", "multiworker", *extra),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(TF_CONFIG=tf_config(ports, index), TMPDIR=str(worker_tmp)),
        )
        for index in range(2)
    ]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=1800)
            results.append(SimpleNamespace(returncode=process.returncode, stdout=out, stderr=err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def metrics_of(result) -> dict:
    return json.loads(result.stdout[result.stdout.index("{") :])


def _checked(result, what: str) -> dict:
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed: {result.stderr[-2000:]}")
    return metrics_of(result)


def measure(data_dir: Path | None = None) -> dict:
    """Test accuracy of one process, of ``--strategy mirrored`` and of two workers."""
    from bnnkit.data.loaders import BUNDLED_SUBSET

    data_dir = Path(data_dir or BUNDLED_SUBSET)
    accuracy: dict = {}
    with tempfile.TemporaryDirectory(prefix="bnnkit-distributed-") as work:
        runs = Path(work) / "runs"
        for name, extra in (("one process", []), ("mirrored", ["--strategy", "mirrored"])):
            result = subprocess.run(
                train_command(data_dir, runs, name.replace(" ", "-"), *extra),
                cwd=REPO_ROOT,
                env=env(),
                capture_output=True,
                text=True,
                timeout=1800,
            )
            accuracy[name] = _checked(result, name)["test_accuracy"]
        workers = run_workers(data_dir, runs, "multi", Path(work) / "tmp")
        accuracy["two workers"] = [_checked(r, "a worker")["test_accuracy"] for r in workers]
    return {
        "command": "bnnkit train " + " ".join(ARGS),
        "data": "the first 2,000 training and 500 test images of MNIST",
        "test_accuracy": accuracy,
    }


def markdown(result: dict) -> str:
    """The sentence of docs/distributed.md for ``result``."""
    acc = result["test_accuracy"]
    workers = acc["two workers"]
    both = (
        f"{workers[0]:.3f} on both workers"
        if workers[0] == workers[1]
        else f"{workers[0]:.3f} and {workers[1]:.3f}"
    )
    return (
        f"Measured (`{result['command']}`, {result['data']}, results/distributed.json): "
        f"one process {acc['one process']:.3f} test accuracy; `--strategy mirrored` "
        f"{acc['mirrored']:.3f}; two `multiworker` processes on localhost {both}."
    )


if __name__ == "__main__":
    from bnnkit.bench.docfigures import update_docs
    from bnnkit.serialization import atomic_write_json

    atomic_write_json(RESULT, measure())
    update_docs()
