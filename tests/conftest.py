"""Shared fixtures: the real datasets in ../shared/datasets, offline mode, tiny data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never download anything.
os.environ["BNNKIT_OFFLINE"] = "1"

import bnnkit  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("BNNKIT_SHARED_DATASETS",
                                      REPO_ROOT.parent / "shared" / "datasets"))
SAMPLES = SHARED_DATASETS / "samples"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not (SHARED_DATASETS / "mnist").is_dir():
        pytest.fail(f"the shared datasets are missing at {SHARED_DATASETS}; "
                    "set BNNKIT_SHARED_DATASETS")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def samples_dir(shared_datasets) -> Path:
    return shared_datasets / "samples"


@pytest.fixture(scope="session")
def mnist(shared_datasets):
    from bnnkit.data import load_dataset

    return load_dataset("mnist", shared_datasets)


@pytest.fixture(scope="session")
def mnist_small(mnist):
    """2,000 training and 500 test images of real MNIST."""
    return mnist.subset(2000, 500)
