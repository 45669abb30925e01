"""The in-memory dataset (MNIST-sized sets: uint8 arrays) and its ``tf.data`` pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bnnkit.data.augment import Augmentation, element_seed, get_augmentation
from bnnkit.data.base import DEFAULT_MEAN, DEFAULT_STD, ONE_SHARD, Shard, TrainingData


@dataclass
class Dataset(TrainingData):
    """Images as uint8 NHWC arrays plus labels, with where they came from.

    ``source`` says where the files were found (a path, a download, or the bundled subset),
    so that a run can report exactly what it trained on. ``augment`` names the training
    augmentation (:mod:`bnnkit.data.augment`; ``none`` for MNIST, ``cifar`` for CIFAR-10).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    source: str
    color_mode: str = "grayscale"
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    augment: str = "none"

    def __post_init__(self):
        channels = self.x_train.shape[-1]
        self.mean = self.mean or [DEFAULT_MEAN] * channels
        self.std = self.std or [DEFAULT_STD] * channels

    @property
    def input_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.x_train.shape[1:]
        return int(height), int(width), int(channels)

    @property
    def train_size(self) -> int:
        return len(self.x_train)

    @property
    def test_size(self) -> int:
        return len(self.x_test)

    @property
    def augmentation(self) -> Augmentation:
        return get_augmentation(self.augment, self.input_shape[:2], self.input_shape[2])

    def normalize(self, images: np.ndarray) -> np.ndarray:
        """uint8 NHWC -> float32 model input, the numpy twin of the pipeline's map."""
        mean = np.asarray(self.mean, np.float32)
        std = np.asarray(self.std, np.float32)
        return ((images.astype(np.float32) / 255.0) - mean) / std

    def subset(self, train: int | None = None, test: int | None = None) -> Dataset:
        """The first ``train``/``test`` examples (all when None), for small budgets."""
        return Dataset(
            self.name,
            self.x_train[:train],
            self.y_train[:train],
            self.x_test[:test],
            self.y_test[:test],
            self.classes,
            self.source,
            self.color_mode,
            self.mean,
            self.std,
            self.augment,
        )

    def pipeline(
        self, split: str, batch_size: int = 128, *, shuffle_seed: int | None = None
    ) -> Any:
        """A batched, normalized ``tf.data.Dataset`` of (image, label) for a split."""
        import tensorflow as tf

        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int64)))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        ds = ds.map(
            lambda images, labels: (self.normalize_batch(images), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def batches(self, split: str, batch_size: int | None = None) -> Any:
        return self.pipeline(split, batch_size or self.eval_batch_size())

    def arrays(self, split: str, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return self.normalize(x[:count]), y[:count]

    def epoch_order(self, seed: int, epoch: int, count: int) -> np.ndarray:
        """The first ``count`` indices of epoch ``epoch``: ``permutation(seed, epoch)``, then
        ``permutation(seed, epoch, 1)``, ... when one pass is not enough."""
        passes = [np.random.default_rng([seed, epoch]).permutation(self.train_size)]
        while sum(len(p) for p in passes) < count:
            passes.append(
                np.random.default_rng([seed, epoch, len(passes)]).permutation(self.train_size)
            )
        return np.concatenate(passes)[:count]

    def train_batches(
        self,
        batch_size: int,
        *,
        seed: int,
        epochs: range,
        steps_per_epoch: int,
        shard: Shard = ONE_SHARD,
    ) -> Any:
        """Epoch ``e`` visits the images in the order :meth:`epoch_order` ``(seed, e)``,
        ``steps_per_epoch`` full batches of it. ``shard`` is not used: under several workers
        ``tf.distribute`` splits each global batch (the arrays are small)."""
        import tensorflow as tf

        del shard
        batch_size = min(batch_size, self.train_size)
        used = steps_per_epoch * batch_size
        order = (
            np.concatenate([self.epoch_order(seed, e, used) for e in epochs])
            if len(epochs)
            else np.zeros([0], np.int64)
        )
        images = tf.constant(self.x_train)
        labels = tf.constant(self.y_train.astype(np.int64))
        augmentation = self.augmentation
        if augmentation.name == "none":

            def gather(indices):
                return (
                    self.normalize_batch(tf.gather(images, indices)),
                    tf.gather(labels, indices),
                )

            batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
            return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
                tf.data.AUTOTUNE
            )
        positions = np.tile(np.arange(used, dtype=np.int64), len(epochs))
        epoch_of = np.repeat(np.asarray(list(epochs), np.int64), used)

        def augment(index, epoch, position):
            pixels = augmentation.train(
                tf.gather(images, index), element_seed(seed, epoch, 0, position)
            )
            return pixels, tf.gather(labels, index)

        examples = tf.data.Dataset.from_tensor_slices((order, epoch_of, positions))
        return (
            examples.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size, drop_remainder=True)
            .map(lambda x, y: (self.normalize_batch(x), y))
            .prefetch(tf.data.AUTOTUNE)
        )


__all__ = ["DEFAULT_MEAN", "DEFAULT_STD", "Dataset"]
