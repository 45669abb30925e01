"""The Raspberry Pi side: pi/run_litert.py and installing bnnkit without TensorFlow.

The aarch64 run itself is in tests/pi/test_pi_qemu.py (opt-in, ``-m qemu``). Here the runner is
checked on x86 with its own runtime, ``ai_edge_litert`` (a pinned dependency), against an
independent reference: the image read with Pillow, normalized with numpy and run by
TensorFlow's ``tf.lite.Interpreter`` (tests/predict_support.py).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bnnkit.cli import predict
from predict_support import ranked_to_vector, reference_probabilities

REPO = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_litert = _load("run_litert", REPO / "pi" / "run_litert.py")



def test_pi_runner_gives_the_reference_probabilities_and_what_bnnkit_predict_prints(
        capsys, mnist_tflite_bundle, mnist_samples):
    argv = [str(mnist_tflite_bundle), *map(str, mnist_samples[:6]), "--json", "--top-k", "10"]
    assert run_litert.main(argv) == 0
    pi = json.loads(capsys.readouterr().out)
    assert predict.main(argv) == 0
    host = json.loads(capsys.readouterr().out)
    assert pi["runtime"] == "ai-edge-litert"
    for path, a, b in zip(mnist_samples[:6], pi["predictions"], host["predictions"], strict=True):
        assert a["image"] == b["image"] == str(path)
        expected = reference_probabilities(mnist_tflite_bundle / "model.tflite", path)
        np.testing.assert_allclose(ranked_to_vector(a["top_k"]), expected, atol=1e-6)
        assert [c["index"] for c in a["top_k"]] == [c["index"] for c in b["top_k"]]
        np.testing.assert_allclose(ranked_to_vector(b["top_k"]), expected, atol=1e-6)


def test_pi_runner_text_output_matches_the_cli_format(capsys, mnist_tflite_bundle,
                                                      mnist_samples):
    assert run_litert.main([str(mnist_tflite_bundle), str(mnist_samples[0])]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{mnist_samples[0]}: ") and line.count("(") == 3


def test_pi_runner_runs_an_lce_bundle_with_the_delegate_as_bnnkit_predict_does(
        capsys, lce_delegate, mnist_lce_bundle, mnist_samples):
    """x86: ``bnnkit predict`` on LCE's interpreter; the runner on ai-edge-litert + delegate."""
    images = [str(p) for p in mnist_samples]
    assert predict.main([str(mnist_lce_bundle), *images, "--json", "--top-k", "10"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert expected["runtime"] == "lce"
    for xnnpack in ([], ["--no-xnnpack"]):  # float ops on XNNPACK, or builtin as in LCE
        assert run_litert.main([str(mnist_lce_bundle), *images, "--json", "--top-k", "10",
                                "--delegate", str(lce_delegate), *xnnpack]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["runtime"] == "ai-edge-litert + LCE-kernel delegate"
        for a, b in zip(expected["predictions"], got["predictions"], strict=True):
            assert a["top_k"][0]["index"] == b["top_k"][0]["index"]
            probabilities = {c["index"]: c["probability"] for c in a["top_k"]}
            assert all(abs(probabilities[c["index"]] - c["probability"]) <= 1e-5
                       for c in b["top_k"])


def test_pi_runner_without_the_delegate_refuses_an_lce_bundle_and_says_how_to_build_it(
        capsys, monkeypatch, tmp_path, mnist_lce_bundle, mnist_samples):
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(tmp_path / "missing.so"))
    assert run_litert.main([str(mnist_lce_bundle), str(mnist_samples[0])]) == 6
    err = capsys.readouterr().err
    assert "missing.so" in err and "bnnkit build-delegate" in err


def test_pi_runner_refuses_a_corrupt_model(capsys, tmp_path, mnist_tflite_bundle,
                                           mnist_samples):
    bundle = tmp_path / "bad"
    shutil.copytree(mnist_tflite_bundle, bundle)
    (bundle / "model.tflite").write_bytes(b"TFL3" + bytes(100))
    assert run_litert.main([str(bundle), str(mnist_samples[0])]) == 5  # InvalidModelFileError
    assert "run_litert: error:" in capsys.readouterr().err


class _FakeInt8Interpreter:
    """An int8-in, int8-out model computing y = x (to check the (de)quantization)."""

    def __init__(self, model_content=None, num_threads=None):
        self.tensors = {}

    def allocate_tensors(self):
        pass

    def get_input_details(self):
        return [{"index": 0, "shape": np.array([1, 2, 2, 1]), "dtype": np.int8,
                 "quantization": (1 / 64, 3)}]

    def get_output_details(self):
        return [{"index": 1, "shape": np.array([1, 4]), "dtype": np.int8,
                 "quantization": (1 / 64, 3)}]

    def set_tensor(self, index, value):
        self.tensors[index] = value

    def invoke(self):
        self.tensors[1] = self.tensors[0].reshape(1, 4)

    def get_tensor(self, index):
        return self.tensors[index]


def test_pi_runner_quantizes_int8_inputs_and_dequantizes_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(run_litert, "load_interpreter_class",
                        lambda: (_FakeInt8Interpreter, "fake"))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    runner = run_litert.LiteRTRunner(model)
    x = np.array([-1.0, 0.0, 0.5, 5.0], np.float32).reshape(1, 2, 2, 1)
    # q = round(x * 64) + 3 clipped to int8, then back: 5.0 saturates at (127 - 3) / 64
    np.testing.assert_allclose(runner.predict(x), [-1.0, 0.0, 0.5, 124 / 64])


def test_bnnkit_installs_with_no_deps_and_its_pi_modules_import_no_tensorflow(
        tmp_path, mnist_tflite_bundle):
    """What docs/raspberry-pi.md tells a Pi user to do: pip install --no-deps."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "bnnkit", "converters"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True)
    check = (
        "import sys, runpy\n"
        "import bnnkit, bnnkit.imaging, converters.predict, converters.litert_lce\n"
        "from bnnkit.cli.main import build_parser; build_parser()  # bnnkit build-delegate\n"
        "from converters.delegate import native_sources_dir\n"
        "assert (native_sources_dir() / 'build.sh').is_file()\n"
        f"assert bnnkit.__file__.startswith({str(target)!r}), bnnkit.__file__\n"
        f"runpy.run_path({str(REPO / 'pi' / 'run_litert.py')!r}, run_name='not_main')\n"
        f"spec = converters.predict.bundle_spec({str(mnist_tflite_bundle)!r})\n"
        "assert spec.target == 'litert' and len(spec.classes) == 10\n"
        "heavy = [m for m in ('tensorflow', 'tf_keras', 'larq', 'larq_compute_engine')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True,
                            text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_pi_runner_refuses_a_bare_model_with_lce_ops_on_another_runtime_with_advice(
        capsys, monkeypatch, tmp_path, mnist_samples):
    """LceQuantize/LceBconv2d need ai-edge-litert and the delegate: on another runtime
    (``tflite-runtime``; ``tf.lite`` stands in for it here) exit 6, and say so."""
    import tensorflow as tf

    from bnnkit.models import build_model
    from converters import convert_model

    monkeypatch.setattr(run_litert, "load_interpreter_class",
                        lambda: (tf.lite.Interpreter, "tf.lite"))

    report = convert_model(build_model("lenet", "bnn", width=0.25), tmp_path / "lce",
                           target="lce", compare_float=False)
    assert "LceBconv2d" in report["custom_ops"]
    code = run_litert.main([report["model_path"], str(mnist_samples[0])])
    assert code == 6
    assert "LCE-kernel delegate, not on tf.lite" in capsys.readouterr().err


def test_pi_runner_refuses_a_bare_model_whose_embedded_digest_does_not_match(
        capsys, tmp_path, mnist_samples):
    """A bnnkit model copied without its conversion.json still checks itself on the Pi."""
    from converters import convert_keras_model
    from converters.flatbuffer import read_flatbuffer
    from bnnkit.models import build_model

    data = bytearray(convert_keras_model(build_model("lenet", "bnn", width=0.25),
                                         target="litert"))
    good = tmp_path / "good.tflite"
    good.write_bytes(bytes(data))
    assert run_litert.main([str(good), str(mnist_samples[0])]) == 0
    capsys.readouterr()
    start, length = max(read_flatbuffer(bytes(data)).buffer_spans, key=lambda span: span[1])
    data[start + length // 2] ^= 0x10  # one bit of the largest weight buffer
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    assert run_litert.main([str(bad), str(mnist_samples[0])]) == 5
    assert "does not match the digest bnnkit embedded" in capsys.readouterr().err


def test_raspberry_pi_doc_quotes_the_committed_qemu_check():
    """docs/raspberry-pi.md shows the tables of results/qemu_lce_check.json, which met its goal."""
    lce_check = _load("lce_check", REPO / "tools" / "qemu" / "lce_check.py")
    summary = json.loads((REPO / "results" / "qemu_lce_check.json").read_text())
    doc = (REPO / "docs" / "raspberry-pi.md").read_text()
    quoted = doc.split("<!-- qemu-check:begin -->\n", 1)[1].split("<!-- qemu-check:end -->")[0]
    assert quoted == lce_check.summary_markdown(summary)
    assert summary["goal"] == {"lce_only_bit_exact": True, "top1_identical": True,
                               "lce_bundles_builtin_max_abs_diff_le_1e-5": True}
