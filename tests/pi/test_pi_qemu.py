"""The Pi runner on aarch64 (qemu, a Cortex-A72) against x86: real ``lce``, ``int8`` and
``litert`` bundles, ai-edge-litert + the LCE-kernel delegate cross-built for aarch64; pi/setup.sh.

Opt-in: ``.venv/bin/python -m pytest -m qemu tests/pi/test_pi_qemu.py``. Needs root (apt-get,
mmdebstrap, chroot), Debian's apt mirror and PyPI the first time, the LCE sources
(``$BNNKIT_LCE_SOURCES`` or ../shared/third_party) and the full MNIST/Fashion-MNIST with their
samples (``$BNNKIT_DATA`` or ../shared/datasets). ``$BNNKIT_QEMU_DELEGATE`` gives an aarch64
delegate already built (CI builds it in an earlier step), ``$BNNKIT_QEMU_RESULTS`` a file to
write the summary to as well (results/qemu_lce_check.json). Everything is done by
tools/qemu/verify.sh (tools/qemu/lce_check.py); this test re-checks its summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ci_support import require

REPO = Path(__file__).resolve().parents[2]
ATOL = 1e-5
DATASETS = ("mnist", "fashion_mnist")
KINDS = ("bnn-lce", "xnor-lce", "horq-lce", "bireal-lce", "xnor-int8", "float-litert")

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def check(tmp_path_factory, lce_sources, full_datasets) -> Path:
    if os.geteuid() != 0:
        require("the qemu check needs root (apt-get, mmdebstrap, chroot)")
    if shutil.which("apt-get") is None:
        require("the qemu check needs a Debian-like host (apt-get)")
    out = tmp_path_factory.mktemp("qemu-check")
    command = ["bash", str(REPO / "tools" / "qemu" / "verify.sh"), "--out", str(out),
               "--sources", str(lce_sources), "--data-dir", str(full_datasets)]
    if os.environ.get("BNNKIT_QEMU_DELEGATE"):
        command += ["--delegate", os.environ["BNNKIT_QEMU_DELEGATE"]]
    if os.environ.get("BNNKIT_QEMU_RESULTS"):
        command += ["--results", os.environ["BNNKIT_QEMU_RESULTS"]]
    result = subprocess.run(command, capture_output=True, text=True)
    print(result.stdout[-3000:], result.stderr[-3000:])
    assert (out / "summary.json").is_file(), result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def summary(check) -> dict:
    return json.loads((check / "summary.json").read_text())


def test_every_kind_of_bundle_ran_on_both_datasets_with_the_delegate(summary):
    assert set(summary["bundles"]) == {f"{d}/{k}" for d in DATASETS for k in KINDS}
    for key, entry in summary["bundles"].items():
        lce = not key.endswith("litert")
        assert entry["x86_runtime"] == ("lce" if lce else "tflite")
        assert entry["aarch64_runtime"] == ("ai-edge-litert + LCE-kernel delegate" if lce
                                            else "ai-edge-litert")
    assert summary["images_per_dataset"] == {d: 220 for d in DATASETS}


def test_models_of_lce_ops_only_are_bit_exact_on_aarch64(summary):
    assert summary["lce_only"] and all(e["bit_exact"] for e in summary["lce_only"].values())


def test_every_bundle_gives_x86s_top1_class_on_every_image_with_and_without_xnnpack(summary):
    for key, entry in summary["bundles"].items():
        for mode in ("builtin", "xnnpack"):
            assert entry[mode]["same_top1"] == entry[mode]["images"] == 220, (key, mode)


@pytest.mark.parametrize("dataset", DATASETS)
def test_lce_bundles_without_xnnpack_match_x86_lce_within_1e_5(summary, dataset):
    """Float ops on TFLite's builtin kernels on both sides, as LCE's interpreter runs them."""
    for kind in KINDS:
        if kind.endswith("-lce"):
            assert summary["bundles"][f"{dataset}/{kind}"]["builtin"]["max_abs_diff"] <= ATOL


def test_litert_bundles_match_x86_within_1e_5_when_both_use_xnnpack(summary):
    for dataset in DATASETS:
        assert summary["bundles"][f"{dataset}/float-litert"]["xnnpack"]["max_abs_diff"] <= ATOL


def test_int8_bundles_differ_by_whole_int8_steps_first_in_builtin_ops_not_lce_ops(summary):
    """The int8 softmax's outputs are k/256 on both machines; where the two first differ is a
    builtin operator (TFLite's ARM and x86 kernels round differently), never an Lce op."""
    for dataset in DATASETS:
        assert summary["bundles"][f"{dataset}/xnor-int8"]["probabilities_in_steps_of_1/256"]
        diagnosis = summary["int8_diagnosis"][f"{dataset}/xnor-int8"]
        assert diagnosis["images"] == 20 and sum(diagnosis["first_difference"].values()) == 20
        assert not any(op.startswith("Lce") for op in diagnosis["first_difference"])


def test_aarch64_runs_float_ops_on_xnnpack_as_on_a_pi(summary):
    for key, entry in summary["bundles"].items():
        assert entry["aarch64_xnnpack_partitions"] >= 1, key


def test_timings_are_recorded(summary):
    assert summary["timings"]["aarch64_qemu_s"] > 0 and "qemu" in summary["emulator"]


def test_pi_setup_script_installs_a_working_runner_without_tensorflow(tmp_path, capsys,
                                                                     mnist_tflite_bundle,
                                                                     mnist_samples):
    """pi/setup.sh on this x86 host (BNNKIT_PI_ANY_ARCH=1): the real ai-edge-litert from PyPI.

    In the opt-in group because it downloads ai-edge-litert, numpy and Pillow from PyPI (~1 min).
    Inside the qemu chroot this cannot run: venv creation and pip's build isolation start
    aarch64 subprocesses, which need binfmt_misc (see docs/raspberry-pi.md).
    """
    import sys

    from bnnkit.cli import predict

    venv = tmp_path / "venv"
    env = {**os.environ, "BNNKIT_PI_ANY_ARCH": "1", "PYTHON": sys._base_executable}
    env.pop("PYTHONPATH", None)
    subprocess.run(["bash", str(REPO / "pi" / "setup.sh"), str(venv)], check=True, env=env,
                   cwd=tmp_path)
    argv = [str(mnist_tflite_bundle), *map(str, mnist_samples[:5]), "--json", "--top-k", "10"]
    result = subprocess.run([str(venv / "bin" / "python"), str(REPO / "pi" / "run_litert.py"),
                             *argv], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pi = json.loads(result.stdout)
    assert pi["runtime"] == "ai-edge-litert"
    assert predict.main(argv) == 0
    host = json.loads(capsys.readouterr().out)
    for a, b in zip(pi["predictions"], host["predictions"]):
        assert [c["index"] for c in a["top_k"]] == [c["index"] for c in b["top_k"]]
        for ca, cb in zip(a["top_k"], b["top_k"]):
            assert abs(ca["probability"] - cb["probability"]) <= ATOL
