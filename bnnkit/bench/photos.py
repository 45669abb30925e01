"""Write a folder of real photos for the data-scale benchmarks and tests, in the standard
layouts, from a few source photos.

    python -m bnnkit.bench.photos /tmp/gen --images 2000             # folder layout + TFRecords
    python -m bnnkit.bench.photos /tmp/gen --images 2000 --layout imagenet

Every output image is a JPEG of a random crop of one source photo: a box of 25-100% of its
area with aspect ratio in [3/4, 4/3], flipped horizontally with probability 1/2, rescaled so
that its shorter side is 160-320 pixels, saved at JPEG quality 75-95. Image ``i`` comes from
source ``i mod sources`` with randomness seeded by ``(seed, i)`` alone, and every 10th image
of each source (``--val-fraction 0.1``) goes to val/: a folder of 2,000 images is exactly the
first 2,000 of a folder of 20,000, and every class is in both splits. A source file named
``<anything>_<class>.<ext>`` (``imagenet_03_990.jpg``: class 990) gives its class; classes
are named like ImageNet synsets (``n00000990``), so the same images serve both layouts:

    folder     train/<class>/<i>.jpg, val/<class>/<i>.jpg
    imagenet   train/<synset>/<synset>_<i>.JPEG, val/ILSVRC2012_val_<i>.JPEG and
               LOC_val_solution.csv (the Kaggle ILSVRC layout)

``--tfrecords`` also writes ``tfrecords/train-*-of-*``, ``tfrecords/validation-*-of-*`` and
``tfrecords/labels.txt`` with the standard features (:mod:`bnnkit.data.tfrecord`). The same
``--seed`` gives the same files.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["source_class", "variant", "write_photos", "write_tfrecords"]

SHORTER_SIDE = (160, 320)
AREA = (0.25, 1.0)
ASPECT = (3 / 4, 4 / 3)
QUALITY = (75, 95)
DEFAULT_SOURCES = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "samples"


def source_class(path: Path) -> str:
    """The synset-like class name of a source photo: ``x_y_990.jpg`` -> ``n00000990``."""
    return f"n{int(path.stem.rsplit('_', 1)[1]):08d}"


def variant(image: Image.Image, rng: np.random.Generator) -> bytes:
    """One random crop/flip/rescale of ``image`` as JPEG bytes."""
    width, height = image.size
    for _ in range(10):
        area = rng.uniform(*AREA) * width * height
        aspect = np.exp(rng.uniform(np.log(ASPECT[0]), np.log(ASPECT[1])))
        w, h = round(float(np.sqrt(area * aspect))), round(float(np.sqrt(area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            break
    else:
        w, h = width, height
    left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    crop = image.crop((left, top, left + w, top + h))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    side = int(rng.integers(SHORTER_SIDE[0], SHORTER_SIDE[1] + 1))
    scale = side / min(w, h)
    crop = crop.resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
    )
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=int(rng.integers(QUALITY[0], QUALITY[1] + 1)))
    return out.getvalue()


def _name(layout: str, split: str, synset: str, index: int) -> str:
    if layout == "folder":
        return f"{split}/{synset}/{index:06d}.jpg"
    if split == "train":
        return f"train/{synset}/{synset}_{index}.JPEG"
    return f"val/ILSVRC2012_val_{index + 1:08d}.JPEG"


def write_photos(
    out: str | Path,
    sources: list[Path],
    images: int,
    *,
    val_fraction: float = 0.1,
    layout: str = "folder",
    seed: int = 0,
) -> dict:
    """Write ``images`` JPEGs (``val_fraction`` of them under val/); return the listing
    ``{"train": [(file, class)], "val": [...], "classes": [...]}`` (also ``listing.json``)."""
    out = Path(out)
    photos = [(Image.open(path).convert("RGB"), source_class(path)) for path in sorted(sources)]
    classes = sorted({name for _, name in photos})
    every = max(1, round(1 / val_fraction)) if val_fraction > 0 else 0
    listing: dict = {"train": [], "val": [], "classes": classes}
    for index in range(images):
        # the round of the sources this image belongs to decides its split
        split = "val" if every and (index // len(photos)) % every == 0 else "train"
        photo, synset = photos[index % len(photos)]
        name = _name(layout, split, synset, index)
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(variant(photo, np.random.default_rng([seed, index])))
        listing[split].append((name, synset))
    if layout == "imagenet":
        rows = ["ImageId,PredictionString"] + [
            f"{Path(name).stem},{synset} 0 0 1 1" for name, synset in listing["val"]
        ]
        (out / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    (out / "listing.json").write_text(json.dumps(listing))
    return listing


def write_tfrecords(
    out: str | Path, listing: dict, *, train_shards: int = 16, val_shards: int = 4
) -> Path:
    """TFRecord shards of the images of ``listing`` under ``out/tfrecords``."""
    from bnnkit.data.tfrecord import LABELS_FILE, example_bytes, write_shards

    out = Path(out)
    folder = out / "tfrecords"
    label = {name: i for i, name in enumerate(listing["classes"])}
    for split, prefix, shards in (
        ("train", "train", train_shards),
        ("val", "validation", val_shards),
    ):
        records = (
            example_bytes((out / name).read_bytes(), label[synset], synset, "JPEG")
            for name, synset in listing[split]
        )
        write_shards(records, folder / prefix, shards)
    (folder / LABELS_FILE).write_text("".join(f"{name}\n" for name in listing["classes"]))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to write (created)")
    parser.add_argument("--images", type=int, default=2000, help="JPEG files in all")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--layout", choices=("folder", "imagenet"), default="folder")
    parser.add_argument(
        "--sources", default=str(DEFAULT_SOURCES), help="folder of source photos (imagenet_*.jpg)"
    )
    parser.add_argument("--tfrecords", action="store_true", help="also write TFRecord shards")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sources = sorted(Path(args.sources).glob("imagenet_*.jpg"))
    if not sources:
        parser.error(f"no imagenet_*.jpg source photos in {args.sources}")
    listing = write_photos(
        args.out,
        sources,
        args.images,
        val_fraction=args.val_fraction,
        layout=args.layout,
        seed=args.seed,
    )
    if args.tfrecords:
        write_tfrecords(args.out, listing)
    print(
        f"wrote {len(listing['train'])} train + {len(listing['val'])} val JPEGs of "
        f"{len(listing['classes'])} classes to {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
