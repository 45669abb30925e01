"""``imagenet:PATH`` on miniature copies of the standard ILSVRC-2012 layouts."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bnnkit.data import load_dataset
from bnnkit.data.tfrecord import example_bytes, write_shards
from bnnkit.errors import DatasetNotFoundError, InvalidDatasetError

SYNSETS = ["n01440764", "n01443537", "n01484850"]


def _jpeg(index: int) -> bytes:
    """A 150 x 170 JPEG whose colour depends on ``index``."""
    buffer = io.BytesIO()
    Image.new("RGB", (170, 150), (index * 40 % 256, 90, 30)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_train(cls_loc: Path, per_class: int = 2) -> None:
    for c, synset in enumerate(SYNSETS):
        (cls_loc / "train" / synset).mkdir(parents=True)
        for i in range(per_class):
            (cls_loc / "train" / synset / f"{synset}_{i}.JPEG").write_bytes(_jpeg(c))


def make_flat_val(cls_loc: Path, labels: list[int]) -> list[str]:
    """val/ILSVRC2012_val_0000000N.JPEG; returns their synsets in file-name order."""
    (cls_loc / "val").mkdir(parents=True)
    for i, label in enumerate(labels, start=1):
        (cls_loc / "val" / f"ILSVRC2012_val_{i:08d}.JPEG").write_bytes(_jpeg(label))
    return [SYNSETS[label] for label in labels]


def test_kaggle_layout_reads_validation_labels_from_the_csv(tmp_path):
    cls_loc = tmp_path / "ILSVRC" / "Data" / "CLS-LOC"
    make_train(cls_loc)
    synsets = make_flat_val(cls_loc, [2, 0, 1, 2])
    rows = [f"ILSVRC2012_val_{i:08d},{s} 10 20 30 40" for i, s in enumerate(synsets, start=1)]
    # rows in another order than the files, as in the real file
    (tmp_path / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\n" + "\n".join(reversed(rows)) + "\n")
    data = load_dataset(f"imagenet:{tmp_path}")
    assert data.classes == SYNSETS and data.train_size == 6 and data.test_size == 4
    assert data.augmentation.name == "imagenet" and data.input_shape == (224, 224, 3)
    for path, label in zip(data.test.files, data.test.labels):
        index = int(Path(path).stem.rsplit("_", 1)[1])
        assert SYNSETS[label] == synsets[index - 1]
    for path, label in zip(data.train.files, data.train.labels):
        assert Path(path).parent.name == SYNSETS[label]


def test_slim_label_file_gives_one_synset_per_validation_file(tmp_path):
    make_train(tmp_path)
    synsets = make_flat_val(tmp_path, [1, 1, 0])
    (tmp_path / "imagenet_2012_validation_synset_labels.txt").write_text("\n".join(synsets))
    data = load_dataset(f"imagenet:{tmp_path}")
    by_file = {Path(p).name: SYNSETS[label] for p, label in zip(data.test.files, data.test.labels)}
    assert [by_file[f"ILSVRC2012_val_{i:08d}.JPEG"] for i in (1, 2, 3)] == synsets


def test_validation_already_sorted_into_synset_folders(tmp_path):
    make_train(tmp_path)
    for c, synset in enumerate(SYNSETS[:2]):
        (tmp_path / "val" / synset).mkdir(parents=True)
        (tmp_path / "val" / synset / "x.JPEG").write_bytes(_jpeg(c))
    data = load_dataset(f"imagenet:{tmp_path}")
    assert sorted(data.test.labels) == [0, 1] and data.num_classes == 3


def test_flat_validation_without_labels_names_the_files_it_looked_for(tmp_path):
    make_train(tmp_path)
    make_flat_val(tmp_path, [0])
    with pytest.raises(DatasetNotFoundError,
                       match="LOC_val_solution.csv or imagenet_2012_validation_synset_labels"):
        load_dataset(f"imagenet:{tmp_path}")


def test_a_train_folder_that_is_not_a_synset_is_refused(tmp_path):
    make_train(tmp_path)
    (tmp_path / "train" / "cats").mkdir()
    (tmp_path / "train" / "cats" / "a.JPEG").write_bytes(_jpeg(0))
    make_flat_val(tmp_path, [0])
    (tmp_path / "imagenet_2012_validation_synset_labels.txt").write_text(SYNSETS[0])
    with pytest.raises(InvalidDatasetError, match="cats"):
        load_dataset(f"imagenet:{tmp_path}")


def test_not_an_imagenet_folder_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="train/ and val/"):
        load_dataset(f"imagenet:{tmp_path}")


def test_tfrecords_numbered_from_one_become_labels_from_zero(tmp_path):
    # build_imagenet_data.py writes labels 1..1000 (0 was a background class)
    write_shards([example_bytes(_jpeg(i), i % 3 + 1) for i in range(6)], tmp_path / "train", 2)
    write_shards([example_bytes(_jpeg(i), i % 3 + 1) for i in range(3)], tmp_path / "validation",
                 1)
    (tmp_path / "synsets.txt").write_text("\n".join(SYNSETS) + "\n")
    data = load_dataset(f"imagenet:{tmp_path}")
    assert data.classes == SYNSETS and data.train_size == 6 and data.test_size == 3
    _, labels = data.arrays("test")
    assert labels.tolist() == [0, 1, 2]
    x, y = next(data.train_batches(6, seed=0, epochs=range(1), steps_per_epoch=1)
                .as_numpy_iterator())
    assert x.shape == (6, 224, 224, 3) and sorted(y.tolist()) == [0, 0, 1, 1, 2, 2]
    assert np.isfinite(x).all()
