"""Shared fixtures and the data the tests use.

The default run needs nothing outside the checkout:

* ``tests/data/samples/``: 20 MNIST test images and a few Fashion-MNIST, CIFAR-10 and
  ImageNet ones (PNG/JPEG, as ``<set>_<index>_<label>``), for the image and predict tests;
* bnnkit's own real MNIST subset (first 5,000 training and 1,000 test images), which the
  ``mnist``/``mnist_dir`` fixtures use.

Tests that need the full MNIST/Fashion-MNIST ask for ``full_datasets``; it is found through
``$BNNKIT_DATA`` (or ``../shared/datasets`` beside the checkout, when it exists). Without it
such a test is skipped with the reason, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

# Tests never download anything.
os.environ["BNNKIT_OFFLINE"] = "1"

import bnnkit  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
from bnnkit.data.loaders import BUNDLED_SUBSET  # noqa: E402
from ci_support import full_datasets_dir, require  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = REPO_ROOT / "tests" / "data"
SAMPLES = TEST_DATA / "samples"
LCE_SOURCES = Path(os.environ.get("BNNKIT_LCE_SOURCES",
                                  REPO_ROOT.parent / "shared" / "third_party"))


@pytest.fixture(scope="session")
def full_datasets() -> Path:
    """The folder with the full MNIST and Fashion-MNIST (skip/fail when there is none)."""
    folder = full_datasets_dir()
    if folder is None:
        require("needs the full MNIST and Fashion-MNIST: set BNNKIT_DATA to a folder holding "
                "mnist/ and fashion-mnist/ (gzipped IDX files)")
    return folder


@pytest.fixture(scope="session")
def full_mnist(full_datasets):
    """All 60,000 / 10,000 MNIST images."""
    from bnnkit.data import load_dataset

    return load_dataset("mnist", full_datasets)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """A ``--data-dir`` holding real MNIST: bnnkit's shipped subset (5,000 / 1,000 images)."""
    return BUNDLED_SUBSET


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """Real MNIST, the first 5,000 training and 1,000 test images (shipped with bnnkit)."""
    from bnnkit.data import load_dataset

    return load_dataset("mnist", mnist_dir)


@pytest.fixture(scope="session")
def mnist_small(mnist):
    """2,000 training and 500 test images of real MNIST."""
    return mnist.subset(2000, 500)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def mnist_samples() -> list[Path]:
    """The first 20 MNIST test images as PNG files, named ``mnist_<index>_<label>.png``."""
    paths = sorted(SAMPLES.glob("mnist_*.png"))
    assert len(paths) == 20, f"tests/data/samples should hold 20 MNIST images, has {len(paths)}"
    return paths


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

    model = make_test_bundle.train_lenet(mnist, train=1000, epochs=1, width=0.25)
    work = tmp_path_factory.mktemp("bundle")
    (work / "float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    out = write_bundle(work / "mnist", work / "float.tflite", classes=mnist.classes,
                       metadata=make_test_bundle.bundle_metadata(mnist))
    _BUNDLES["mnist"] = out
    return out


@pytest.fixture(scope="session")
def mnist_lce_bundle(tmp_path_factory, mnist):
    """A BNN LeNet trained briefly on 1,000 real MNIST images, as an ``lce``-target bundle."""
    if "mnist-lce" not in _BUNDLES:
        model = make_test_bundle.train_lenet(mnist, method="bnn", train=1000, epochs=1,
                                             width=0.25)
        _BUNDLES["mnist-lce"] = make_test_bundle.write_test_bundle(
            model, tmp_path_factory.mktemp("bundle") / "mnist-lce", mnist, method="bnn",
            target="lce")
    return _BUNDLES["mnist-lce"]


@pytest.fixture(scope="session")
def lce_sources() -> Path:
    """The pinned third-party sources of the LCE-kernel delegate (../shared/third_party)."""
    if not (LCE_SOURCES / "larq-compute-engine").is_dir():
        require(f"no LCE sources at {LCE_SOURCES} (set $BNNKIT_LCE_SOURCES)")
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
        require(str(error))


@pytest.fixture(scope="session")
def x86_kernel_check(lce_sources, tmp_path_factory) -> Path:
    """x86_kernel_check (delegate/tools): bnnkit's x86 kernels against LCE's portable kernel."""
    from bnnkit.bench.kernels import build_kernel_check
    from bnnkit.errors import BuildRequirementMissingError

    try:
        return build_kernel_check(lce_sources,
                                  tmp_path_factory.mktemp("x86") / "x86_kernel_check")
    except BuildRequirementMissingError as error:
        require(str(error))
