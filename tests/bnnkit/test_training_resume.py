"""Training survives faults: SIGKILL + --resume, atomic outputs, refusing to clobber a run.

The kill tests run the real CLI (``python -m bnnkit.cli.main train``) as a subprocess on a
real MNIST subset, kill it with SIGKILL (no cleanup handler can run), and compare against an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bnnkit.bench.datascale import checkpoint_epoch

REPO_ROOT = Path(__file__).resolve().parents[2]

TRAIN_ARGS = ["--method", "bnn", "--dataset", "mnist", "--epochs", "3",
              "--train-limit", "2000", "--test-limit", "500", "--seed", "3"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bnnkit.cli.main", *args]


def child_env() -> dict:
    env = dict(os.environ, BNNKIT_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("BNNKIT_DEBUG", None)
    return env


def run_train(runs_dir: Path, name: str, data_dir: Path, *extra: str,
              check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cli("train", *TRAIN_ARGS, "--data-dir", str(data_dir), "--runs-dir", str(runs_dir),
            "--name", name, *extra),
        cwd=REPO_ROOT, env=child_env(), capture_output=True, text=True, timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"train failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def start_train(runs_dir: Path, name: str, data_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        cli("train", *TRAIN_ARGS, "--data-dir", str(data_dir), "--runs-dir", str(runs_dir),
            "--name", name, *extra),
        cwd=REPO_ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


PROBE = np.zeros((1, 28, 28, 1), np.float32)


def final_weights(run_dir: Path) -> list[np.ndarray]:
    """The weights of ``run_dir/model.keras``, loaded in a new process as the CLI does."""
    from reload_support import reload_in_fresh_process

    (reloaded,) = reload_in_fresh_process([run_dir / "model.keras"], PROBE,
                                          run_dir.parent / f".reload-{run_dir.name}")
    return reloaded.weights


def assert_outputs_intact(run_dir: Path) -> list[str]:
    """Every visible json parses, every visible .keras loads in a new process; return
    leftover temp files."""
    from reload_support import reload_in_fresh_process

    leftovers, models = [], []
    for path in sorted(run_dir.rglob("*")):
        if path.name.startswith("."):
            leftovers.append(path.name)
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".keras":
            models.append(path)
    if models:
        reload_in_fresh_process(models, PROBE, run_dir.parent / f".reload-{run_dir.name}")
    return leftovers


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, mnist_dir) -> Path:
    """An uninterrupted run with the seed the kill tests use."""
    runs = tmp_path_factory.mktemp("reference")
    run_train(runs, "ref", mnist_dir)
    return runs / "ref"


@pytest.mark.ci  # the CI tier: one kill and resume (the random kills below are -m slow)
def test_sigkill_after_first_checkpoint_then_resume_matches_uninterrupted_run_bit_for_bit(
        tmp_path, mnist_dir, reference_run):
    process = start_train(tmp_path, "killed", mnist_dir)
    run_dir = tmp_path / "killed"
    deadline = time.monotonic() + 300
    try:
        while checkpoint_epoch(run_dir) < 1:
            assert process.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.05)
    finally:
        kill(process)
    killed_at = checkpoint_epoch(run_dir)
    assert 1 <= killed_at < 3, f"killed after epoch {killed_at}: too late to test resume"
    assert not (run_dir / "metrics.json").exists()

    result = run_train(tmp_path, "killed", mnist_dir, "--resume")
    assert f"resuming after epoch {killed_at}/3" in result.stdout + result.stderr

    resumed = json.loads((run_dir / "metrics.json").read_text())
    reference = json.loads((reference_run / "metrics.json").read_text())
    # Op determinism is on and the data order depends only on (seed, epoch): exact equality.
    assert resumed["test_accuracy"] == reference["test_accuracy"]
    assert resumed["test_loss"] == reference["test_loss"]
    for got, want in zip(final_weights(run_dir), final_weights(reference_run), strict=True):
        np.testing.assert_array_equal(got, want)
    # Same epoch count and same per-epoch history as the uninterrupted run.
    history = json.loads((run_dir / "history.json").read_text())
    reference_history = json.loads((reference_run / "history.json").read_text())
    assert [r["epoch"] for r in history["train"]] == [1, 2, 3]
    assert history == reference_history


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_half_written_file(
        tmp_path, mnist_dir, reference_run):
    rng = random.Random(20240508)
    run_dir = tmp_path / "chaos"
    kills = 0
    resume: tuple[str, ...] = ()
    leftovers: list[str] = []
    for attempt in range(8):
        process = start_train(tmp_path, "chaos", mnist_dir, *resume)
        # Startup (imports, data) takes a few seconds; an epoch about two.
        time.sleep(rng.uniform(2.0, 9.0))
        finished = process.poll() is not None
        kill(process)
        if finished:
            assert process.returncode == 0
            break
        kills += 1
        leftovers += assert_outputs_intact(run_dir) if run_dir.exists() else []
        if (run_dir / "config.json").exists():
            resume = ("--resume",)
    if not (run_dir / "metrics.json").exists():
        run_train(tmp_path, "chaos", mnist_dir, *resume)
    assert kills >= 2, "the random schedule never killed a running process"
    assert_outputs_intact(run_dir)
    for got, want in zip(final_weights(run_dir), final_weights(reference_run), strict=True):
        np.testing.assert_array_equal(got, want)
    # Temporary files a kill left behind are hidden (dot-prefixed) and never read.
    for name in leftovers:
        assert name.startswith(".") and ".tmp" in name, name


def test_existing_run_dir_without_resume_or_overwrite_is_refused_and_kept(
        tmp_path, capsys, mnist_dir):
    from bnnkit.cli.main import main

    run_dir = tmp_path / "runs" / "mine"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text('{"method": "bnn"}\n')
    (run_dir / "model.keras").write_bytes(b"precious")
    code = main(["train", "--runs-dir", str(tmp_path / "runs"), "--name", "mine",
                 "--epochs", "1", "--train-limit", "10", "--data-dir", str(mnist_dir)])
    err = capsys.readouterr().err
    assert code == 8
    assert err.count("\n") == 1 and err.startswith("bnnkit: error:")
    assert "--resume" in err and "--overwrite" in err
    assert "Traceback" not in err
    assert (run_dir / "model.keras").read_bytes() == b"precious"
    assert (run_dir / "config.json").read_text() == '{"method": "bnn"}\n'


def test_resume_of_a_run_that_does_not_exist_is_a_one_line_error(tmp_path, capsys):
    from bnnkit.cli.main import main

    code = main(["train", "--runs-dir", str(tmp_path), "--name", "nothing", "--resume"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "cannot resume" in err
    assert not (tmp_path / "nothing").exists()


def _tiny_train(run_dir: Path, dataset, seed: int, deterministic: bool = True):
    from bnnkit.training import TrainConfig, train

    config = TrainConfig(method="bnn", epochs=1, seed=seed, batch_size=64,
                         deterministic=deterministic)
    train(config, run_dir, dataset=dataset, verbose=0, log=lambda *a: None)
    return final_weights(run_dir)


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tmp_path, mnist):
    data = mnist.subset(512, 128)
    first = _tiny_train(tmp_path / "a", data, seed=11)
    second = _tiny_train(tmp_path / "b", data, seed=11)
    other = _tiny_train(tmp_path / "c", data, seed=12)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(first, other, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bireal"])
def test_a_run_lost_after_its_first_stage_resumes_from_the_stage_file_exactly(
        tmp_path, mnist, method):
    """A multi-stage method killed between stages continues from ``stage0_*.keras``."""
    from bnnkit.training import TrainConfig, train

    data = mnist.subset(512, 128)
    config = TrainConfig(method=method, epochs=2, seed=5, batch_size=64)
    quiet = {"dataset": data, "verbose": 0, "log": lambda *a: None}
    reference = train(config, tmp_path / "ref", **quiet)
    run = tmp_path / "cut"
    train(config, run, **quiet)
    stages = sorted(run.glob("stage*.keras"))
    assert len(stages) == 2, "the method should train in two stages"
    # What a kill just after stage 0 leaves: stage 0's file, no later output.
    for path in (stages[1], run / "model.keras", run / "metrics.json"):
        path.unlink()
    import shutil
    shutil.rmtree(run / "checkpoint" / "stage1")
    logs = []
    resumed = train(config, run, resume=True, dataset=data, verbose=0, log=logs.append)
    assert any("finished earlier" in line for line in logs)
    assert resumed["test_accuracy"] == reference["test_accuracy"]
    assert resumed["test_loss"] == reference["test_loss"]
    for got, want in zip(final_weights(run), final_weights(tmp_path / "ref"), strict=True):
        np.testing.assert_array_equal(got, want)
