"""ImageNet scale, no training: build and convert XNOR/BWN AlexNet and ResNet-18, Bi-Real-18
and -34 at 224x224x3, 1000 classes, and record MACs, binary fraction, .tflite size,
conversion time and peak memory (each conversion in its own nice'd process).

    python -m bnnkit.bench.imagenet [--out results/imagenet.json] [--nice 15]

The result goes into ``results/imagenet.json``; ``bnnkit report`` adds it to REPORT.md with
Larq Zoo's published sizes beside it. Rows whose architecture is not in
``bnnkit.models.ARCHITECTURES`` are recorded as failed with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bnnkit.bench.machine import machine_info
from bnnkit.bench.worker import convert_in_worker

__all__ = ["MODELS", "main", "run_imagenet"]


MODELS = [  # (arch, method, target, published comparable)
    ("alexnet", "xnor", "lce", "xnor-alexnet"),
    ("alexnet", "bwn", "litert", "xnor-alexnet"),
    ("resnet18", "xnor", "lce", "resnet18-binary"),
    ("resnet18", "bwn", "litert", "resnet18-binary"),
    ("bireal18", "bireal", "lce", "bireal18"),
    ("bireal34", "bireal", "lce", None),
]


def run_imagenet(
    out: str | os.PathLike = "results/imagenet.json",
    *,
    nice: int = 15,
    models: Sequence[tuple] = MODELS,
    work_dir: str | os.PathLike | None = None,
    log: Callable[[str], object] = print,
) -> dict:
    import bnnkit  # noqa: F401
    from bnnkit.models import ARCHITECTURES

    work = Path(work_dir or tempfile.mkdtemp(prefix="bnnkit-imagenet-"))
    rows = []
    for arch, method, target, published in models:
        if arch not in ARCHITECTURES:
            rows.append(
                {
                    "arch": arch,
                    "method": method,
                    "target": target,
                    "error": f"architecture {arch!r} is not in bnnkit.models yet",
                }
            )
            continue
        log(f"building and converting {arch}/{method} ({target}), nice {nice}")
        try:
            row = convert_in_worker(
                arch,
                method,
                target,
                work / f"{arch}-{method}",
                input_shape=(224, 224, 3),
                classes=1000,
                calibration=2,
                nice=nice,
                timeout=3600,
            )
            row["published_key"] = published
        except Exception as error:
            row = {"arch": arch, "method": method, "target": target, "error": str(error)[:500]}
        rows.append(row)
        log(
            json.dumps(
                {
                    k: row.get(k)
                    for k in ("arch", "method", "tflite_bytes", "seconds", "peak_rss_mb", "error")
                }
            )
        )
    result = {"machine": machine_info(), "models": rows}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=2, default=str))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bnnkit.bench.imagenet")
    parser.add_argument("--out", default="results/imagenet.json")
    parser.add_argument("--nice", type=int, default=15)
    args = parser.parse_args(argv)
    run_imagenet(args.out, nice=args.nice)
    return 0


if __name__ == "__main__":
    sys.exit(main())
