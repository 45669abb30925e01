"""Load a folder of images with one sub-folder per class.

Accepted layouts::

    root/train/<class>/*.png   root/test/<class>/*.png     (explicit split)
    root/<class>/*.jpg                                      (every 5th image goes to test)

Images are decoded with Pillow, converted to RGB (or grayscale when every image is
grayscale) and resized with the bilinear filter to one size.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bnnkit.data.dataset import Dataset
from bnnkit.errors import DatasetNotFoundError, InvalidDatasetError

__all__ = ["IMAGE_SUFFIXES", "IMBALANCE_WARNING_RATIO", "load_image_folder"]


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
IMBALANCE_WARNING_RATIO = 5.0


def _class_files(folder: Path) -> dict[str, list[Path]]:
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    return {
        c.name: sorted(f for f in c.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        for c in classes
    }


def _decode(path: Path, size: tuple[int, int] | None) -> Image.Image:
    try:
        with Image.open(path) as opened:
            opened.load()
            image: Image.Image = opened
            if image.mode not in ("L", "RGB"):
                image = image.convert("RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return image
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise InvalidDatasetError(f"{path} is not a readable image: {error}") from error


def load_image_folder(root: str | Path, image_size: tuple[int, int] | None = None) -> Dataset:
    """Read ``root`` (see the module docstring) into a :class:`Dataset`."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist")
    if (root / "train").is_dir() and (root / "test").is_dir():
        splits = {"train": _class_files(root / "train"), "test": _class_files(root / "test")}
        classes = sorted(set(splits["train"]) | set(splits["test"]))
    else:
        every = _class_files(root)
        classes = sorted(every)
        splits = {
            "train": {c: [f for i, f in enumerate(fs) if i % 5 != 4] for c, fs in every.items()},
            "test": {c: [f for i, f in enumerate(fs) if i % 5 == 4] for c, fs in every.items()},
        }
    if len(classes) < 2:
        raise InvalidDatasetError(
            f"{root} needs at least two class sub-folders with images; found {len(classes)}"
        )
    counts = {c: len(splits["train"].get(c, [])) + len(splits["test"].get(c, [])) for c in classes}
    empty = [c for c, n in counts.items() if n == 0]
    if empty:
        raise InvalidDatasetError(f"{root}: class folder(s) with no images: {', '.join(empty)}")
    if max(counts.values()) > IMBALANCE_WARNING_RATIO * min(counts.values()):
        fewest, most = min(counts, key=counts.__getitem__), max(counts, key=counts.__getitem__)
        warnings.warn(
            f"{root} is unbalanced: {fewest} has {counts[fewest]} images, {most} has "
            f"{counts[most]}",
            stacklevel=2,
        )
    all_files = [f for split in splits.values() for fs in split.values() for f in fs]
    if image_size is None:
        first = _decode(all_files[0], None)
        image_size = (first.height, first.width)
    arrays = {}
    grayscale = True
    for split, by_class in splits.items():
        images, labels = [], []
        for index, name in enumerate(classes):
            for path in by_class.get(name, []):
                image = _decode(path, image_size)
                grayscale &= image.mode == "L"
                images.append(image)
                labels.append(index)
        arrays[split] = (images, np.asarray(labels, np.int64))
    mode = "L" if grayscale else "RGB"

    def stack(images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, *image_size, 1 if grayscale else 3), np.uint8)
        array = np.stack([np.asarray(img.convert(mode), np.uint8) for img in images])
        return array[..., None] if grayscale else array

    x_train, y_train = stack(arrays["train"][0]), arrays["train"][1]
    x_test, y_test = stack(arrays["test"][0]), arrays["test"][1]
    if len(x_train) == 0 or len(x_test) == 0:
        raise InvalidDatasetError(f"{root}: too few images to have both a train and a test split")
    return Dataset(
        f"folder:{root}",
        x_train,
        y_train,
        x_test,
        y_test,
        classes,
        str(root),
        color_mode="grayscale" if grayscale else "rgb",
    )
