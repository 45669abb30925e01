"""Find and load datasets: MNIST, Fashion-MNIST, CIFAR-10 (in memory), and image folders,
TFRecord shards and ImageNet (streamed from files).

Where the files of ``mnist``, ``fashion_mnist`` and ``cifar10`` are looked for: an explicit
``data_dir`` (``--data-dir``) is the only place searched, and when the dataset is not there
(or the folder does not exist) that is an error, never silently replaced by data found
elsewhere. Without one, in order:

1. the folder a run was trained from (``recorded_dir``: ``config.json``'s ``data_dir``),
2. ``$BNNKIT_DATA``,
3. the Keras cache, ``~/.keras/datasets``,
4. a download into the Keras cache (skipped when ``$BNNKIT_OFFLINE=1``),
5. for MNIST only and only when asked (``allow_subset=True``): the small real subset shipped
   inside the package.

When nothing is found the error names every place tried and why each failed.
``folder:PATH``, ``tfrecord:PATTERN`` and ``imagenet:PATH`` name their files themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bnnkit.data.base import InputOptions, TrainingData
from bnnkit.data.dataset import Dataset
from bnnkit.data.idx import read_idx
from bnnkit.data.safe_pickle import read_pickle_safely
from bnnkit.errors import DatasetNotFoundError, InvalidConfigError, InvalidDatasetError

__all__ = [
    "BUNDLED_SUBSET",
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_CLASSES",
    "KERAS_CACHE",
    "load_bundled_mnist_subset",
    "load_dataset",
]


KERAS_CACHE = Path("~/.keras/datasets").expanduser()
BUNDLED_SUBSET = Path(__file__).with_name("mnist_subset")

_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
_KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

# name -> (sub-folders to look in, class names)
_SPECS = {
    "mnist": (("mnist", "MNIST", "."), [str(d) for d in range(10)]),
    "fashion_mnist": (("fashion-mnist", "fashion_mnist", "."), FASHION_CLASSES),
    "cifar10": (
        ("cifar-10-batches-py", "cifar10/cifar-10-batches-py", "cifar10", "."),
        CIFAR10_CLASSES,
    ),
}
#: The training augmentation ``augment="auto"`` picks for the in-memory datasets.
_AUTO_AUGMENT = {"mnist": "none", "fashion_mnist": "none", "cifar10": "cifar"}
STREAMING_PREFIXES = ("folder:", "tfrecord:", "imagenet:")
DATASETS = tuple(_SPECS) + ("folder:<path>", "tfrecord:<pattern>", "imagenet:<path>")


def _canonical(name: str) -> str:
    return name.lower().replace("-", "_")


def _read_idx_set(folder: Path, name: str, classes: list[str], source: str) -> Dataset | None:
    paths = [folder / file for file in _IDX_FILES]
    if not all(path.is_file() for path in paths):
        return None
    x_train, y_train, x_test, y_test = (read_idx(path) for path in paths)
    return _checked(
        Dataset(name, x_train[..., None], y_train, x_test[..., None], y_test, classes, source)
    )


def _read_keras_mnist_npz(path: Path, source: str) -> Dataset | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x_train, y_train = arrays["x_train"], arrays["y_train"]
            x_test, y_test = arrays["x_test"], arrays["y_test"]
    except (OSError, KeyError, ValueError) as error:
        raise InvalidDatasetError(f"{path} is not a Keras mnist.npz: {error}") from error
    return _checked(
        Dataset(
            "mnist",
            x_train[..., None],
            y_train,
            x_test[..., None],
            y_test,
            _SPECS["mnist"][1],
            source,
        )
    )


def _read_cifar10(folder: Path, source: str) -> Dataset | None:
    train_files = [folder / f"data_batch_{i}" for i in range(1, 6)]
    test_file = folder / "test_batch"
    if not test_file.is_file() or not all(path.is_file() for path in train_files):
        return None

    def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
        batch = read_pickle_safely(path)
        if not isinstance(batch, dict):
            raise InvalidDatasetError(f"{path} does not hold a CIFAR batch dict")
        batch = {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}
        try:
            data = np.asarray(batch["data"], dtype=np.uint8)
            labels = np.asarray(batch["labels"], dtype=np.int64)
        except KeyError as error:
            raise InvalidDatasetError(f"{path} has no {error} entry") from error
        if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
            raise InvalidDatasetError(
                f"{path}: expected data of shape (N, 3072) and N labels, got "
                f"{data.shape} and {len(labels)}"
            )
        # Rows hold 1024 red, then 1024 green, then 1024 blue values (row-major 32x32).
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels

    train = [read_batch(path) for path in train_files]
    x_test, y_test = read_batch(test_file)
    return _checked(
        Dataset(
            "cifar10",
            np.concatenate([x for x, _ in train]),
            np.concatenate([y for _, y in train]),
            x_test,
            y_test,
            CIFAR10_CLASSES,
            source,
            color_mode="rgb",
        )
    )


def _checked(dataset: Dataset) -> Dataset:
    for split, x, y in (
        ("train", dataset.x_train, dataset.y_train),
        ("test", dataset.x_test, dataset.y_test),
    ):
        if len(x) != len(y):
            raise InvalidDatasetError(
                f"{dataset.name} ({dataset.source}): {split} has {len(x)} images but "
                f"{len(y)} labels"
            )
        if len(x) == 0:
            raise InvalidDatasetError(f"{dataset.name} ({dataset.source}): {split} is empty")
        if y.min() < 0 or y.max() >= dataset.num_classes:
            raise InvalidDatasetError(
                f"{dataset.name} ({dataset.source}): {split} labels outside "
                f"0..{dataset.num_classes - 1}"
            )
    return dataset


def _read_from(root: Path, name: str) -> Dataset | None:
    subfolders, classes = _SPECS[name]
    for sub in subfolders:
        folder = (root / sub).resolve()
        source = str(folder)
        if name == "cifar10":
            found = _read_cifar10(folder, source)
        else:
            found = _read_idx_set(folder, name, classes, source)
            if found is None and name == "mnist":
                found = _read_keras_mnist_npz(folder / "mnist.npz", str(folder / "mnist.npz"))
        if found is not None:
            return found
    return None


def _download(name: str) -> Dataset:
    """Fetch into the Keras cache with ``tf.keras.utils.get_file`` (needs internet)."""
    found = _fetch(name)
    if found is None:
        raise DatasetNotFoundError(f"the download of {name!r} left no readable files")
    return found


def _fetch(name: str) -> Dataset | None:
    import tensorflow as tf

    if name == "mnist":
        path = tf.keras.utils.get_file("mnist.npz", _KERAS_BASE_URL + "mnist.npz")
        return _read_keras_mnist_npz(Path(path), f"downloaded to {path}")
    if name == "fashion_mnist":
        folder = KERAS_CACHE / "fashion-mnist"
        for file in _IDX_FILES:
            tf.keras.utils.get_file(
                file,
                _KERAS_BASE_URL + "fashion-mnist/" + file,
                cache_subdir="datasets/fashion-mnist",
            )
        return _read_idx_set(folder, name, FASHION_CLASSES, f"downloaded to {folder}")
    path = tf.keras.utils.get_file("cifar-10-batches-py", _CIFAR10_URL, untar=True)
    return _read_cifar10(Path(path), f"downloaded to {path}")


def load_bundled_mnist_subset() -> Dataset:
    """The real MNIST subset shipped with bnnkit (first 5,000 train / 1,000 test images)."""
    found = _read_idx_set(
        BUNDLED_SUBSET, "mnist", _SPECS["mnist"][1], "bnnkit's bundled MNIST subset"
    )
    if found is None:
        raise DatasetNotFoundError(f"the bundled MNIST subset is missing from {BUNDLED_SUBSET}")
    return found


def _open_streaming(name: str, options: InputOptions) -> TrainingData:
    prefix, path = name.split(":", 1)
    if not path:
        raise DatasetNotFoundError(f"{prefix}: needs a path, e.g. {prefix}:/data/images")
    if prefix == "folder":
        from bnnkit.data.folder import load_image_folder

        return load_image_folder(path, options)
    if prefix == "imagenet":
        from bnnkit.data.imagenet import load_imagenet

        return load_imagenet(path, options)
    return _load_tfrecords(path, options)


def _load_tfrecords(pattern: str, options: InputOptions) -> TrainingData:
    from bnnkit.data.streaming import Split, open_streaming
    from bnnkit.data.tfrecord import (
        LABELS_FILE,
        count_records,
        find_shards,
        read_class_names,
        scan_labels,
    )

    train, test = find_shards(pattern)
    classes = read_class_names(Path(train[0]).parent / LABELS_FILE) or [
        str(i) for i in range(scan_labels(train + test))
    ]
    splits = (
        Split(tuple(train), None, sum(map(count_records, train))),
        Split(tuple(test), None, sum(map(count_records, test))),
    )
    return open_streaming(
        f"tfrecord:{pattern}", str(Path(train[0]).parent), classes, splits, options
    )


def _with_options(dataset: Dataset, key: str, options: InputOptions) -> Dataset:
    """An in-memory dataset with its augmentation; its images keep their own size."""
    if options.image_size and tuple(options.image_size) != dataset.input_shape[:2]:
        raise InvalidConfigError(
            f"{dataset.name} images are {dataset.input_shape[0]}x{dataset.input_shape[1]}; "
            "a different image size works with folder:, tfrecord: and imagenet: datasets only"
        )
    dataset.augment = _AUTO_AUGMENT[key] if options.augment == "auto" else options.augment
    dataset.augmentation  # noqa: B018 - checks the name now, before any training
    return dataset


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    allow_download: bool | None = None,
    allow_subset: bool = False,
    options: InputOptions | None = None,
    recorded_dir: str | os.PathLike | None = None,
) -> TrainingData:
    """Load a dataset by name, searching the places listed in the module docstring.

    # Arguments
        name: ``mnist``, ``fashion_mnist`` (or ``fashion-mnist``), ``cifar10``;
            ``folder:PATH`` (:mod:`bnnkit.data.folder`), ``tfrecord:PATTERN``
            (:mod:`bnnkit.data.tfrecord`) or ``imagenet:PATH`` (:mod:`bnnkit.data.imagenet`).
        data_dir: the one place searched when given (``--data-dir``): the dataset must be
            there.
        allow_download: try a download when no files are found; default: unless
            ``$BNNKIT_OFFLINE`` is set.
        allow_subset: for MNIST, fall back to the subset shipped with bnnkit.
        options: input size, augmentation, cache (:class:`bnnkit.data.InputOptions`).
        recorded_dir: without ``data_dir``, searched first (a run's recorded data folder).

    # Returns
        A :class:`Dataset` (arrays in memory) for the first three, else a
        :class:`bnnkit.data.streaming.StreamingDataset`; its ``source`` says where it came from.

    # Raises
        DatasetNotFoundError: unknown name, or found nowhere (the message lists every place).
        InvalidDatasetError: files exist but are malformed.
        InvalidConfigError: ``options`` that do not fit the dataset.
    """
    options = options or InputOptions()
    if name.startswith(STREAMING_PREFIXES):
        return _open_streaming(name, options)
    return load_arrays(
        name,
        data_dir,
        allow_download=allow_download,
        allow_subset=allow_subset,
        options=options,
        recorded_dir=recorded_dir,
    )


def load_arrays(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    allow_download: bool | None = None,
    allow_subset: bool = False,
    options: InputOptions | None = None,
    recorded_dir: str | os.PathLike | None = None,
) -> Dataset:
    """An in-memory dataset (``mnist``, ``fashion_mnist``, ``cifar10``), for callers that read
    its arrays (``x_train``, ...) directly; the arguments are those of :func:`load_dataset`."""
    key = _canonical(name)
    if key not in _SPECS:
        raise DatasetNotFoundError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}"
        )
    if data_dir is not None:
        found = _find_in_data_dir(key, Path(data_dir).expanduser())
    else:
        found = _find(key, recorded_dir, allow_download, allow_subset)
    return _with_options(found, key, options or InputOptions())


def _find_in_data_dir(key: str, root: Path) -> Dataset:
    """The dataset from the explicit ``--data-dir`` only."""
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"dataset {key!r} not found: --data-dir {root} is not an existing folder"
        )
    found = _read_from(root, key)
    if found is None:
        raise DatasetNotFoundError(
            f"dataset {key!r} not found in --data-dir {root} (looked in "
            + ", ".join(str(root / sub) for sub in _SPECS[key][0])
            + ")"
        )
    return found


def _find(key: str, recorded_dir, allow_download: bool | None, allow_subset: bool) -> Dataset:
    tried: list[str] = []
    roots = []
    if recorded_dir:
        roots.append(("the run's data folder", Path(recorded_dir).expanduser()))
    if os.environ.get("BNNKIT_DATA"):
        roots.append(("$BNNKIT_DATA", Path(os.environ["BNNKIT_DATA"]).expanduser()))
    roots.append(("Keras cache", KERAS_CACHE))
    for label, root in roots:
        found = _read_from(root, key) if root.is_dir() else None
        if found is not None:
            return found
        tried.append(f"{label} {root}" + ("" if root.is_dir() else " (no such folder)"))
    if allow_download is None:
        allow_download = os.environ.get("BNNKIT_OFFLINE", "") in ("", "0")
    if allow_download:
        try:
            return _download(key)
        except Exception as error:
            tried.append(f"download ({type(error).__name__}: {str(error).splitlines()[0][:120]})")
    else:
        tried.append("download (disabled: $BNNKIT_OFFLINE is set)")
    if allow_subset and key == "mnist":
        return load_bundled_mnist_subset()
    raise DatasetNotFoundError(
        f"dataset {key!r} not found. Tried: "
        + "; ".join(tried)
        + ". Put the files in one of these places or pass --data-dir."
    )


__all__ = [
    "DATASETS",
    "STREAMING_PREFIXES",
    "load_arrays",
    "load_bundled_mnist_subset",
    "load_dataset",
]
