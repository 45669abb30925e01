"""TFRecord shards of encoded images: the standard features, reading, counting and writing.

Each record is a ``tf.train.Example`` with the features of TensorFlow's ImageNet scripts
(``build_imagenet_data.py`` in tensorflow/models, also used by TF-Slim and larq-zoo):

    image/encoded       bytes   the JPEG/PNG file as it was
    image/class/label   int64   the class index
    image/class/text    bytes   the class name (optional; written here)
    image/format        bytes   "JPEG"/"PNG" (optional; written here)

``tfrecord:PATTERN`` reads the training shards PATTERN matches (a folder means
``folder/train*``) and the evaluation shards the same pattern names with ``train`` replaced
by ``validation``, ``val`` or ``test``. Class names come from ``labels.txt`` beside the shards
(one per line, in label order), else the labels are scanned once and named by number.

The file layout (TFRecord spec): each record is ``uint64 length``, ``uint32 masked crc of the
length``, ``length`` bytes of data and ``uint32 masked crc of the data``, little-endian;
:func:`count_records` walks the length fields only.
"""

from __future__ import annotations

import glob
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bnnkit.errors import DatasetNotFoundError, InvalidDatasetError

ENCODED, LABEL, TEXT, FORMAT = (
    "image/encoded",
    "image/class/label",
    "image/class/text",
    "image/format",
)
LABELS_FILE = "labels.txt"
EVAL_NAMES = ("validation", "val", "test")


def parse_example(serialized, label_offset: int = 0) -> Any:
    """One serialized ``tf.train.Example`` -> (encoded image bytes, int64 label)."""
    import tensorflow as tf

    features = tf.io.parse_single_example(
        serialized,
        {
            ENCODED: tf.io.FixedLenFeature([], tf.string),
            LABEL: tf.io.FixedLenFeature([], tf.int64),
        },
    )
    return features[ENCODED], features[LABEL] - label_offset


def count_records(path: str | os.PathLike) -> int:
    """Number of records in a TFRecord file, read from its length fields (no decoding)."""
    path = Path(path)
    size = path.stat().st_size
    count = offset = 0
    with open(path, "rb") as stream:
        while offset < size:
            header = stream.read(12)
            if len(header) < 12:
                raise InvalidDatasetError(
                    f"{path} is truncated: a record header is cut at byte {offset}"
                )
            (length,) = struct.unpack("<Q", header[:8])
            offset += 12 + length + 4
            if offset > size:
                raise InvalidDatasetError(
                    f"{path} is truncated or not a TFRecord file: a "
                    f"record of {length} bytes runs past the end"
                )
            stream.seek(offset)
            count += 1
    return count


def example_bytes(encoded: bytes, label: int, text: str = "", image_format: str = "") -> bytes:
    """A serialized ``tf.train.Example`` with the standard features."""
    import tensorflow as tf

    def bytes_feature(value: bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    feature = {
        ENCODED: bytes_feature(encoded),
        LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    if text:
        feature[TEXT] = bytes_feature(text.encode())
    if image_format:
        feature[FORMAT] = bytes_feature(image_format.encode())
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_shards(records: Iterable[bytes], prefix: str | os.PathLike, shards: int) -> list[Path]:
    """Write serialized records round-robin into ``<prefix>-00000-of-0000N`` files."""
    import tensorflow as tf

    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = [prefix.with_name(f"{prefix.name}-{i:05d}-of-{shards:05d}") for i in range(shards)]
    writers = [tf.io.TFRecordWriter(str(path)) for path in paths]
    try:
        for index, record in enumerate(records):
            writers[index % shards].write(record)
    finally:
        for writer in writers:
            writer.close()
    return paths


def split_patterns(pattern: str) -> tuple[str, list[str]]:
    """The training pattern and the candidate evaluation patterns of ``tfrecord:PATTERN``."""
    if Path(pattern).is_dir():
        pattern = str(Path(pattern) / "train*")
    folder, name = os.path.split(pattern)
    if "train" not in name:
        raise InvalidDatasetError(
            f"tfrecord:{pattern}: the shard pattern must contain "
            "'train' (the evaluation shards are found by replacing it)"
        )
    return pattern, [os.path.join(folder, name.replace("train", other)) for other in EVAL_NAMES]


def find_shards(pattern: str) -> tuple[list[str], list[str]]:
    """Sorted (training, evaluation) shard files of ``tfrecord:PATTERN``."""
    train_pattern, eval_patterns = split_patterns(pattern)
    train = sorted(
        p for p in glob.glob(train_pattern) if Path(p).is_file() and not p.endswith(LABELS_FILE)
    )
    if not train:
        raise DatasetNotFoundError(f"no TFRecord shards match {train_pattern}")
    for candidate in eval_patterns:
        found = sorted(p for p in glob.glob(candidate) if Path(p).is_file())
        if found:
            return train, found
    raise DatasetNotFoundError(
        f"no evaluation shards beside {train_pattern}: looked for " + ", ".join(eval_patterns)
    )


def read_class_names(path: Path) -> list[str] | None:
    """Class names, one per line (blank lines skipped), or None when ``path`` is no file."""
    if not path.is_file():
        return None
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [name for name in names if name]


def scan_labels(files: list[str]) -> int:
    """1 + the largest label in ``files`` (one pass over the records, labels only)."""
    import tensorflow as tf

    labels = tf.data.TFRecordDataset(files).map(
        lambda r: tf.io.parse_single_example(r, {LABEL: tf.io.FixedLenFeature([], tf.int64)})[LABEL]
    )
    return int(labels.reduce(tf.constant(-1, tf.int64), tf.maximum).numpy()) + 1


__all__ = [
    "ENCODED",
    "LABEL",
    "LABELS_FILE",
    "count_records",
    "example_bytes",
    "find_shards",
    "parse_example",
    "read_class_names",
    "scan_labels",
    "split_patterns",
    "write_shards",
]
