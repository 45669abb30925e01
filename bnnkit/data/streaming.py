"""Datasets streamed from files with ``tf.data``: image folders, TFRecord shards, ImageNet.

Nothing is decoded ahead of time: the pipeline reads files, decodes, resizes and augments
in the TensorFlow graph with parallel calls (:mod:`bnnkit.data.augment`), batches and
prefetches. Memory grows with the batch size and the shuffle buffer, not with the dataset;
the file list itself (a path and a label per image) is the only per-image cost.

Order of the training images, epoch ``e``, seed ``s`` (a function of ``(s, e)`` and the
worker's shard only, so that ``--resume`` continues exactly):

- image files: a stateless permutation of the worker's files seeded by ``(s, e)``, a second
  one when an epoch needs more images than the worker holds;
- TFRecord shards: a stateless permutation of the worker's shard files seeded by ``(s, e)``,
  records interleaved from up to 16 files in a fixed pattern, then a block shuffle
  (:func:`block_shuffle`): each run of ``shuffle_buffer`` records is permuted by a stateless
  permutation seeded by ``(s, e, block)``. (``Dataset.shuffle`` cannot take a seed computed
  from the epoch when op determinism is on; the block shuffle needs no seed state at all.)
  An epoch that needs more records than the worker holds takes another pass, with its own
  file permutation and blocks.

With ``cache`` the worker's images are kept in memory (``cache="memory"``) or in files
(``cache=PATH``) after the first epoch, in file order, and each epoch's order comes from the
block shuffle. What is kept never changes a result: resized pixels for the ``none`` and
``cifar`` recipes (whose training transform starts with that resize), the file bytes for
``imagenet`` (whose random crop needs the whole image).

Several workers (``Shard(index, count)``): with at least as many files as workers, worker
``i`` reads files ``i, i + count, ...`` of the sorted list (sharding by file); with fewer
(say one TFRecord file) every worker reads every file and keeps records
``i, i + count, ...`` (sharding by data).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bnnkit.data.augment import Augmentation, element_seed, fold_seed, get_augmentation
from bnnkit.data.base import (
    DEFAULT_MEAN,
    DEFAULT_STD,
    ONE_SHARD,
    PHOTO_SIDE,
    InputOptions,
    Shard,
    TrainingData,
)
from bnnkit.data.tfrecord import parse_example
from bnnkit.errors import InvalidConfigError, InvalidDatasetError

INTERLEAVE_FILES = 16
#: Passes over a worker's records an epoch may take (an epoch stops at its step count first).
MAX_PASSES = 1 << 30
#: The fixed order of a split's files before any limit (so a limit keeps every class).
LISTING_SEED = 0


@dataclass(frozen=True)
class Split:
    """The files of one split: image files with one label each, or TFRecord shards.

    ``count`` is the number of images (records for TFRecords).
    """

    files: tuple[str, ...]
    labels: tuple[int, ...] | None
    count: int

    @classmethod
    def images(cls, files: list[str], labels: list[int]) -> Split:
        """Image files in a fixed pseudo-random order (``LISTING_SEED``), so that the first
        ``n`` of them mix every class."""
        order = np.random.default_rng(LISTING_SEED).permutation(len(files))
        return cls(tuple(files[i] for i in order), tuple(int(labels[i]) for i in order), len(files))

    @property
    def is_tfrecord(self) -> bool:
        return self.labels is None

    def take(self, count: int | None) -> Split:
        """The first ``count`` images (all when None)."""
        if count is None or count >= self.count:
            return self
        if self.labels is None:
            return replace(self, count=int(count))
        return Split(self.files[:count], self.labels[:count], int(count))

    def shard(self, shard: Shard) -> tuple[Split, bool]:
        """This worker's part, and whether records must still be sharded (by data)."""
        if shard.count == 1:
            return self, False
        if len(self.files) < shard.count:
            return self, True
        files = self.files[shard.index :: shard.count]
        if self.labels is None:
            return Split(files, None, -(-self.count * len(files) // len(self.files))), False
        return Split(files, self.labels[shard.index :: shard.count], len(files)), False


@dataclass
class StreamingDataset(TrainingData):
    """A dataset read from files batch by batch (see the module docstring).

    # Arguments
        name, source, classes: as for :class:`bnnkit.data.Dataset`.
        train, test: the :class:`Split` of each.
        recipe: the augmentation recipe, which also fixes the model input size.
        color_mode: ``grayscale`` or ``rgb``.
        label_offset: subtracted from TFRecord labels (1 for ImageNet records numbered 1..1000).
        shuffle_buffer: records in the TFRecord (and cache) shuffle buffer.
        cache: None, ``"memory"`` or a file path prefix.
    """

    name: str
    source: str
    classes: list[str]
    train: Split
    test: Split
    recipe: Augmentation
    color_mode: str = "rgb"
    label_offset: int = 0
    shuffle_buffer: int = InputOptions.shuffle_buffer
    cache: str | None = None
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    shards_by_file = True

    def __post_init__(self):
        channels = self.augmentation.channels
        self.mean = self.mean or [DEFAULT_MEAN] * channels
        self.std = self.std or [DEFAULT_STD] * channels

    @property
    def augmentation(self) -> Augmentation:
        return self.recipe

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.augmentation.input_shape

    @property
    def train_size(self) -> int:
        return self.train.count

    @property
    def test_size(self) -> int:
        return self.test.count

    def subset(self, train: int | None = None, test: int | None = None) -> StreamingDataset:
        """The first ``train``/``test`` images (all when None)."""
        if train is not None and self.train.is_tfrecord and train < self.train.count:
            raise InvalidConfigError(
                f"{self.name}: a training limit needs image files; TFRecord shards are read "
                "whole (use --steps-per-epoch to shorten the epochs)"
            )
        return replace(self, train=self.train.take(train), test=self.test.take(test))

    def train_files(self, shard: Shard = ONE_SHARD) -> list[str]:
        """The files the worker ``shard`` reads (all of them for one worker)."""
        return list(self.train.shard(shard)[0].files)

    # -- reading ----------------------------------------------------------------------------

    def _read_images(self, split: Split, indices):
        """(encoded bytes, label) of ``split``'s image files at ``indices`` (a dataset)."""
        import tensorflow as tf

        files = tf.constant(split.files)
        labels = tf.constant(split.labels, tf.int64)
        return indices.map(
            lambda i: (checked_read(files[i]), labels[i]), num_parallel_calls=tf.data.AUTOTUNE
        )

    def _read_records(self, files, cycle: int, by_data: Shard | None):
        """(encoded bytes, label) of the records of ``files`` (a string tensor), interleaved
        from ``cycle`` files at a time; ``by_data`` keeps only that shard's records."""
        import tensorflow as tf

        records = tf.data.Dataset.from_tensor_slices(files).interleave(
            tf.data.TFRecordDataset,
            cycle_length=cycle,
            block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        if by_data is not None:
            records = records.shard(by_data.count, by_data.index)
        return records.map(
            lambda r: parse_example(r, self.label_offset), num_parallel_calls=tf.data.AUTOTUNE
        )

    def _fixed_order(self, split: Split, by_data: Shard | None):
        """Every (encoded, label) of ``split`` in file order."""
        import tensorflow as tf

        if split.is_tfrecord:
            return self._read_records(tf.constant(split.files), 1, by_data)
        return self._read_images(split, tf.data.Dataset.range(split.count))

    def _epoch_stream(self, split: Split, by_data: Shard | None, key, count: int):
        """``count`` (encoded, label) pairs of one epoch in the order seeded by ``key``."""
        import tensorflow as tf

        stateless_shuffle = tf.random.experimental.stateless_shuffle
        if split.is_tfrecord:
            cycle = min(len(split.files), INTERLEAVE_FILES)

            def one_pass(p):
                files = stateless_shuffle(tf.constant(split.files), fold_seed(*key, -1, p))
                return block_shuffle(
                    self._read_records(files, cycle, by_data), self.shuffle_buffer, (*key, p)
                )

            return tf.data.Dataset.range(MAX_PASSES).flat_map(one_pass).take(count)
        size = len(split.files)
        indices = tf.data.Dataset.range(-(-count // size)).flat_map(
            lambda p: tf.data.Dataset.from_tensor_slices(
                stateless_shuffle(tf.range(size, dtype=tf.int64), fold_seed(*key, p))
            )
        )
        return self._read_images(split, indices.take(count))

    # -- pipelines ----------------------------------------------------------------------------

    def train_batches(
        self,
        batch_size: int,
        *,
        seed: int,
        epochs: range,
        steps_per_epoch: int,
        shard: Shard = ONE_SHARD,
    ) -> Any:
        """See :meth:`TrainingData.train_batches` and the module docstring."""
        import tensorflow as tf

        split, record_sharding = self.train.shard(shard)
        by_data = shard if record_sharding else None
        count = steps_per_epoch * batch_size
        augmentation = self.augmentation
        cached = None
        if self.cache:
            kept = self._fixed_order(split, by_data).map(
                lambda encoded, label: (augmentation.to_cache(encoded), label),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
            cached = kept.cache("" if self.cache == "memory" else self.cache)

        def epoch(e: Any) -> Any:
            key = (seed, e, shard.index)
            transform: Callable[[Any, Any], Any]
            if cached is None:
                stream = self._epoch_stream(split, by_data, key, count)
                transform = augmentation.train_encoded
            else:
                stream = (
                    tf.data.Dataset.range(MAX_PASSES)
                    .flat_map(lambda p: block_shuffle(cached, self.shuffle_buffer, (*key, p)))
                    .take(count)
                )
                transform = augmentation.train_cached
            return stream.enumerate().map(
                lambda position, item: (
                    augmentation.shaped(
                        transform(item[0], element_seed(seed, e, shard.index, position))
                    ),
                    item[1],
                ),
                num_parallel_calls=tf.data.AUTOTUNE,
            )

        examples = tf.data.Dataset.from_tensor_slices(np.asarray(list(epochs), np.int64))
        return (
            examples.flat_map(epoch)
            .batch(batch_size, drop_remainder=True)
            .map(lambda x, y: (self.normalize_batch(x), y))
            .prefetch(tf.data.AUTOTUNE)
        )

    def batches(self, split: str, batch_size: int | None = None) -> Any:
        """``split`` in file order, evaluation transform, normalized."""
        import tensorflow as tf

        augmentation = self.augmentation
        files = self.train if split == "train" else self.test
        examples = (
            self._fixed_order(files, None)
            .take(files.count)
            .map(
                lambda encoded, label: (augmentation.evaluate_encoded(encoded), label),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        )
        pipeline = (
            examples.batch(batch_size or self.eval_batch_size())
            .map(lambda x, y: (self.normalize_batch(x), y))
            .prefetch(tf.data.AUTOTUNE)
        )
        if not files.is_tfrecord:
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            pipeline = pipeline.with_options(options)
        return pipeline


def block_shuffle(dataset, block: int, key) -> Any:
    """``dataset`` of (value, label) with each run of ``block`` elements permuted by a stateless
    permutation seeded by ``key`` and the run's index (memory: one block)."""
    import tensorflow as tf

    def permute(index, values):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.shape(values[1])[0]), fold_seed(*key, -2, index)
        )
        return tf.data.Dataset.from_tensor_slices(tuple(tf.gather(v, order) for v in values))

    return dataset.batch(block).enumerate().flat_map(permute)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L")
PROBE_IMAGES = 16
IMAGENET_SIZE = (224, 224)


def _probe_images(split: Split) -> list[tuple[str, bytes]]:
    """Up to ``PROBE_IMAGES`` (name, encoded bytes) pairs spread over ``split``."""
    if split.is_tfrecord:
        import tensorflow as tf

        records = tf.data.TFRecordDataset(list(split.files[:1])).take(PROBE_IMAGES)
        return [(split.files[0], parse_example(r)[0].numpy()) for r in records]
    step = max(1, len(split.files) // PROBE_IMAGES)
    picked = sorted(split.files[::step][:PROBE_IMAGES])
    return [(path, Path(path).read_bytes()) for path in picked]


def probe(split: Split) -> tuple[int, int, bool]:
    """(height, width) of the first probed image and whether every probed image is grey."""
    from PIL import Image, UnidentifiedImageError

    sizes, grey = [], True
    for name, data in _probe_images(split):
        try:
            with Image.open(io.BytesIO(data)) as image:
                sizes.append((image.height, image.width))
                grey &= image.mode in GREY_MODES
        except (UnidentifiedImageError, OSError) as error:
            raise InvalidDatasetError(f"{name} is not a readable image: {error}") from None
    if not sizes:
        raise InvalidDatasetError(f"no image to read in {split.files[0] if split.files else '?'}")
    return (*sizes[0], grey)


def open_streaming(
    name: str,
    source: str,
    classes: list[str],
    splits: tuple[Split, Split],
    options: InputOptions,
    label_offset: int = 0,
) -> StreamingDataset:
    """A :class:`StreamingDataset` whose recipe, input size and colour mode follow
    ``options``, with the images' own size and mode where ``options`` leaves them open."""
    height, width, grey = probe(splits[0])
    augment = options.augment
    if augment == "auto":
        augment = "imagenet" if min(height, width) >= PHOTO_SIDE else "none"
    size = options.image_size or (IMAGENET_SIZE if augment == "imagenet" else (height, width))
    return StreamingDataset(
        name,
        source,
        classes,
        *splits,
        get_augmentation(augment, size, 1 if grey else 3),
        color_mode="grayscale" if grey else "rgb",
        label_offset=label_offset,
        shuffle_buffer=options.shuffle_buffer,
        cache=options.cache,
    )


IMAGE_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG", "PNG"), (b"GIF8", "GIF"), (b"BM", "BMP"))


def checked_read(path) -> Any:
    """The bytes of the image file ``path`` (a string tensor); a file that is not a JPEG,
    PNG, GIF or BMP stops the pipeline with an error that names it."""
    import tensorflow as tf

    data = tf.io.read_file(path)
    known = [tf.equal(tf.strings.substr(data, 0, len(magic)), magic) for magic, _ in IMAGE_MAGIC]
    check = tf.debugging.Assert(
        tf.reduce_any(tf.stack(known)), ["not a JPEG, PNG, GIF or BMP image:", path]
    )
    with tf.control_dependencies([check]):
        return tf.identity(data)


__all__ = ["Split", "StreamingDataset", "block_shuffle", "checked_read", "open_streaming", "probe"]
