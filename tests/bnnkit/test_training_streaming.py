"""Training on streamed datasets: epoch length, step caps, kill-and-resume, several workers.

The images are generated here (small JPEGs), so the default tier needs no ../shared.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bnnkit.bench.datascale import checkpoint_epoch, _env, disjoint_shards, run_workers
from bnnkit.bench.photos import variant, write_tfrecords

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_photo_folder(root: Path, classes: int = 3, train: int = 16, val: int = 4,
                      seed: int = 0) -> dict:
    """``root/train|val/c<k>/<i>.jpg``: random crops of a smooth synthetic photo per class
    (the same generator as the benchmarks' folders); returns the listing."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, 96, dtype=np.float32)
    listing: dict = {"train": [], "val": [], "classes": [f"c{k}" for k in range(classes)]}
    for k in range(classes):
        source = np.stack([np.add.outer(ramp, ramp) / 2, np.full((96, 96), 60.0 * k),
                           np.subtract.outer(ramp, ramp) / 2 + 128], -1)
        photo = Image.fromarray(source.clip(0, 255).astype(np.uint8))
        for split, count in (("train", train), ("val", val)):
            for i in range(count):
                name = f"{split}/c{k}/{i}.jpg"
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(variant(photo, rng))
                listing[split].append((name, f"c{k}"))
    return listing


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    write_tfrecords(root, make_photo_folder(root), train_shards=4, val_shards=2)
    return root


def quiet_train(config, run_dir, **kwargs):
    from bnnkit.training import train

    return train(config, run_dir, verbose=0, log=lambda *a: None, **kwargs)


def test_max_steps_stops_a_stage_mid_epoch_and_steps_per_epoch_sets_the_epoch(photos, tmp_path):
    import tensorflow as tf

    from bnnkit.training import TrainConfig

    config = TrainConfig(method="bnn", dataset=f"folder:{photos}", arch="lenet", epochs=4,
                         steps_per_epoch=2, max_steps=3, batch_size=4, image_size=32)
    metrics = quiet_train(config, tmp_path / "run")
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [r["epoch"] for r in history["train"]] == [1, 2]
    checkpoint = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoint" / "stage0"))
    assert checkpoint.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 3
    assert checkpoint.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 2
    assert metrics["steps_per_epoch"] == 2 and metrics["train_images"] == 48
    assert metrics["augmentation"] == "imagenet" and metrics["input_shape"] == [32, 32, 3]
    assert metrics["input"]["shape"] == [1, 32, 32, 3]


def test_a_config_mistake_is_refused_before_anything_is_written(photos, tmp_path):
    from bnnkit.errors import InvalidConfigError
    from bnnkit.training import TrainConfig

    for bad in ({"max_steps": 0}, {"steps_per_epoch": -1}, {"strategy": "tpu"},
                {"arch": "resnet50"}, {"augment": "mixup"}, {"method_options": {"x": 1}}):
        config = TrainConfig(dataset=f"folder:{photos}", **bad)
        with pytest.raises(InvalidConfigError):
            quiet_train(config, tmp_path / "never")
        assert not (tmp_path / "never").exists()


TRAIN_ARGS = ["--method", "xnor", "--arch", "lenet", "--augment", "imagenet", "--image-size",
              "32", "--steps-per-epoch", "4", "--epochs", "3", "--batch-size", "8",
              "--seed", "9"]


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "bnnkit.cli.main", *map(str, args)]


@pytest.mark.slow
def test_sigkill_after_the_first_checkpoint_of_a_streaming_run_then_resume_is_exact(
        photos, tmp_path):
    from bnnkit.serialization import load_model

    args = ["train", "--dataset", f"folder:{photos}", *TRAIN_ARGS, "--runs-dir", tmp_path]
    reference = subprocess.run(cli(*args, "--name", "ref"), env=_env(), capture_output=True,
                               text=True, timeout=900)
    assert reference.returncode == 0, reference.stderr[-3000:]
    process = subprocess.Popen(cli(*args, "--name", "cut"), env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    try:
        while checkpoint_epoch(tmp_path / "cut") < 1:
            assert process.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = checkpoint_epoch(tmp_path / "cut")
    assert 1 <= killed_at < 3
    resumed = subprocess.run(cli(*args, "--name", "cut", "--resume"), env=_env(),
                             capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming after epoch {killed_at}/3" in resumed.stdout + resumed.stderr
    ours = load_model(tmp_path / "cut" / "model.keras").get_weights()
    theirs = load_model(tmp_path / "ref" / "model.keras").get_weights()
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(got, want)
    assert json.loads((tmp_path / "cut" / "history.json").read_text()) == \
        json.loads((tmp_path / "ref" / "history.json").read_text())


@pytest.mark.slow
def test_two_workers_read_disjoint_tfrecord_files_and_end_with_the_same_model(photos, tmp_path):
    shards = sorted(str(p) for p in (photos / "tfrecords").glob("train-*"))
    args = ["--dataset", f"tfrecord:{photos / 'tfrecords'}", *TRAIN_ARGS]
    results = run_workers(args, tmp_path / "runs", "two")
    for index, result in enumerate(results):
        assert result["returncode"] == 0, f"worker {index}:\n{result['stderr']}"
    check = disjoint_shards(results, shards)
    assert check["disjoint"] and check["union_is_all"] and check["files_per_worker"] == [2, 2]
    chief, worker = (r["metrics"] for r in results)
    assert [chief["input_shard"]["index"], worker["input_shard"]["index"]] == [0, 1]
    assert chief["test_accuracy"] == worker["test_accuracy"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["two"]
