"""Rewrites before conversion: same function, more binary kernels, logged per layer."""

from __future__ import annotations

import numpy as np
import pytest

from converters.macs import model_macs
from converters.rewrites import rewrite_model


def _binary_dense_model():
    import larq as lq
    import tensorflow as tf

    inputs = tf.keras.Input((6, 6, 1))
    x = tf.keras.layers.Conv2D(8, 3, use_bias=False, name="stem")(inputs)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = lq.layers.QuantDense(64, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                             use_bias=False, name="quant_dense")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="head")(x))


def test_quant_dense_becomes_an_equivalent_binary_conv_with_a_unique_name():
    model = _binary_dense_model()
    rewritten, log, _ = rewrite_model(model)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 6, 6, 1)).astype(np.float32)
    np.testing.assert_allclose(rewritten.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    assert [entry["rewrite"] for entry in log if entry["layer"] == "quant_dense"] == \
        ["unique_names", "dense_to_conv"]
    assert "bin_dense" in [layer.name for layer in rewritten.layers]
    assert model_macs(rewritten)["binary_macs"] == model_macs(model)["binary_macs"] == 4 * 4 * 8 * 64


def test_binary_conv_missing_the_fast_path_is_warned_by_name():
    import larq as lq
    import tensorflow as tf

    inputs = tf.keras.Input((8, 8, 16))
    x = lq.layers.QuantConv2D(32, 3, padding="same", input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", name="narrow_conv")(inputs)
    model = tf.keras.Model(inputs, x)
    with pytest.warns(UserWarning, match="narrow_conv"):
        _, log, messages = rewrite_model(model)
    assert any("16 input channels" in m for m in messages)
    assert any("pad_values=1.0" in m for m in messages)
    assert {entry["layer"] for entry in log if entry["rewrite"] == "check_fast_path"} == \
        {"narrow_conv"}


def test_model_without_anything_to_rewrite_is_returned_as_is():
    import tensorflow as tf

    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="head")(inputs))
    rewritten, log, messages = rewrite_model(model)
    assert rewritten is model and log == [] and messages == []


def test_binary_conv_too_large_for_lce_is_split_into_fused_parts(monkeypatch):
    """A binary conv over the size LCE fuses becomes parts that each fuse; same outputs."""
    import larq_compute_engine as lce
    import numpy as np
    import tensorflow as tf

    import converters.rewrites as rewrites
    from bnnkit.methods import get_method
    from converters.flatbuffer import read_flatbuffer

    monkeypatch.setattr(rewrites, "MAX_FUSED_KERNEL_WEIGHTS", 4000)
    inputs = tf.keras.Input((6, 6, 32))
    model = tf.keras.Model(inputs, get_method("xnor").conv_block(inputs, 64, 3, padding="valid",
                                                                 name="big"))
    log = []
    split = rewrites.split_large_binary_convs(model, log)
    assert [entry["rewrite"] for entry in log] == ["split_large_binary_convs"]
    x = np.random.default_rng(0).uniform(-1, 1, (4, 6, 6, 32)).astype("float32")
    np.testing.assert_array_equal(split(x).numpy(), model(x).numpy())
    histogram = read_flatbuffer(lce.convert_keras_model(split)).op_histogram
    assert histogram["LceBconv2d"] == 8 and "LceDequantize" not in histogram
