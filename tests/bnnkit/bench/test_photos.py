"""The photo folders the data-scale benchmarks train on (bnnkit.bench.photos)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from bnnkit.bench.photos import source_class, write_photos, write_tfrecords
from bnnkit.data.tfrecord import count_records


def _sources(tmp_path, classes=(7, 42, 300)):
    rng = np.random.default_rng(0)
    paths = []
    for i, label in enumerate(classes):
        path = tmp_path / "src" / f"photo_{i:02d}_{label}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (120, 150, 3), np.uint8)).save(path)
        paths.append(path)
    return paths


def test_every_class_is_in_both_splits_and_a_small_folder_is_a_prefix_of_a_large_one(tmp_path):
    sources = _sources(tmp_path)
    small = write_photos(tmp_path / "small", sources, 60)
    large = write_photos(tmp_path / "large", sources, 120)
    assert small["classes"] == ["n00000007", "n00000042", "n00000300"]
    for listing in (small, large):
        assert {c for _, c in listing["val"]} == {c for _, c in listing["train"]} == set(
            listing["classes"])
        assert len(listing["val"]) == len(listing["train"]) // 9
    for name, _ in small["train"] + small["val"]:
        assert (tmp_path / "small" / name).read_bytes() == (tmp_path / "large" / name).read_bytes()
    with Image.open(tmp_path / "small" / small["train"][0][0]) as image:
        assert 160 <= min(image.size) <= 320


def test_imagenet_layout_and_tfrecords_hold_the_same_images(tmp_path):
    listing = write_photos(tmp_path, _sources(tmp_path), 40, layout="imagenet")
    rows = (tmp_path / "LOC_val_solution.csv").read_text().splitlines()
    assert rows[0] == "ImageId,PredictionString" and len(rows) == 1 + len(listing["val"])
    assert json.loads((tmp_path / "listing.json").read_text())["val"] == [
        list(item) for item in listing["val"]]
    folder = write_tfrecords(tmp_path, listing, train_shards=3, val_shards=2)
    assert sum(count_records(p) for p in folder.glob("train-*")) == len(listing["train"])
    assert sum(count_records(p) for p in folder.glob("validation-*")) == len(listing["val"])
    assert (folder / "labels.txt").read_text().split() == listing["classes"]


def test_the_class_comes_from_the_last_part_of_the_file_name(tmp_path):
    assert source_class(tmp_path / "imagenet_03_990.jpg") == "n00000990"
