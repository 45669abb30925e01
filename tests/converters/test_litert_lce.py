"""The ``litert-lce`` runtime (ai-edge-litert + the LCE-kernel delegate): chosen by ``auto``
where LCE's interpreter is missing, and equal to LCE's interpreter on every binary method."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bnnkit.errors import UnsupportedModelError
from converters.flatbuffer import LCE_CUSTOM_OPS, read_flatbuffer
from converters.runtime import LceRunner, choose_runtime, open_runner
from converters_support import tiny_lce_flatbuffer, trained_tiny_model

AGREEMENT_IMAGES = 2000


@pytest.fixture
def delegate_env(monkeypatch, lce_delegate):
    """The test session's delegate is where the runtime looks ($BNNKIT_LCE_DELEGATE)."""
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(lce_delegate))
    return lce_delegate


@pytest.fixture
def no_lce_interpreter(monkeypatch):
    """As on a Raspberry Pi, or any machine without the larq-compute-engine wheel."""
    monkeypatch.setattr(LceRunner, "unavailable_reason",
                        classmethod(lambda cls: "simulated: no larq-compute-engine wheel"))


def test_auto_chooses_litert_lce_where_lce_interpreter_is_missing(delegate_env,
                                                                   no_lce_interpreter):
    assert choose_runtime(LCE_CUSTOM_OPS).name == "litert-lce"
    assert choose_runtime([]).name == "tflite"  # builtin ops still go to a stock runtime
    runner = open_runner(tiny_lce_flatbuffer(), trial=True)  # the trial runs on it too
    assert runner.runtime == "litert-lce"
    assert runner.options == {"num_threads": 1, "delegate": str(delegate_env), "xnnpack": True}
    x = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    data = tiny_lce_flatbuffer()
    expected = LceRunner(data, read_flatbuffer(data), runtime="lce").predict(x)
    np.testing.assert_allclose(runner.predict(x), expected, atol=1e-5)


def test_auto_prefers_lce_interpreter_where_it_is_installed(delegate_env):
    assert choose_runtime(LCE_CUSTOM_OPS).name == "lce"


def test_litert_lce_without_a_built_delegate_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(tmp_path / "none.so"))
    with pytest.raises(UnsupportedModelError, match="runtime 'litert-lce' is not available "
                                                    r"here: .*none\.so.*bnnkit build-delegate"):
        open_runner(tiny_lce_flatbuffer(), runtime="litert-lce", trial=False)


def test_litert_lce_runs_float_ops_on_xnnpack(delegate_env):
    runner = open_runner(tiny_lce_flatbuffer(), runtime="litert-lce", trial=False)
    ops = [op["op_name"] for op in runner._interpreter._get_ops_details()]
    lce_nodes = sum(op in LCE_CUSTOM_OPS for op in ops)
    # one delegate node per LCE node, and more: the partitions XNNPACK took
    assert ops.count("DELEGATE") > lce_nodes > 0


def test_delegate_kernel_options_pass_through_the_runner(delegate_env, lce_delegate):
    x = np.random.default_rng(1).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    default = open_runner(tiny_lce_flatbuffer(), runtime="litert-lce", trial=False,
                          kernel_options={"delegate": str(lce_delegate)})
    reference = open_runner(tiny_lce_flatbuffer(), runtime="litert-lce", trial=False,
                            kernel_options={"delegate": str(lce_delegate),
                                            "LceBconv2d": "reference"})
    assert reference.options["LceBconv2d"] == "reference"
    np.testing.assert_array_equal(default.predict(x), reference.predict(x))
    with pytest.raises(UnsupportedModelError, match="did not load.*unknown kernel 'turbo'"):
        open_runner(tiny_lce_flatbuffer(), runtime="litert-lce", trial=False,
                    kernel_options={"delegate": str(lce_delegate), "LceBconv2d": "turbo"})


def test_evaluate_cli_runs_on_litert_lce_with_lce_accuracy(delegate_env, tmp_path, capsys,
                                                           mnist_dir):
    from bnnkit.cli.main import main

    model = tmp_path / "model.tflite"
    model.write_bytes(tiny_lce_flatbuffer())
    results = {}
    for runtime in ("lce", "litert-lce"):
        assert main(["evaluate", str(model), "--runtime", runtime, "--limit", "200",
                     "--data-dir", str(mnist_dir), "--json"]) == 0
        results[runtime] = json.loads(capsys.readouterr().out)
    assert results["litert-lce"]["runtime"] == "litert-lce"
    assert results["litert-lce"]["accuracy"] == results["lce"]["accuracy"]


# Top-1 agreement of litert-lce with XNNPACK (the runtime's default) with LCE's interpreter.
# lce models: XNNPACK's float kernels round a few float ops differently, which can flip a
# binarized sign sitting within rounding of zero: >= 99.9%.
# int8 models: XNNPACK's int8 kernels requantize with another rounding than TFLite's builtin
# int8 kernels (the ones LCE's interpreter runs), and which of its kernel variants runs depends
# on the CPU's features. The outputs then differ by whole int8 steps on some images (measured
# on an AMD EPYC: 21 of 2,000 images, by 1 to 22 steps of 1/256 of the int8 softmax), and a
# step decides the top-1 class of an image whose two best classes are within it (that machine
# had 21 exact ties): 0 of 2,000 images changed class there; a CI run measured 99.85%. So the
# bound is the conversion's agreement bound, 99.5%; without XNNPACK the delegate must be
# exact (the same builtin kernels), which shows the difference is XNNPACK's rounding alone.
XNNPACK_MIN_AGREEMENT = {"lce": 0.999, "int8": 0.995}


@pytest.mark.parametrize("method,target", [("bnn", "lce"), ("xnor", "lce"), ("horq", "lce"),
                                           ("bireal", "lce"), ("xnor", "int8")])
def test_litert_lce_agrees_with_lce_interpreter_on_each_trained_method(
        delegate_env, full_mnist, mnist_small, method, target):
    """On 2,000 real MNIST test images: with the float/int8 ops on TFLite's builtin kernels
    (as in LCE's interpreter), the same top-1 class on every image and max abs diff <= 1e-5;
    with XNNPACK (the runtime's default) top-1 agreement >= :data:`XNNPACK_MIN_AGREEMENT`."""
    from converters.targets import TARGETS, ConverterInputs

    model = trained_tiny_model(method, mnist_small)
    calibration = mnist_small.normalize(mnist_small.x_test)
    data = TARGETS.get(target).convert(model, ConverterInputs(calibration)).data
    x = full_mnist.normalize(full_mnist.x_test[:AGREEMENT_IMAGES])
    expected = open_runner(data, runtime="lce", trial=False).predict(x)
    outputs = {xnnpack: open_runner(data, runtime="litert-lce", trial=False,
                                    kernel_options={"xnnpack": xnnpack}).predict(x)
               for xnnpack in (False, True)}
    diffs = {k: np.abs(expected - got).max(axis=1) for k, got in outputs.items()}
    assert np.array_equal(expected.argmax(1), outputs[False].argmax(1))
    assert diffs[False].max() <= 1e-5
    agreement = np.mean(expected.argmax(1) == outputs[True].argmax(1))
    assert agreement >= XNNPACK_MIN_AGREEMENT[target], (
        f"with XNNPACK {agreement:.4f}; outputs differ on {int((diffs[True] > 1e-5).sum())} "
        f"images, by up to {diffs[True].max():.4f}")
    assert np.mean(outputs[True].argmax(1) == full_mnist.y_test[:AGREEMENT_IMAGES]) > 0.5
