"""Dataset search, the real IDX/CIFAR formats, image folders, and their error messages."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bnnkit.data import load_bundled_mnist_subset, load_dataset
from bnnkit.data.idx import read_idx, write_idx
from bnnkit.data.safe_pickle import read_pickle_safely
from bnnkit.errors import DatasetNotFoundError, InvalidDatasetError


def test_mnist_loads_real_files_with_known_shapes(full_mnist):
    mnist = full_mnist
    assert mnist.x_train.shape == (60000, 28, 28, 1) and mnist.x_test.shape == (10000, 28, 28, 1)
    assert mnist.x_train.dtype == np.uint8
    assert np.bincount(mnist.y_test, minlength=10).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_fashion_mnist_accepts_hyphen_and_underscore(full_datasets):
    a = load_dataset("fashion-mnist", full_datasets)
    b = load_dataset("fashion_mnist", full_datasets)
    assert a.classes[0] == "T-shirt/top" and np.array_equal(a.y_test, b.y_test)


def test_pipeline_normalizes_to_minus_one_one(mnist_small):
    images, labels = next(iter(mnist_small.pipeline("test", 64)))
    expected = mnist_small.normalize(mnist_small.x_test[:64])
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-6)
    assert images.numpy().min() >= -1.0 and images.numpy().max() <= 1.0
    np.testing.assert_array_equal(labels.numpy(), mnist_small.y_test[:64])


def test_an_explicit_data_dir_is_never_replaced_by_data_found_elsewhere(
        tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("BNNKIT_DATA", str(mnist_dir))
    with pytest.raises(DatasetNotFoundError) as empty:
        load_dataset("mnist", tmp_path)
    assert str(empty.value) == (f"dataset 'mnist' not found in --data-dir {tmp_path} "
                                f"(looked in {tmp_path / 'mnist'}, {tmp_path / 'MNIST'}, "
                                f"{tmp_path})")
    with pytest.raises(DatasetNotFoundError) as missing:
        load_dataset("mnist", tmp_path / "none", allow_subset=True)
    assert str(missing.value) == (
        f"dataset 'mnist' not found: --data-dir {tmp_path / 'none'} is not an existing folder")


def test_search_order_prefers_the_recorded_folder_then_environment(
        tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("BNNKIT_DATA", str(tmp_path))
    found = load_dataset("mnist", recorded_dir=mnist_dir)
    assert found.source.startswith(str(mnist_dir.resolve()))
    monkeypatch.setenv("BNNKIT_DATA", str(mnist_dir))
    found = load_dataset("mnist", recorded_dir=tmp_path / "gone")  # moved: searched on
    assert found.source.startswith(str(mnist_dir.resolve()))


def test_missing_dataset_error_names_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("BNNKIT_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar10", recorded_dir=tmp_path / "recorded")
    message = str(error.value)
    for place in ("the run's data folder", str(tmp_path / "recorded"), "$BNNKIT_DATA",
                  "Keras cache", "download"):
        assert place in message


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DatasetNotFoundError, match="mnist, fashion_mnist, cifar10"):
        load_dataset("imagenet-typo")


def test_bundled_subset_is_real_mnist(full_mnist):
    mnist = full_mnist
    subset = load_bundled_mnist_subset()
    assert len(subset.x_train) == 5000 and len(subset.x_test) == 1000
    np.testing.assert_array_equal(subset.x_train, mnist.x_train[:5000])
    np.testing.assert_array_equal(subset.y_test, mnist.y_test[:1000])


def test_subset_fallback_only_when_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("BNNKIT_DATA", str(tmp_path))
    monkeypatch.setattr("bnnkit.data.loaders.KERAS_CACHE", tmp_path / "no-cache")
    with pytest.raises(DatasetNotFoundError):
        load_dataset("mnist")
    assert "bundled" in load_dataset("mnist", allow_subset=True).source


def test_idx_round_trip_and_truncation(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)
    write_idx(tmp_path / "b", array)
    (tmp_path / "c").write_bytes((tmp_path / "b").read_bytes()[:-5])
    with pytest.raises(InvalidDatasetError, match="truncated"):
        read_idx(tmp_path / "c")


def _write_cifar10(folder, per_batch=7, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch).tolist()
        # The standard layout: each row is 1024 red, 1024 green, 1024 blue values.
        data = images.transpose(0, 3, 1, 2).reshape(per_batch, 3072)
        with open(folder / name, "wb") as stream:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * per_batch}, stream, protocol=2)
        batches[name] = (images, labels)
    return batches


def test_cifar10_reads_standard_pickle_batches(tmp_path):
    batches = _write_cifar10(tmp_path / "cifar-10-batches-py")
    cifar = load_dataset("cifar10", tmp_path)
    assert cifar.x_train.shape == (35, 32, 32, 3) and cifar.color_mode == "rgb"
    np.testing.assert_array_equal(cifar.x_test, batches["test_batch"][0])
    assert cifar.y_test.tolist() == batches["test_batch"][1]
    np.testing.assert_array_equal(cifar.x_train[:7], batches["data_batch_1"][0])


def test_cifar_sample_image_survives_the_format(tmp_path, samples_dir):
    image = np.asarray(Image.open(samples_dir / "cifar10_00_3.png").convert("RGB"))
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar10(folder)
    data = image.transpose(2, 0, 1).reshape(1, 3072)
    with open(folder / "test_batch", "wb") as stream:
        pickle.dump({b"labels": [3], b"data": data}, stream, protocol=4)
    cifar = load_dataset("cifar10", tmp_path)
    np.testing.assert_array_equal(cifar.x_test[0], image)
    assert cifar.classes[cifar.y_test[0]] == "cat"


def test_pickle_reader_executes_nothing(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(InvalidDatasetError, match="refusing pickle global"):
        read_pickle_safely(path)
    assert not (tmp_path / "pwned").exists()


def _make_folder(root, counts, size=(12, 10), mode="RGB"):
    for index, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for i in range(count):
            color = (index * 60, i * 20 % 255, 100) if mode == "RGB" else index * 60
            Image.new(mode, size, color).save(root / name / f"{i}.png")


def test_image_folder_splits_and_labels(tmp_path):
    _make_folder(tmp_path, {"cat": 10, "dog": 10})
    data = load_dataset(f"folder:{tmp_path}")
    assert data.classes == ["cat", "dog"] and data.train_size == 16
    assert data.input_shape == (10, 12, 3)  # small images keep their own size
    assert data.test_size == 4 and sorted(set(data.train.labels)) == [0, 1]
    for path, label in zip(data.train.files, data.train.labels):
        assert Path(path).parent.name == data.classes[label]


def test_empty_image_folder_is_a_clear_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(InvalidDatasetError, match="no images: a, b"):
        load_dataset(f"folder:{tmp_path}")


def test_unbalanced_image_folder_warns(tmp_path):
    _make_folder(tmp_path, {"rare": 5, "common": 50}, mode="L")
    with pytest.warns(UserWarning, match="unbalanced"):
        data = load_dataset(f"folder:{tmp_path}")
    assert data.color_mode == "grayscale"


def test_corrupt_image_in_folder_names_the_file(tmp_path):
    _make_folder(tmp_path, {"a": 5, "b": 5})
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InvalidDatasetError, match="broken.png"):
        load_dataset(f"folder:{tmp_path}")
