"""``bnnkit explain``: layer-by-layer comparison, sign-tie counts, the first divergence."""

from __future__ import annotations

import json

import numpy as np
from converters_support import tiny_model

import bnnkit  # noqa: F401
from bnnkit.cli.main import main
from bnnkit.serialization import save_model
from converters.convert import convert_submodel
from converters.explain import _sign_ties, explain_model


def test_sign_flips_at_values_near_zero_are_counted_as_ties():
    expected = np.array([0.0, 0.0, 1.0, -1.0, 2.0], np.float32)
    actual = np.array([-1e-6, 0.0, 1.0, 1.0, 2.0], np.float32)  # a tie flip and a real flip
    counts = _sign_ties(expected, actual, tolerance=1e-3)
    assert counts == {
        "keras_zeros": 2,
        "tflite_zeros": 1,
        "sign_flips": 2,
        "tie_flips": 1,
        "values": 5,
    }


def test_explain_compares_every_layer_of_a_faithful_conversion_without_divergence():
    model = tiny_model("bnn")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    result = explain_model(model, x, convert=convert_submodel)
    compared = [row["layer"] for row in result["layers"] if "chained" in row]
    assert compared[-1] == model.layers[-1].name and len(compared) >= 8
    assert result["first_divergence"] is None
    ops = {row["layer"]: row["op"] for row in result["layers"] if "op" in row}
    binary = [
        layer.name
        for layer in model.layers
        if type(layer).__name__ == "QuantConv2D" and layer.input_quantizer is not None
    ]
    assert all("LceBconv2d" in ops[name] for name in binary)
    assert any("pre_sign" in row for row in result["layers"])


def test_explain_cli_finds_the_keras_model_of_a_converted_tflite(tmp_path, capsys):
    path = save_model(tiny_model("bnn"), tmp_path / "model.keras")
    assert main(["convert", str(path), "-o", str(tmp_path / "lce")]) == 0
    capsys.readouterr()
    assert main(["explain", str(tmp_path / "lce" / "model.tflite"), "--images", "2"]) == 0
    out = capsys.readouterr().out
    assert "no layer diverges" in out and "random images (no dataset known)" in out
    written = json.loads((tmp_path / "lce" / "explain.json").read_text())
    assert written["source_model"] == str(path) and written["target"] == "lce"


def _residual_binary_model():
    """Binary convs with a shortcut (``Add``) and a ``Concatenate``, as in Bi-Real-style
    ResNets: the second sign reads the sum, and the head reads both branches."""
    import larq as lq
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)

    def binary_conv(x):
        x = lq.layers.QuantConv2D(
            32,
            3,
            padding="same",
            pad_values=1.0,
            use_bias=False,
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
        )(x)
        return tf.keras.layers.BatchNormalization()(x)

    inputs = tf.keras.Input((8, 8, 32))
    x = tf.keras.layers.Add(name="shortcut")([binary_conv(inputs), inputs])
    x = tf.keras.layers.Concatenate(name="branches")([x, binary_conv(x)])
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10, name="head")(x))


def test_cuts_at_quantizer_inputs_compare_residual_graphs_as_every_cut_does():
    model = _residual_binary_model()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 32)).astype(np.float32)
    every = explain_model(model, x, convert=convert_submodel, stop_after=None)
    coarse = explain_model(
        model, x, convert=convert_submodel, stop_after=None, cuts="quantizer_inputs"
    )
    # converted: the sum the second sign reads, and the output; Keras covers the rest
    assert [row["layer"] for row in coarse["layers"]] == ["shortcut", "head"]
    assert coarse["layers"][1]["local"]["from_layers"] == 5  # head, pool, concat, BN, conv
    assert len(every["layers"]) == len(model.layers) - 1
    for result in (every, coarse):
        assert all(row["local"]["fraction_beyond"] == 0.0 for row in result["layers"])
        assert result["first_divergence"] is None
    assert coarse["sign_ties"] == every["sign_ties"]
    assert coarse["layers"][0]["pre_sign"] == next(
        row["pre_sign"] for row in every["layers"] if row["layer"] == "shortcut"
    )


def test_a_fault_inside_a_region_between_cuts_is_named_layer_by_layer():
    import tensorflow as tf

    from converters.verify import Bounds, judge_layers

    model = _residual_binary_model()
    broken = [layer.name for layer in model.layers if type(layer).__name__ == "QuantConv2D"][1]

    def convert_with_a_fault(submodel, target):  # reverses that conv's output channels
        if broken in [layer.name for layer in submodel.layers]:
            clone = tf.keras.models.clone_model(submodel)
            clone.set_weights(submodel.get_weights())
            kernel, *rest = clone.get_layer(broken).get_weights()
            clone.get_layer(broken).set_weights([kernel[..., ::-1], *rest])
            submodel = clone
        return convert_submodel(submodel, target)

    x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 32)).astype(np.float32)
    result = explain_model(
        model, x, convert=convert_with_a_fault, stop_after=None, cuts="quantizer_inputs"
    )
    beyond = [
        row["layer"]
        for row in result["layers"]
        if row["local"]["fraction_beyond"] > result["max_fraction"]
    ]
    assert beyond[0] == broken and "head" in beyond  # named, and its region failed too
    passed, failure = judge_layers(result, Bounds.for_target("lce"))
    assert not passed and failure.startswith(f"layer {broken} (")
