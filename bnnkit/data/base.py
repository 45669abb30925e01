"""What training needs from a dataset, whether it sits in memory or streams from files.

:class:`TrainingData` is the interface ``bnnkit.training`` uses; :class:`bnnkit.data.Dataset`
(arrays in memory: MNIST, Fashion-MNIST, CIFAR-10) and
:class:`bnnkit.data.streaming.StreamingDataset` (image folders, TFRecord shards, ImageNet)
implement it.

Training batches follow one rule whatever the source: epoch ``e`` of a run with seed ``s``
is a function of ``(s, e)`` only (and of the worker's shard), so a run resumed after epoch
``k`` sees exactly the batches an uninterrupted run sees from epoch ``k + 1`` on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from bnnkit.data.augment import Augmentation

# Every bnnkit model sees x = (pixel / 255 - mean) / std, i.e. [-1, 1] with these values.
# The same numbers go into a deployment bundle's metadata.json.
DEFAULT_MEAN = 0.5
DEFAULT_STD = 0.5
#: Evaluation batches hold at most this many input values (512 MNIST digits, 32 images at 224).
EVAL_BATCH_VALUES = 1 << 23


@dataclass(frozen=True)
class InputOptions:
    """How images become model inputs, for the datasets that allow a choice.

    # Arguments
        image_size: model input ``(height, width)``; None: 224 for the ``imagenet``
            recipe, else the images' own size.
        augment: ``auto`` (by dataset: ``none`` for MNIST, ``cifar`` for CIFAR-10,
            ``imagenet`` for ImageNet and for image folders/TFRecords of photos at least
            ``PHOTO_SIDE`` pixels on the shorter side, ``none`` for smaller images), or one of
            :data:`bnnkit.data.augment.AUGMENTATIONS`.
        cache: streaming datasets: keep decoded images in memory (``"memory"``) or in files
            at this path prefix after the first epoch; None: decode every epoch.
        shuffle_buffer: streaming datasets: records in the shuffle buffer of TFRecord (and
            cached) streams.
    """

    image_size: tuple[int, int] | None = None
    augment: str = "auto"
    cache: str | None = None
    shuffle_buffer: int = 4096

    @classmethod
    def from_config(cls, config: dict) -> InputOptions:
        """The options a run's ``config.json`` recorded (defaults for missing fields)."""
        size = config.get("image_size")
        return cls(
            (size, size) if size else None,
            config.get("augment") or "auto",
            config.get("cache"),
            config.get("shuffle_buffer") or cls.shuffle_buffer,
        )


#: The shorter side, in pixels, from which ``augment="auto"`` treats an image set as photos.
PHOTO_SIDE = 128


@dataclass(frozen=True)
class Shard:
    """The part of the training data one input pipeline reads: ``index`` of ``count``."""

    index: int = 0
    count: int = 1


#: The whole training set: the one input pipeline of a single worker.
ONE_SHARD = Shard()


class TrainingData(ABC):
    """A labelled image dataset with a training and a test split.

    Subclasses set ``name``, ``source`` (where the files were found), ``classes``,
    ``color_mode``, ``mean``, ``std`` and ``augmentation`` (a
    :class:`bnnkit.data.augment.Augmentation`), and implement the abstract methods.
    """

    name: str
    source: str
    classes: list
    color_mode: str
    mean: list
    std: list

    #: True when several workers should each read their own files (streaming sources).
    shards_by_file = False

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    @abstractmethod
    def augmentation(self) -> Augmentation:
        """The training augmentation recipe (it also fixes the evaluation transform)."""

    @property
    @abstractmethod
    def input_shape(self) -> tuple[int, int, int]:
        """The model input ``(height, width, channels)``."""

    @property
    @abstractmethod
    def train_size(self) -> int:
        """Number of training images."""

    @property
    @abstractmethod
    def test_size(self) -> int:
        """Number of test (validation) images."""

    @abstractmethod
    def train_batches(
        self,
        batch_size: int,
        *,
        seed: int,
        epochs: range,
        steps_per_epoch: int,
        shard: Shard = ONE_SHARD,
    ) -> Any:
        """Normalized, augmented training batches of ``epochs`` as one ``tf.data`` pipeline.

        Each epoch is exactly ``steps_per_epoch`` full batches; its order and augmentation
        depend only on ``(seed, epoch)`` and ``shard``.
        """

    @abstractmethod
    def batches(self, split: str, batch_size: int | None = None) -> Any:
        """Normalized batches of ``split`` (``train`` or ``test``) in a fixed order, with the
        evaluation transform only."""

    def test_batches(self, batch_size: int | None = None) -> Any:
        """The test split: see :meth:`batches`."""
        return self.batches("test", batch_size)

    @abstractmethod
    def subset(self, train: int | None = None, test: int | None = None) -> TrainingData:
        """The first ``train``/``test`` images (all when None), for small budgets."""

    def train_files(self, shard: Shard = ONE_SHARD) -> list[str]:
        """The files the worker ``shard`` reads (none: the images are in memory)."""
        del shard
        return []

    def steps_per_epoch(self, batch_size: int) -> int:
        """Full batches in one pass over the training images (at least 1)."""
        return max(1, self.train_size // batch_size)

    def eval_batch_size(self) -> int:
        """A batch size for evaluation that keeps a batch within ``EVAL_BATCH_VALUES``."""
        values = int(np.prod(self.input_shape))
        return int(2 ** np.floor(np.log2(max(1, min(512, EVAL_BATCH_VALUES // values)))))

    def normalize_batch(self, pixels) -> Any:
        """float32 pixels 0..255 -> model input ``(p / 255 - mean) / std`` (in the graph)."""
        import tensorflow as tf

        mean = tf.constant(self.mean, tf.float32)
        std = tf.constant(self.std, tf.float32)
        return (tf.cast(pixels, tf.float32) / 255.0 - mean) / std

    def arrays(self, split: str, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The first ``count`` images of ``split`` (all when None) as model inputs (evaluation
        transform), and their labels."""
        pipeline = self.batches(split)
        if count is not None:
            pipeline = pipeline.unbatch().take(count).batch(self.eval_batch_size())
        xs, ys = [], []
        for x, y in pipeline.as_numpy_iterator():
            xs.append(x)
            ys.append(y)
        if not xs:
            return np.zeros((0, *self.input_shape), np.float32), np.zeros([0], np.int64)
        return np.concatenate(xs), np.concatenate(ys)

    def input_spec(self) -> dict:
        """A bundle's ``metadata["input"]``: the evaluation transform (``bnnkit.imaging``)."""
        return {
            "shape": [1, *self.input_shape],
            "dtype": "float32",
            "color_mode": self.color_mode,
            **self.augmentation.input_spec(),
            "mean": list(self.mean),
            "std": list(self.std),
        }

    def describe(self) -> dict:
        """The dataset fields of a run's ``metrics.json``."""
        return {
            "dataset": self.name,
            "dataset_source": self.source,
            "train_images": int(self.train_size),
            "test_images": int(self.test_size),
            "input_shape": list(self.input_shape),
            "classes": list(self.classes),
            "mean": list(self.mean),
            "std": list(self.std),
            "color_mode": self.color_mode,
            "augmentation": self.augmentation.name,
            "input": self.input_spec(),
        }


__all__ = [
    "DEFAULT_MEAN",
    "DEFAULT_STD",
    "ONE_SHARD",
    "PHOTO_SIDE",
    "InputOptions",
    "Shard",
    "TrainingData",
]
