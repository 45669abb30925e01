"""The LCE-kernel delegate inside stock ai-edge-litert, against LCE's own interpreter."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from converters_support import (lce_only_flatbuffer, litert_outputs, tiny_lce_flatbuffer,
                                trained_tiny_model)


def lce_outputs(data: bytes, x: np.ndarray) -> np.ndarray:
    from converters.runtime import open_runner

    return open_runner(data, runtime="lce", trial=False).predict(x)


@pytest.mark.parametrize("ending", ["dequantize", "float"])
def test_delegate_is_bit_exact_with_lce_on_a_model_of_lce_ops_only(lce_delegate, ending):
    from converters.flatbuffer import read_flatbuffer

    data = lce_only_flatbuffer(ending)
    ops = {op.op for op in read_flatbuffer(data).operators}
    assert ops == ({"LceQuantize", "LceBconv2d", "LceBMaxPool2d", "LceDequantize"}
                   if ending == "dequantize" else {"LceQuantize", "LceBconv2d",
                                                   "LceBMaxPool2d"})
    x = np.random.default_rng(1).normal(size=(8, 12, 12, 40)).astype(np.float32)
    expected = lce_outputs(data, x)
    assert len(np.unique(expected)) > 1
    np.testing.assert_array_equal(litert_outputs(lce_delegate, data, x), expected)
    # the reference kernel, chosen by a delegate option, computes the same bits
    np.testing.assert_array_equal(
        litert_outputs(lce_delegate, data, x, {"LceBconv2d": "reference"}), expected)


def test_delegate_agrees_with_lce_on_a_trained_converted_bnn(lce_delegate, mnist_small):
    from converters.targets import convert_lce

    data = convert_lce(trained_tiny_model("bnn", mnist_small))
    x = mnist_small.normalize(mnist_small.x_test)
    expected, got = lce_outputs(data, x), litert_outputs(lce_delegate, data, x)
    assert np.mean(expected.argmax(1) == got.argmax(1)) == 1.0
    assert np.abs(expected - got).max() <= 1e-5
    assert np.mean(got.argmax(1) == mnist_small.y_test) > 0.5  # the model did learn


def test_resizing_an_input_after_the_first_invoke_is_refused(lce_delegate):
    from ai_edge_litert.interpreter import Interpreter, load_delegate

    interpreter = Interpreter(model_content=tiny_lce_flatbuffer(),
                              experimental_delegates=[load_delegate(str(lce_delegate))])
    index = interpreter.get_input_details()[0]["index"]
    x = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    interpreter.resize_tensor_input(index, [3, 28, 28, 1])  # before the first invoke: fine
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, x)
    interpreter.invoke()
    batch = np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    np.testing.assert_allclose(batch, lce_outputs(tiny_lce_flatbuffer(), x), atol=1e-5)
    interpreter.resize_tensor_input(index, [1, 28, 28, 1])
    with pytest.raises(RuntimeError, match=r"resized from \[3, .* to \[1, .*after the first "
                                           r"invoke.*create a new interpreter"):
        interpreter.allocate_tensors()


def test_unknown_delegate_options_make_loading_fail_with_the_known_ones(lce_delegate):
    from ai_edge_litert.interpreter import load_delegate

    # on x86_64 bnnkit's x86 kernels come first (the default), then LCE's own
    x86 = "x86_simd, x86_avx2, x86_avx512bw, " if platform.machine() == "x86_64" else ""
    with pytest.raises(ValueError, match=rf"unknown kernel 'fastest' for LceBconv2d \(known: "
                                         rf"{x86}indirect_bgemm, reference\)"):
        load_delegate(str(lce_delegate), {"LceBconv2d": "fastest"})
    with pytest.raises(ValueError, match="unknown option 'num_threads'"):
        load_delegate(str(lce_delegate), {"num_threads": "2"})
