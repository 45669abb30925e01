"""The Pi runner on aarch64 (qemu) predicts what ``bnnkit predict`` predicts on x86; pi/setup.sh.

Opt-in: ``.venv/bin/python -m pytest -m qemu tests/pi/test_pi_qemu.py``. Needs root (apt-get,
mmdebstrap, chroot) and Debian's apt mirror plus PyPI the first time; ~35 s to build the arm64
root once, then ~2 min per run on a 2-core host (two `litert` bundles are trained and converted,
20 + 20 sample images on each side). Everything is done by tools/qemu/verify.sh; this test
re-checks its outputs itself.
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

pytestmark = pytest.mark.qemu



@pytest.fixture(scope="module")
def verify_outputs(tmp_path_factory) -> Path:
    if os.geteuid() != 0:
        require("the qemu check needs root (apt-get, mmdebstrap, chroot)")
    if shutil.which("apt-get") is None:
        require("the qemu check needs a Debian-like host (apt-get)")
    out = tmp_path_factory.mktemp("qemu-verify")
    result = subprocess.run(["bash", str(REPO / "tools" / "qemu" / "verify.sh"), "--out", str(out),
                             "--atol", str(ATOL)], capture_output=True, text=True)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_aarch64_litert_predictions_equal_x86_on_the_shared_samples(verify_outputs, dataset):
    x86 = json.loads((verify_outputs / f"x86-{dataset}.json").read_text())
    arm = json.loads((verify_outputs / f"aarch64-{dataset}.json").read_text())
    assert x86["target"] == arm["target"] == "litert"
    assert arm["runtime"] == "ai-edge-litert"
    assert len(x86["predictions"]) == len(arm["predictions"]) == 20
    for a, b in zip(x86["predictions"], arm["predictions"]):
        assert Path(a["image"]).name == Path(b["image"]).name
        assert [c["index"] for c in a["top_k"]] == [c["index"] for c in b["top_k"]]
        for ca, cb in zip(a["top_k"], b["top_k"]):
            assert abs(ca["probability"] - cb["probability"]) <= ATOL


def test_aarch64_run_used_xnnpack_as_on_a_pi(verify_outputs):
    assert "XNNPACK delegate" in (verify_outputs / "aarch64-mnist.log").read_text()


def test_timings_are_recorded(verify_outputs):
    timings = json.loads((verify_outputs / "timings.json").read_text())
    assert timings["aarch64_qemu_run_s"]["mnist"] > 0 and "qemu" in timings["machine"]


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
