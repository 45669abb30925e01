"""``bnnkit train`` under tf.distribute: MirroredStrategy, and MultiWorkerMirroredStrategy with
two worker processes on localhost (TF_CONFIG), writing the run folder from the chief only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from bnnkit.bench.distributed import env, metrics_of, run_workers, train_command

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Two workers see the same global batches as one process but reduce gradients in another
#: order, so their accuracy is compared within a band, not exactly.
ACCURACY_BAND = 0.05


@pytest.fixture(scope="module")
def single_process_run(tmp_path_factory, mnist_dir):
    runs = tmp_path_factory.mktemp("single")
    result = subprocess.run(train_command(mnist_dir, runs, "single"), cwd=REPO_ROOT,
                            env=env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return metrics_of(result)


@pytest.mark.slow
def test_two_workers_on_localhost_train_to_the_single_process_accuracy_band(
        tmp_path, mnist_dir, single_process_run):
    runs = tmp_path / "runs"
    worker_tmp = tmp_path / "worker_tmp"
    results = run_workers(mnist_dir, runs, "multi", worker_tmp)
    for index, result in enumerate(results):
        assert result.returncode == 0, f"worker {index}:\n{result.stderr[-3000:]}"
    chief, worker = (metrics_of(r) for r in results)
    # All-reduced training: both workers end with the same model and the same test metrics.
    assert chief["test_accuracy"] == worker["test_accuracy"]
    accuracy = chief["test_accuracy"]
    assert abs(accuracy - single_process_run["test_accuracy"]) <= ACCURACY_BAND, \
        (accuracy, single_process_run["test_accuracy"])
    assert accuracy > 0.5  # it learned (10 classes: chance is 0.1)
    # Only the chief wrote the run folder; the other worker's temporary folder is gone.
    assert sorted(p.name for p in runs.iterdir()) == ["multi"]
    run_dir = runs / "multi"
    assert {"config.json", "history.json", "metrics.json", "model.keras"} <= \
        {p.name for p in run_dir.iterdir()}
    assert json.loads((run_dir / "config.json").read_text())["strategy"] == "multiworker"
    assert json.loads((run_dir / "metrics.json").read_text())["test_accuracy"] == accuracy
    assert not list(worker_tmp.glob("bnnkit-worker-*"))


@pytest.mark.slow
def test_two_workers_refuse_an_existing_run_together_instead_of_hanging(tmp_path, mnist_dir):
    runs = tmp_path / "runs"
    (runs / "taken").mkdir(parents=True)
    (runs / "taken" / "model.keras").write_bytes(b"precious")
    results = run_workers(mnist_dir, runs, "taken", tmp_path / "worker_tmp")
    assert [r.returncode for r in results] == [8, 8]
    for result in results:
        assert "bnnkit: error:" in result.stderr and "Traceback" not in result.stderr
    assert (runs / "taken" / "model.keras").read_bytes() == b"precious"
    assert sorted(p.name for p in (runs / "taken").iterdir()) == ["model.keras"]


@pytest.mark.slow
def test_mirrored_strategy_trains_to_the_single_process_accuracy_band(
        tmp_path, mnist_dir, single_process_run):
    result = subprocess.run(
        train_command(mnist_dir, tmp_path, "mirrored", "--strategy", "mirrored"),
        cwd=REPO_ROOT, env=env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(result)
    assert abs(metrics["test_accuracy"] - single_process_run["test_accuracy"]) <= ACCURACY_BAND
    assert json.loads((tmp_path / "mirrored" / "config.json").read_text())["strategy"] == \
        "mirrored"


def _strategy_with(cluster: dict, task_type: str, task_id: int):
    import bnnkit  # noqa: F401
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
    return SimpleNamespace(cluster_resolver=resolver)


@pytest.mark.parametrize("cluster,task_type,task_id,expected", [
    ({"worker": ["a:1", "b:2"]}, "worker", 0, True),
    ({"worker": ["a:1", "b:2"]}, "worker", 1, False),
    ({"chief": ["c:0"], "worker": ["a:1"]}, "chief", 0, True),
    ({"chief": ["c:0"], "worker": ["a:1"]}, "worker", 0, False),
])
def test_only_the_chief_writes_the_run_folder(cluster, task_type, task_id, expected):
    from bnnkit.training import is_chief

    assert is_chief(_strategy_with(cluster, task_type, task_id)) is expected


def test_a_single_process_is_its_own_chief():
    import bnnkit  # noqa: F401
    import tensorflow as tf

    from bnnkit.training import is_chief

    assert is_chief(tf.distribute.get_strategy())
