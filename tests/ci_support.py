"""What a test needs from outside the checkout, and what to do when it is missing.

Outside CI a missing prerequisite (the full datasets, a JDK) skips the test with the reason; in
CI (``CI=true``) it fails, so that CI cannot pass by skipping what it is meant to check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
FULL_SETS = ("mnist", "fashion-mnist")


def in_ci() -> bool:
    """``CI=true`` (or ``1``/``yes``): a missing prerequisite is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(reason: str) -> None:
    """Stop the current test because something it needs is missing: fail in CI, else skip."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required here)", pytrace=False)
    pytest.skip(reason)


def full_datasets_dir() -> Path | None:
    """A folder holding the full MNIST and Fashion-MNIST: ``$BNNKIT_DATA``, else ../shared."""
    candidates = [Path(os.environ["BNNKIT_DATA"])] if os.environ.get("BNNKIT_DATA") else []
    candidates.append(SHARED_DATASETS)
    for folder in candidates:
        if all((folder / name / "train-images-idx3-ubyte.gz").is_file() for name in FULL_SETS):
            return folder
    return None
