"""bnnkit's x86 microkernels inside the LCE-kernel delegate: bit for bit LCE's portable kernel.

Two levels:
* ``x86_kernel_check`` (delegate/tools), built with g++ -O3 from the pinned sources, runs
  random convolutions through LCE's indirect-BGEMM driver with LCE's portable kernel and with
  every x86 microkernel family this CPU has (1 and 2 threads), and compares the outputs byte
  for byte; and bitpacks random floats with LCE and with the x86 kernels.
* every binary method's trained model, through ai-edge-litert + the delegate, gives the same
  outputs with the x86 kernels (the default on x86_64) as without them.
"""

from __future__ import annotations

import platform

import numpy as np
import pytest

from converters_support import litert_outputs, trained_tiny_model

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64",
                                reason="bnnkit's x86 kernels are built on x86_64 only")

LCE_PORTABLE = {"LceBconv2d": "indirect_bgemm", "LceQuantize": "lce"}


def test_x86_kernels_compute_lces_portable_outputs_bit_for_bit_on_random_convolutions(
        x86_kernel_check):
    from bnnkit.bench.kernels import kernel_check

    result = kernel_check(x86_kernel_check, "check", "--cases", 1500, "--seed", 11, "--threads", 2)
    assert result["isas"], "this x86_64 CPU has no AVX2: nothing of bnnkit's to test"
    assert result["comparisons"] == result["cases"] * len(result["isas"]) * 2
    assert result["failures"] == 0, result["failed"]
    # every kernel size and stride was drawn with float, int8 and bitpacked outputs
    for kernel in (1, 3, 5, 7):
        for stride in (1, 2):
            assert min(result["coverage"][f"k{kernel}_s{stride}"].values()) > 0


def test_x86_bitpacking_matches_lce_on_any_row_length_and_special_values(x86_kernel_check):
    from bnnkit.bench.kernels import kernel_check

    result = kernel_check(x86_kernel_check, "bitpack", "--cases", 400, "--seed", 5)
    assert result["comparisons"] == 400 * len(result["isas"]) > 0
    assert result["failures"] == 0, result["failed"]


@pytest.mark.parametrize("method", ["bnn", "xnor", "horq", "bireal"])
def test_trained_models_give_identical_outputs_with_and_without_the_x86_kernels(
        lce_delegate, mnist_small, method, monkeypatch, capfd):
    from converters.targets import convert_lce

    data = convert_lce(trained_tiny_model(method, mnist_small))
    x = mnist_small.normalize(mnist_small.x_test[:200])
    expected = litert_outputs(lce_delegate, data, x, LCE_PORTABLE)
    capfd.readouterr()
    monkeypatch.setenv("BNNKIT_X86_KERNELS_LOG", "1")
    for options, threads in (({}, 1), ({}, 2), ({"LceBconv2d": "x86_avx2"}, 1)):
        np.testing.assert_array_equal(
            litert_outputs(lce_delegate, data, x, options, threads), expected)
    # the x86 kernels did run: the delegate logged its choice for each binary convolution
    log = capfd.readouterr().err
    assert "bnnkit x86 kernels: LceBconv2d" in log
    assert "LCE's kernel" not in log
    assert np.mean(expected.argmax(1) == mnist_small.y_test[:200]) > 0.5  # it did learn
