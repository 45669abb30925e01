"""Shared fixtures: the real datasets in ../shared/datasets, offline mode, tiny data."""

from __future__ import annotations

import os
import importlib.util
from pathlib import Path

import pytest

# Tests never download anything.
os.environ["BNNKIT_OFFLINE"] = "1"

import bnnkit  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("BNNKIT_SHARED_DATASETS",
                                      REPO_ROOT.parent / "shared" / "datasets"))
SAMPLES = SHARED_DATASETS / "samples"
LCE_SOURCES = Path(os.environ.get("BNNKIT_LCE_SOURCES",
                                  REPO_ROOT.parent / "shared" / "third_party"))


def skip_or_fail_in_ci(reason: str):
    """Skip where a build input is legitimately absent (users' clones); fail in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: CI must provide it)")
    pytest.skip(reason)


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


def _load_tool(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_test_bundle = _load_tool("make_test_bundle", REPO_ROOT / "tools" / "qemu" / "make_test_bundle.py")


_BUNDLES: dict = {}  # built once per session even when another test module imports the fixture


@pytest.fixture(scope="session")
def mnist_tflite_bundle(tmp_path_factory, mnist):
    """A float LeNet trained briefly on 1,000 real MNIST images, as a bundle (stock ops)."""
    if "mnist" in _BUNDLES:
        return _BUNDLES["mnist"]
    import tensorflow as tf

    from converters.bundle import write_bundle

    model = make_test_bundle.train_float_lenet(mnist, train=1000, epochs=1, width=0.25)
    work = tmp_path_factory.mktemp("bundle")
    (work / "float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    out = write_bundle(work / "mnist", work / "float.tflite", classes=mnist.classes,
                       metadata=make_test_bundle._metadata(mnist))
    _BUNDLES["mnist"] = out
    return out


@pytest.fixture(scope="session")
def mnist_samples():
    paths = sorted(SAMPLES.glob("mnist_*.png"))
    if not paths:
        pytest.skip(f"no MNIST samples in {SAMPLES}")
    return paths


@pytest.fixture(scope="session")
def lce_sources() -> Path:
    """The pinned third-party sources of the LCE-kernel delegate (../shared/third_party)."""
    if not (LCE_SOURCES / "larq-compute-engine").is_dir():
        skip_or_fail_in_ci(f"no LCE sources at {LCE_SOURCES} (set $BNNKIT_LCE_SOURCES)")
    return LCE_SOURCES


@pytest.fixture(scope="session")
def lce_delegate(lce_sources, tmp_path_factory) -> Path:
    """The native LCE-kernel delegate, built once per test session."""
    from bnnkit.errors import BuildRequirementMissingError
    from converters.delegate import DELEGATE_FILE, build_delegate

    try:
        return build_delegate("native", sources=lce_sources,
                              output=tmp_path_factory.mktemp("delegate") / DELEGATE_FILE)
    except BuildRequirementMissingError as error:
        skip_or_fail_in_ci(str(error))
