"""The in-memory dataset bnnkit trains on, and its ``tf.data`` pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DEFAULT_MEAN", "DEFAULT_STD", "Dataset"]


# Every bnnkit model sees x = (pixel / 255 - mean) / std, i.e. [-1, 1] with these values.
# The same numbers go into a deployment bundle's metadata.json.
DEFAULT_MEAN = 0.5
DEFAULT_STD = 0.5


@dataclass
class Dataset:
    """Images as uint8 NHWC arrays plus labels, with where they came from.

    ``source`` says where the files were found (a path, a download, or the bundled subset),
    so that a run can report exactly what it trained on.
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

    def __post_init__(self):
        channels = self.x_train.shape[-1]
        self.mean = self.mean or [DEFAULT_MEAN] * channels
        self.std = self.std or [DEFAULT_STD] * channels

    @property
    def input_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.x_train.shape[1:]
        return int(height), int(width), int(channels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

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
        )

    def pipeline(
        self, split: str, batch_size: int = 128, *, shuffle_seed: int | None = None
    ) -> Any:
        """A batched, normalized ``tf.data.Dataset`` of (image, label) for a split."""
        import tensorflow as tf

        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        mean = tf.constant(self.mean, tf.float32)
        std = tf.constant(self.std, tf.float32)
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int64)))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        ds = ds.map(
            lambda images, labels: ((tf.cast(images, tf.float32) / 255.0 - mean) / std, labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.prefetch(tf.data.AUTOTUNE)
