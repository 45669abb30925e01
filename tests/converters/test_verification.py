"""Conversion verification compares with the user's original model and refuses what fails.

* a rewrite that changes the function (here: one that permutes a conv's output channels)
  makes ``bnnkit convert`` exit non-zero with one line giving the measured value and the
  bound, and write nothing; ``--allow-disagreement`` writes and marks the report;
* on random images the criterion is elementwise; a broken conversion fails it, and the
  layer-by-layer tie check names the layer whose conversion is wrong;
* the judgement itself: each bound, measured against the values it was given.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import bnnkit  # noqa: F401
import converters.convert as convert_module
from bnnkit.cli.main import main
from bnnkit.errors import DisagreementError
from bnnkit.serialization import save_model
from converters.convert import convert_model
from converters.rewrites import rewrite_model
from converters.verify import Bounds, judge
from converters_support import tiny_model, trained_tiny_model


def _permuting_rewrite(layer_name: str):
    """``rewrite_model`` that then reverses the output channels of ``layer_name``'s kernel
    (a wrong rewrite that still converts cleanly), in every model holding that layer."""

    def broken(model, **kwargs):
        rewritten, log, warnings = rewrite_model(model, **kwargs)
        if layer_name not in [layer.name for layer in model.layers]:
            return rewritten, log, warnings  # a sub-model cut before that layer (explain)
        if rewritten is model:
            import tensorflow as tf

            rewritten = tf.keras.models.clone_model(model)
            rewritten.set_weights(model.get_weights())
        layer = rewritten.get_layer(layer_name)
        weights = layer.get_weights()
        layer.set_weights([weights[0][..., ::-1]] + weights[1:])
        return rewritten, log, warnings

    return broken


def _first_binary_conv(model) -> str:
    return next(layer.name for layer in model.layers
                if type(layer).__name__ == "QuantConv2D" and layer.input_quantizer is not None)


@pytest.fixture(scope="module")
def trained_bnn(mnist_small):
    return trained_tiny_model("bnn", mnist_small)


def test_broken_rewrite_makes_convert_exit_nonzero_and_write_nothing(
        trained_bnn, mnist_dir, tmp_path, monkeypatch, capsys):
    path = save_model(trained_bnn, tmp_path / "model.keras")
    monkeypatch.setattr(convert_module, "rewrite_model",
                        _permuting_rewrite(_first_binary_conv(trained_bnn)))
    out = tmp_path / "out"
    code = main(["convert", str(path), "-o", str(out), "--dataset", "mnist",
                 "--data-dir", str(mnist_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == DisagreementError.exit_code
    assert len(err) == 1, err
    assert "top-1 agreement" in err[0] and "< 99.00% (--min-agreement)" in err[0]
    assert "nothing written" in err[0] and "1000 calibration images" in err[0]
    assert not out.exists() or not any(out.iterdir())

    code = main(["convert", str(path), "-o", str(out), "--dataset", "mnist",
                 "--data-dir", str(mnist_dir), "--allow-disagreement"])
    assert code == 0
    report = json.loads((out / "conversion.json").read_text())
    checks = report["verification"]
    assert checks["passed"] is False and checks["allowed_disagreement"] is True
    assert checks["original_model_top1_agreement"] < 0.99
    assert "FAILED, written anyway" in capsys.readouterr().out


def test_correct_conversion_passes_against_the_original_model(trained_bnn, mnist_small,
                                                              tmp_path):
    x = mnist_small.normalize(mnist_small.x_test)
    report = convert_model(trained_bnn, tmp_path, calibration_x=x, compare_float=False)
    checks = report["verification"]
    assert checks["passed"] is True and checks["criterion"] == "top1_and_max_diff"
    assert checks["original_model_top1_agreement"] >= 0.99
    assert checks["relative_max_diff"] <= checks["bounds"]["max_relative_diff"]
    assert report["agreement"]["reference"] == "original model"


def test_broken_conversion_fails_the_elementwise_criterion_on_random_images(tmp_path,
                                                                           monkeypatch):
    model = tiny_model("bnn")
    monkeypatch.setattr(convert_module, "rewrite_model",
                        _permuting_rewrite(_first_binary_conv(model)))
    with pytest.raises(DisagreementError) as raised:
        convert_model(model, tmp_path / "out", compare_float=False)
    message = str(raised.value)
    assert "random images" in message and "of output elements differ" in message
    # the layer-by-layer check ran and blamed the permuted layer's conversion
    assert f"layer {_first_binary_conv(model)}" in message and "conversion fault" in message
    assert not (tmp_path / "out").exists()


def test_top1_bound_is_exactly_the_min_agreement():
    expected = np.eye(10, dtype=np.float32)[np.arange(100) % 10]
    actual = expected.copy()
    actual[0] = np.roll(actual[0], 1)  # one image of 100 changes its class
    bounds = Bounds(min_agreement=0.99, max_relative_diff=10.0)
    assert judge(expected, actual, real_data=True, bounds=bounds)["passed"]
    actual[1] = np.roll(actual[1], 1)
    result = judge(expected, actual, real_data=True, bounds=bounds)
    assert not result["passed"]
    assert result["failure"] == "top-1 agreement 98.00% < 99.00% (--min-agreement)"


def test_max_diff_bound_catches_a_change_that_keeps_every_argmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 10)).astype(np.float32)
    result = judge(logits, 3 * logits, real_data=True, bounds=Bounds())
    assert result["original_model_top1_agreement"] == 1.0
    assert not result["passed"] and "x the output scale" in result["failure"]


def test_elementwise_criterion_counts_elements_beyond_the_tolerance():
    expected = np.ones((10, 100), np.float32)
    actual = expected.copy()
    actual[0, 0] += 0.01  # 1 element of 1000 beyond 1e-3 x scale: exactly the bound
    bounds = Bounds(tolerance=1e-3, max_fraction=1e-3)
    assert judge(expected, actual, real_data=False, bounds=bounds)["passed"]
    actual[0, 1] += 0.01
    result = judge(expected, actual, real_data=False, bounds=bounds)
    assert not result["passed"] and result["fraction_beyond_tolerance"] == pytest.approx(2e-3)


def _zero_padded_binary_model(channels: int = 64):
    """Random-init binary convs with "same" zero padding (larq's default ``pad_values=0``),
    as in larq-zoo's BinaryAlexNet: many pre-activations are exactly 0."""
    import larq as lq
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((13, 13, channels))
    x = inputs
    for _ in range(2):
        x = lq.layers.QuantConv2D(channels, 3, padding="same", input_quantizer="ste_sign",
                                  kernel_quantizer="ste_sign", use_bias=False)(x)
        x = tf.keras.layers.BatchNormalization(scale=False)(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10, activation="softmax")(x))


def test_lce_rounds_exact_zero_pre_activations_on_zero_padded_borders():
    """Upstream behaviour the tie-aware criterion exists for: LCE adds the "same"
    zero-padding correction to the already scaled float output (bconv2d's
    ``zero_padding_correction``), so a border pre-activation that is exactly 0 in Keras comes
    out as a rounding residue; interior zeros stay exact. If LCE changes, this test says so."""
    import tensorflow as tf

    from converters.convert import convert_submodel
    from converters.runtime import open_runner

    model = _zero_padded_binary_model()
    cut = tf.keras.Model(model.inputs, model.layers[2].output)  # the first BN's output
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(2, 13, 13, 64)).astype(np.float32)
    keras = cut.predict(x, verbose=0)
    tflite = open_runner(convert_submodel(cut, "lce"), trial=False).predict(x)
    border = np.zeros((13, 13), bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    zeros = keras == 0
    assert np.array_equal(zeros[:, ~border], (tflite == 0)[:, ~border])
    residues = np.abs(tflite[zeros & border[None, :, :, None]])
    assert np.sum(residues > 0) > 0 and residues.max() < 1e-3


def test_sign_ties_pass_the_tie_aware_criterion_and_are_counted(tmp_path):
    report = convert_model(_zero_padded_binary_model(), tmp_path, compare_float=False)
    checks = report["verification"]
    assert checks["passed"] and checks["criterion"] == "elementwise_tie_aware"
    assert checks["fraction_beyond_tolerance"] > checks["bounds"]["max_fraction"]
    ties = checks["tie_check"]["sign_ties"]
    assert ties["tie_flips"] > 0 and ties["tie_flips"] == ties["sign_flips"]
