"""ImageNet (ILSVRC-2012) in its standard layouts (``imagenet:PATH``).

Image folders, as distributed (``PATH`` may be the ``CLS-LOC`` folder or the root above
``ILSVRC/Data/CLS-LOC`` of the Kaggle copy)::

    train/n01440764/n01440764_10026.JPEG ...      one folder per synset (1000)
    val/ILSVRC2012_val_00000001.JPEG ...          flat, labelled by one of:
        LOC_val_solution.csv                        ImageId,PredictionString (Kaggle)
        imagenet_2012_validation_synset_labels.txt  one synset per line, in file-name order
                                                    (tensorflow/models, TF-Slim)
    or val/n01440764/*.JPEG                       validation already sorted into synsets

TFRecords, as ``build_imagenet_data.py`` (tensorflow/models) writes them::

    train-00000-of-01024 ... validation-00000-of-00128 ...

whose ``image/class/label`` runs from 1 to 1000 (0 was reserved for a background class), so
1 is subtracted. Class names come from ``labels.txt`` or ``synsets.txt`` beside the shards
(one per line in label order), else they are the label numbers.

Classes are the synsets sorted by name (label 0 = n01440764), the convention of every
framework's ImageNet loader.
"""

from __future__ import annotations

import csv
import glob
import re
from pathlib import Path

from bnnkit.data.base import InputOptions
from bnnkit.data.folder import check_classes, class_files, image_files, labelled
from bnnkit.data.streaming import Split, StreamingDataset, open_streaming
from bnnkit.data.tfrecord import LABELS_FILE, count_records, read_class_names
from bnnkit.errors import DatasetNotFoundError, InvalidDatasetError

SYNSET = re.compile(r"^n\d{8}$")
KAGGLE_LABELS = "LOC_val_solution.csv"
SLIM_LABELS = "imagenet_2012_validation_synset_labels.txt"
IMAGENET_CLASSES = 1000
TFRECORD_LABEL_OFFSET = 1


def _cls_loc(path: Path) -> Path | None:
    for candidate in (path, path / "ILSVRC" / "Data" / "CLS-LOC", path / "Data" / "CLS-LOC"):
        if (candidate / "train").is_dir() and (candidate / "val").is_dir():
            return candidate
    return None


def _val_labels(path: Path, cls_loc: Path, files: list[str]) -> list[str]:
    """The synset of each flat validation file, from the first labels file found."""
    places = [path, cls_loc, cls_loc / "val", *cls_loc.parents[:3]]
    for folder in places:
        kaggle = folder / KAGGLE_LABELS
        if kaggle.is_file():
            with open(kaggle, newline="") as stream:
                synset_of = {
                    row["ImageId"]: row["PredictionString"].split()[0]
                    for row in csv.DictReader(stream)
                }
            missing = [f for f in files if Path(f).stem not in synset_of]
            if missing:
                raise InvalidDatasetError(
                    f"{kaggle} has no label for {Path(missing[0]).name} "
                    f"(and {len(missing) - 1} more)"
                )
            return [synset_of[Path(f).stem] for f in files]
        slim = folder / SLIM_LABELS
        if slim.is_file():
            synsets = slim.read_text().split()
            if len(synsets) != len(files):
                raise InvalidDatasetError(
                    f"{slim} has {len(synsets)} labels for {len(files)} validation images"
                )
            return synsets
    raise DatasetNotFoundError(
        f"{cls_loc / 'val'} holds images but no labels: put {KAGGLE_LABELS} or {SLIM_LABELS} "
        f"in {path}, or sort the images into val/<synset>/ folders"
    )


def _val_split(path: Path, cls_loc: Path, classes: list[str]) -> dict:
    val = cls_loc / "val"
    sorted_into_synsets, _ = class_files(val)
    if sorted_into_synsets:
        return sorted_into_synsets
    files, _ = image_files(str(val))
    by_class: dict[str, list[str]] = {}
    for file, synset in zip(files, _val_labels(path, cls_loc, files), strict=True):
        by_class.setdefault(synset, []).append(file)
    unknown = sorted(set(by_class) - set(classes))
    if unknown:
        raise InvalidDatasetError(
            f"validation labels name synsets with no training folder: {', '.join(unknown[:5])}"
        )
    return by_class


def _from_folders(path: Path, cls_loc: Path, options: InputOptions) -> StreamingDataset:
    train, _ = class_files(cls_loc / "train")
    strays = [name for name in train if not SYNSET.match(name)]
    if strays:
        raise InvalidDatasetError(
            f"{cls_loc / 'train'}: folders that are not synsets "
            f"(nXXXXXXXX): {', '.join(strays[:5])}"
        )
    classes = sorted(train)
    test = _val_split(path, cls_loc, classes)
    check_classes(cls_loc, train, {})
    splits = (labelled(train, classes), labelled(test, classes))
    return open_streaming(f"imagenet:{path}", str(cls_loc), classes, splits, options)


def _from_tfrecords(path: Path, options: InputOptions) -> StreamingDataset:
    train = sorted(glob.glob(str(path / "train-*")))
    test = sorted(glob.glob(str(path / "validation-*")))
    if not test:
        raise DatasetNotFoundError(f"{path} has train-* TFRecord shards but no validation-*")
    classes = (
        read_class_names(path / LABELS_FILE)
        or read_class_names(path / "synsets.txt")
        or [str(i) for i in range(IMAGENET_CLASSES)]
    )
    splits = (
        Split(tuple(train), None, sum(count_records(f) for f in train)),
        Split(tuple(test), None, sum(count_records(f) for f in test)),
    )
    return open_streaming(
        f"imagenet:{path}", str(path), classes, splits, options, label_offset=TFRECORD_LABEL_OFFSET
    )


def load_imagenet(path: str | Path, options: InputOptions | None = None) -> StreamingDataset:
    """Open ImageNet at ``path`` in any layout of the module docstring."""
    options = options or InputOptions()
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetNotFoundError(f"ImageNet folder {path} does not exist")
    if glob.glob(str(path / "train-*")):
        return _from_tfrecords(path, options)
    cls_loc = _cls_loc(path)
    if cls_loc is None:
        raise DatasetNotFoundError(
            f"{path} is not an ImageNet folder: expected train/ and val/ (in it, or in "
            "ILSVRC/Data/CLS-LOC/), or train-*/validation-* TFRecord shards"
        )
    return _from_folders(path, cls_loc, options)


__all__ = ["load_imagenet"]
