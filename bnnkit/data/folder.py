"""List a folder of images with one sub-folder per class (``folder:PATH``).

Accepted layouts::

    root/train/<class>/*.jpg   root/val/<class>/*.jpg      (explicit split; test/ also works)
    root/<class>/*.jpg                                     (every 5th image goes to test)

Only the file names are read here; the images are decoded batch by batch while training
(:mod:`bnnkit.data.streaming`). JPEG, PNG, GIF and BMP files are used; other files are skipped
with a warning, since TensorFlow cannot decode them in the graph.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from bnnkit.data.base import InputOptions
from bnnkit.data.streaming import Split, StreamingDataset, open_streaming
from bnnkit.errors import DatasetNotFoundError, InvalidDatasetError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
#: Image files TensorFlow cannot decode in the graph (skipped with a warning).
OTHER_IMAGE_SUFFIXES = {".webp", ".tif", ".tiff"}
IMBALANCE_WARNING_RATIO = 5.0
EVAL_FOLDERS = ("val", "test")


def image_files(folder: str) -> tuple[list[str], int]:
    """Sorted image files directly in ``folder``, and how many other images were skipped."""
    images, skipped = [], 0
    with os.scandir(folder) as entries:
        for entry in entries:
            suffix = os.path.splitext(entry.name)[1].lower()
            if suffix in IMAGE_SUFFIXES and entry.is_file():
                images.append(entry.path)
            elif suffix in OTHER_IMAGE_SUFFIXES:
                skipped += 1
    return sorted(images), skipped


def class_files(folder: Path) -> tuple[dict[str, list[str]], int]:
    """{class name: sorted image files} for the sub-folders of ``folder``, and the count of
    skipped (undecodable) images."""
    by_class, skipped = {}, 0
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        by_class[sub.name], dropped = image_files(str(sub))
        skipped += dropped
    return by_class, skipped


def _splits(root: Path) -> tuple[dict, dict, int]:
    eval_folder = next((root / name for name in EVAL_FOLDERS if (root / name).is_dir()), None)
    if (root / "train").is_dir() and eval_folder is not None:
        train, skipped = class_files(root / "train")
        test, more = class_files(eval_folder)
        return train, test, skipped + more
    every, skipped = class_files(root)
    train = {c: [f for i, f in enumerate(fs) if i % 5 != 4] for c, fs in every.items()}
    test = {c: [f for i, f in enumerate(fs) if i % 5 == 4] for c, fs in every.items()}
    return train, test, skipped


def check_classes(root, train: dict, test: dict) -> list[str]:
    """The sorted class names; errors for too few or empty classes, a warning when one
    class has over ``IMBALANCE_WARNING_RATIO`` times the images of another."""
    classes = sorted(set(train) | set(test))
    if len(classes) < 2:
        raise InvalidDatasetError(
            f"{root} needs at least two class sub-folders with images; found {len(classes)}"
        )
    counts = {c: len(train.get(c, [])) + len(test.get(c, [])) for c in classes}
    empty = [c for c, n in counts.items() if n == 0]
    if empty:
        raise InvalidDatasetError(f"{root}: class folder(s) with no images: {', '.join(empty)}")
    if max(counts.values()) > IMBALANCE_WARNING_RATIO * min(counts.values()):
        fewest, most = min(counts, key=counts.__getitem__), max(counts, key=counts.__getitem__)
        warnings.warn(
            f"{root} is unbalanced: {fewest} has {counts[fewest]} images, {most} has "
            f"{counts[most]}",
            stacklevel=3,
        )
    return classes


def labelled(by_class: dict, classes: list[str]) -> Split:
    """A :class:`Split` of every file of ``by_class``, labelled by its index in ``classes``."""
    files, labels = [], []
    for index, name in enumerate(classes):
        files += by_class.get(name, [])
        labels += [index] * len(by_class.get(name, []))
    return Split.images(files, labels)


def load_image_folder(root: str | Path, options: InputOptions | None = None) -> StreamingDataset:
    """List ``root`` (see the module docstring) as a :class:`StreamingDataset`."""
    options = options or InputOptions()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist")
    train, test, skipped = _splits(root)
    classes = check_classes(root, train, test)
    if skipped:
        warnings.warn(
            f"{root}: skipped {skipped} WebP/TIFF image(s); convert them to JPEG or "
            "PNG to use them",
            stacklevel=2,
        )
    splits = (labelled(train, classes), labelled(test, classes))
    if splits[0].count == 0 or splits[1].count == 0:
        raise InvalidDatasetError(f"{root}: too few images to have both a train and a test split")
    return open_streaming(f"folder:{root}", str(root), classes, splits, options)


__all__ = [
    "IMAGE_SUFFIXES",
    "check_classes",
    "class_files",
    "image_files",
    "labelled",
    "load_image_folder",
]
