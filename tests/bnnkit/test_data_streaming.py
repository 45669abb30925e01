"""Streamed datasets: image folders and TFRecord shards read batch by batch with tf.data.

Images are generated here (no ../shared needed): each one is a flat colour that encodes its
index, so a batch says exactly which files it holds.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from bnnkit import imaging
from bnnkit.data import InputOptions, Shard, load_dataset
from bnnkit.data.tfrecord import count_records, example_bytes, write_shards
from bnnkit.errors import DatasetNotFoundError, InvalidConfigError, InvalidDatasetError

SIZE = (12, 10)  # width, height of the indexed images


def _indexed_image(index: int, size=SIZE, mode="RGB") -> Image.Image:
    """A flat image whose red value is ``index`` (green 7, blue 200)."""
    return Image.new(mode, size, (index, 7, 200) if mode == "RGB" else index)


def make_indexed_folder(root: Path, per_class: dict[str, int], split_names=("train", "val"),
                        fmt="PNG") -> dict[int, str]:
    """``root/<split>/<class>/<i>.png`` images whose red value is a unique index; returns
    ``{index: class}`` of the training images."""
    index, classes_of = 0, {}
    for split in split_names:
        for name, count in per_class.items():
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                _indexed_image(index).save(root / split / name / f"{i}.{fmt.lower()}", fmt)
                if split == split_names[0]:
                    classes_of[index] = name
                index += 1
    return classes_of


def batch_indices(batch) -> list[int]:
    """The image indices of a normalized batch (red channel: (index / 255 - 0.5) / 0.5)."""
    red = (batch[..., 0] * 0.5 + 0.5) * 255
    return [int(round(v)) for v in red.reshape(len(red), -1)[:, 0]]


@pytest.fixture()
def folder(tmp_path) -> tuple[Path, dict[int, str]]:
    return tmp_path, make_indexed_folder(tmp_path, {"cat": 6, "dog": 6}, fmt="PNG")


def epochs_of(dataset, seed, epochs, steps, batch=4, shard=Shard()):
    out = []
    for x, y in dataset.train_batches(batch, seed=seed, epochs=epochs, steps_per_epoch=steps,
                                      shard=shard).as_numpy_iterator():
        out.append((batch_indices(x), y.tolist()))
    return out


def test_explicit_train_and_val_folders_give_classes_labels_and_native_size(folder):
    root, classes_of = folder
    data = load_dataset(f"folder:{root}")
    assert data.classes == ["cat", "dog"] and data.train_size == 12 and data.test_size == 12
    assert data.input_shape == (10, 12, 3) and data.augmentation.name == "none"
    for indices, labels in epochs_of(data, 0, range(1), 3):
        assert [data.classes[label] for label in labels] == [classes_of[i] for i in indices]


def test_test_folder_is_an_eval_split_too(tmp_path):
    make_indexed_folder(tmp_path, {"a": 3, "b": 3}, split_names=("train", "test"))
    data = load_dataset(f"folder:{tmp_path}")
    assert data.train_size == 6 and data.test_size == 6


def test_each_epoch_visits_every_file_once_in_an_order_set_by_seed_and_epoch(folder):
    root, classes_of = folder
    data = load_dataset(f"folder:{root}")
    run = epochs_of(data, seed=3, epochs=range(3), steps=3)
    per_epoch = [sum((indices for indices, _ in run[e * 3:(e + 1) * 3]), []) for e in range(3)]
    for order in per_epoch:
        assert sorted(order) == sorted(classes_of)
    assert per_epoch[0] != per_epoch[1] != per_epoch[2]
    assert epochs_of(data, seed=3, epochs=range(3), steps=3) == run
    assert epochs_of(data, seed=4, epochs=range(3), steps=3) != run


def test_a_resumed_run_reads_exactly_the_later_epochs_of_an_uninterrupted_one(folder):
    data = load_dataset(f"folder:{folder[0]}")
    full = epochs_of(data, seed=1, epochs=range(0, 4), steps=2)
    assert epochs_of(data, seed=1, epochs=range(2, 4), steps=2) == full[4:]


def test_an_epoch_longer_than_the_data_continues_with_a_second_permutation(folder):
    root, classes_of = folder
    data = load_dataset(f"folder:{root}")
    indices = sum((i for i, _ in epochs_of(data, seed=0, epochs=range(1), steps=5)), [])
    assert len(indices) == 20 and sorted(indices[:12]) == sorted(classes_of)


def test_two_workers_read_disjoint_halves_of_the_files(folder):
    root, classes_of = folder
    data = load_dataset(f"folder:{root}")
    shards = [Shard(0, 2), Shard(1, 2)]
    files = [set(data.train_files(s)) for s in shards]
    assert not files[0] & files[1] and files[0] | files[1] == set(data.train.files)
    seen = [set(sum((i for i, _ in epochs_of(data, 0, range(1), 3, batch=2, shard=s)), []))
            for s in shards]
    assert not seen[0] & seen[1] and seen[0] | seen[1] == set(classes_of)


def write_tfrecords(root: Path, images: list[tuple[Image.Image, int]], shards: int,
                    prefix="train") -> list[Path]:
    records = []
    for image, label in images:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        records.append(example_bytes(buffer.getvalue(), label, str(label), "PNG"))
    return write_shards(records, root / prefix, shards)


@pytest.fixture()
def records(tmp_path) -> Path:
    write_tfrecords(tmp_path, [(_indexed_image(i), i % 3) for i in range(24)], 4)
    write_tfrecords(tmp_path, [(_indexed_image(100 + i), i % 3) for i in range(6)], 2,
                    "validation")
    (tmp_path / "labels.txt").write_text("red\ngreen\nblue\n")
    return tmp_path


def test_tfrecord_shards_read_with_labels_and_class_names(records):
    data = load_dataset(f"tfrecord:{records}")
    assert data.classes == ["red", "green", "blue"]
    assert data.train_size == 24 and data.test_size == 6
    assert count_records(records / "train-00001-of-00004") == 6
    run = epochs_of(data, seed=2, epochs=range(2), steps=6)
    for epoch in (run[:6], run[6:]):
        indices = sum((i for i, _ in epoch), [])
        assert sorted(indices) == list(range(24))
        for batch_indices_, labels in epoch:
            assert labels == [i % 3 for i in batch_indices_]
    assert epochs_of(data, seed=2, epochs=range(1, 2), steps=6) == run[6:]
    x, y = data.arrays("test")
    # evaluation reads the shards in order; write_shards dealt the records round-robin
    assert batch_indices(x) == [100, 102, 104, 101, 103, 105]
    assert y.tolist() == [0, 2, 1, 1, 0, 2]


def test_tfrecord_order_needs_no_seed_state_under_op_determinism(records):
    """Training enables op determinism and seeds TensorFlow with --seed (0 by default); the
    epoch order must still come from (seed, epoch) alone."""
    import tensorflow as tf

    data = load_dataset(f"tfrecord:{records}", options=InputOptions(shuffle_buffer=8))
    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    first = epochs_of(data, seed=0, epochs=range(2), steps=6)
    tf.keras.utils.set_random_seed(123)
    assert epochs_of(data, seed=0, epochs=range(2), steps=6) == first


def test_workers_shard_tfrecords_by_file_or_by_record_when_files_are_few(records, tmp_path):
    data = load_dataset(f"tfrecord:{records}")
    files = [data.train_files(Shard(i, 2)) for i in range(2)]
    assert len(files[0]) == len(files[1]) == 2 and not set(files[0]) & set(files[1])
    single = tmp_path / "one"
    write_tfrecords(single, [(_indexed_image(i), 0) for i in range(8)], 1)
    write_tfrecords(single, [(_indexed_image(i), 1) for i in range(2)], 1, "test")
    one_file = load_dataset(f"tfrecord:{single}")
    seen = [set(sum((i for i, _ in epochs_of(one_file, 0, range(1), 2, batch=2,
                                              shard=Shard(w, 2))), [])) for w in range(2)]
    assert seen[0] | seen[1] == set(range(8)) and not seen[0] & seen[1]


def test_truncated_tfrecord_is_a_clear_error(records):
    path = records / "train-00000-of-00004"
    path.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(InvalidDatasetError, match="truncated"):
        load_dataset(f"tfrecord:{records}")


def test_missing_evaluation_shards_are_named(tmp_path):
    write_tfrecords(tmp_path, [(_indexed_image(1), 0)], 1)
    with pytest.raises(DatasetNotFoundError, match="validation"):
        load_dataset(f"tfrecord:{tmp_path}")


def test_a_training_limit_on_tfrecords_asks_for_steps_per_epoch(records):
    with pytest.raises(InvalidConfigError, match="--steps-per-epoch"):
        load_dataset(f"tfrecord:{records}").subset(train=5)


def test_folder_and_tfrecords_of_the_same_images_give_the_same_tensors(tmp_path):
    rng = np.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 256, (30 + i, 41, 3), np.uint8)) for i in range(4)]
    for split in ("train", "val"):
        for i, photo in enumerate(photos):
            (tmp_path / "f" / split / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
            photo.save(tmp_path / "f" / split / f"c{i % 2}" / f"{i}.png")
    write_tfrecords(tmp_path / "r", [(p, i % 2) for i, p in enumerate(photos)], 2)
    write_tfrecords(tmp_path / "r", [(p, i % 2) for i, p in enumerate(photos)], 1, "val")
    options = InputOptions(image_size=(24, 24))
    from_folder = load_dataset(f"folder:{tmp_path / 'f'}", options=options)
    from_records = load_dataset(f"tfrecord:{tmp_path / 'r'}", options=options)
    order = [int(Path(f).stem) for f in from_folder.test.files]
    x_folder, _ = from_folder.arrays("test")
    x_records, _ = from_records.arrays("test")
    np.testing.assert_array_equal(x_folder, x_records[order])


@pytest.mark.parametrize("mode,fmt", [("RGB", "JPEG"), ("RGB", "PNG"), ("L", "JPEG"),
                                      ("L", "PNG")])
@pytest.mark.parametrize("recipe,size", [("imagenet", (40, 40)), ("none", (24, 30))])
def test_evaluation_transform_equals_bnnkit_imaging(tmp_path, mode, fmt, recipe, size):
    """What a bundle's runners compute from a file (bnnkit.imaging, as the bundle's
    metadata input says) is what the model saw at evaluation time."""
    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        for i, (h, w) in enumerate([(61, 83), (90, 57), (50, 50)]):
            pixels = rng.integers(0, 256, (h, w, 3), np.uint8)
            image = Image.fromarray(pixels).filter(ImageFilter.BLUR)
            folder = tmp_path / split / f"c{i % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            image.convert(mode).save(folder / f"{i}.{fmt.lower()}", fmt, **(
                {"quality": 90} if fmt == "JPEG" else {}))
    data = load_dataset(f"folder:{tmp_path}", options=InputOptions(size, recipe))
    assert data.color_mode == ("grayscale" if mode == "L" else "rgb")
    spec = data.input_spec()
    x, _ = data.arrays("test")
    for tensor, path in zip(x, data.test.files):
        expected = imaging.to_input_tensor(imaging.load_image(path), spec)[0]
        np.testing.assert_allclose(tensor, expected, atol=1e-4, err_msg=path)


def test_predict_on_a_jpeg_computes_the_evaluation_pipelines_tensor(tmp_path):
    """``bnnkit predict`` (predict_files) with the run's input spec feeds the model the
    tensor the evaluation pipeline gives for the same JPEG (ImageNet recipe at 224)."""
    from converters.predict import ModelSpec, predict_files

    rng = np.random.default_rng(2)
    for split in ("train", "val"):
        for i in range(2):
            photo = Image.fromarray(rng.integers(0, 256, (300 + 40 * i, 400, 3), np.uint8))
            (tmp_path / split / f"c{i}").mkdir(parents=True, exist_ok=True)
            photo.save(tmp_path / split / f"c{i}" / "a.jpg", quality=85)
    data = load_dataset(f"folder:{tmp_path}")
    assert data.augmentation.name == "imagenet" and data.input_shape == (224, 224, 3)
    x, _ = data.arrays("test")
    fed = []
    spec = ModelSpec(model_path=Path("model.tflite"), input=data.input_spec(), classes=["a", "b"],
                     activation="softmax")
    predict_files(lambda tensor: fed.append(tensor) or np.array([[0.4, 0.6]]), spec,
                  list(data.test.files), k=1)
    for tensor, expected in zip(fed, x):
        np.testing.assert_allclose(tensor[0], expected, atol=1e-4)


def test_a_file_that_is_not_an_image_stops_training_with_its_name(tmp_path):
    make_indexed_folder(tmp_path, {"a": 20, "b": 20})
    (tmp_path / "train" / "a" / "zz-broken.png").write_bytes(b"not a png at all")
    data = load_dataset(f"folder:{tmp_path}")
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match="zz-broken.png"):
        epochs_of(data, 0, range(1), 41, batch=1)


def test_image_size_is_refused_for_in_memory_datasets(mnist_dir):
    with pytest.raises(InvalidConfigError, match="image size"):
        load_dataset("mnist", mnist_dir, allow_download=False, allow_subset=True,
                     options=InputOptions(image_size=(32, 32)))


def test_cached_epochs_hold_the_same_images_in_a_seeded_order(folder):
    root, classes_of = folder
    cached = load_dataset(f"folder:{root}", options=InputOptions(cache="memory"))
    run = epochs_of(cached, seed=5, epochs=range(2), steps=3)
    for epoch in (run[:3], run[3:]):
        assert sorted(sum((i for i, _ in epoch), [])) == sorted(classes_of)
    assert epochs_of(cached, seed=5, epochs=range(1, 2), steps=3) == run[3:]
