"""BWNH: hashing objective, comparison with BWN on real layer inputs, Keras layers."""

from __future__ import annotations

import numpy as np
import pytest

from binarize_support import (calibration_and_held_out, float_kernel, gram_on, random_problem,
                              trained_lenet)
from bnnkit.binarize import binarize_bwnh, bwn_codes, bwnh_hash, inner_product_error


@pytest.fixture(scope="module")
def lenet(mnist_dir):
    return trained_lenet(str(mnist_dir))


@pytest.fixture(scope="module")
def bwnh(lenet):
    model, dataset = lenet
    calibration, _ = calibration_and_held_out(dataset)
    return binarize_bwnh(model, calibration)


def _never_rises(curve, reference):
    return bool(np.all(np.diff(curve) <= 1e-10 * reference))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bwnh_objective_never_rises_at_any_step_on_random_problems(seed):
    weights, gram = random_problem(seed)
    result = bwnh_hash(weights, gram, iterations=20)
    assert result.steps[0] == "start" and set(result.steps[1:]) == {"alpha", "codes"}
    assert _never_rises(result.objective, result.reference)
    assert result.objective[-1] < result.objective[0]
    # the recorded values are the true loss of the returned codes and scales
    assert np.isclose(result.objective[-1], inner_product_error(gram, weights, result.kernel),
                      rtol=1e-9)


def test_bwnh_objective_never_rises_on_every_lenet_layer(bwnh):
    assert [r.layer for r in bwnh.layers] == ["block1_conv", "fc_conv"]
    for result in bwnh.layers:
        assert _never_rises(result.objective, result.reference), result.layer
        assert result.relative_error < result.bwn_error


def test_bwnh_starts_from_bwn_and_zero_iterations_is_bwn():
    weights, gram = random_problem(3)
    result = bwnh_hash(weights, gram, iterations=0)
    codes, alpha = bwn_codes(weights)
    np.testing.assert_array_equal(result.codes, np.sign(weights).astype(np.int8))
    np.testing.assert_array_equal(result.codes, codes)
    np.testing.assert_allclose(result.alpha, np.abs(weights).mean(axis=0))
    assert len(result.objective) == 1
    assert np.isclose(result.objective[0], inner_product_error(gram, weights, codes * alpha),
                      rtol=1e-12)


def test_bwnh_codes_cannot_be_improved_by_flipping_one_bit():
    weights, gram = random_problem(4, s=16, n=5)
    result = bwnh_hash(weights, gram, iterations=50)
    best = inner_product_error(gram, weights, result.kernel)
    for k in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            codes = result.codes.astype(np.float64)
            codes[k, j] *= -1
            assert inner_product_error(gram, weights, codes * result.alpha) >= best * (1 - 1e-12)


def test_bwnh_inner_product_error_is_below_bwn_on_held_out_real_inputs(lenet, bwnh):
    model, dataset = lenet
    _, held_out = calibration_and_held_out(dataset)
    for result in bwnh.layers:
        # X of this layer from the network whose earlier layers are already binary
        gram = gram_on(bwnh.model, result.layer, held_out)
        weights = float_kernel(model, result.layer)
        codes, alpha = bwn_codes(weights)
        bwn = inner_product_error(gram, weights, codes * alpha)
        ours = inner_product_error(gram, weights, result.kernel)
        assert ours < bwn, (result.layer, ours, bwn)


def _quantized_kernel(layer, shape):
    import tensorflow as tf

    return layer.kernel_quantizer(tf.convert_to_tensor(layer.kernel)).numpy().reshape(shape)


def test_bwnh_codes_and_trainable_scale_equal_the_hashing_result(bwnh):
    for result in bwnh.layers:
        codes = _quantized_kernel(bwnh.model.get_layer(result.layer), result.codes.shape)
        np.testing.assert_array_equal(codes, result.codes)
        scale = bwnh.model.get_layer(f"{result.layer}_scale")
        assert scale.trainable and scale.weights[0].trainable
        np.testing.assert_allclose(scale.get_weights()[0], result.alpha, rtol=1e-6)


def test_bwnh_fine_tuned_as_bwn_quantizes_to_the_hashing_result(lenet):
    model, dataset = lenet
    calibration, _ = calibration_and_held_out(dataset)
    result = binarize_bwnh(model, calibration, finetune_scale="bwn")
    for layer_result in result.layers:
        quantized = _quantized_kernel(result.model.get_layer(layer_result.layer),
                                      layer_result.codes.shape)
        np.testing.assert_array_equal(np.sign(quantized), layer_result.codes)
        np.testing.assert_allclose(np.abs(quantized).max(axis=0), layer_result.alpha, rtol=1e-5)
        np.testing.assert_allclose(np.abs(quantized).min(axis=0), layer_result.alpha, rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_bwnh_float_target_objective_is_the_true_loss_and_never_rises(seed):
    # fit the float network's outputs Xf^T W from other inputs X: C = X Xf^T, Gf = Xf Xf^T
    rng = np.random.default_rng(seed)
    weights, _ = random_problem(seed, s=24, n=6)
    x_float = rng.standard_normal((24, 400))
    x = x_float + 0.3 * rng.standard_normal((24, 400))
    result = bwnh_hash(weights, x @ x.T, iterations=20, cross=x @ x_float.T,
                       reference_gram=x_float @ x_float.T)
    assert _never_rises(result.objective, result.reference)
    true_loss = float(np.sum((x_float.T @ weights - x.T @ result.kernel) ** 2))
    assert np.isclose(result.objective[-1], true_loss, rtol=1e-9)
    own = bwnh_hash(weights, x @ x.T, iterations=20)
    assert true_loss <= float(np.sum((x_float.T @ weights - x.T @ own.kernel) ** 2)) + 1e-9


def test_bwnh_layers_reproduce_float_outputs_within_the_measured_error(lenet):
    from bnnkit.binarize import layer_inputs

    model, dataset = lenet
    images = dataset.normalize(dataset.x_train[:48])
    result = binarize_bwnh(model, images, patches_per_image=None)   # G from every patch
    for layer_result in result.layers:
        inputs = layer_inputs(result.model, layer_result.layer, images)
        expected = model.get_layer(layer_result.layer)(inputs).numpy()
        scale = result.model.get_layer(f"{layer_result.layer}_scale")
        got = scale(result.model.get_layer(layer_result.layer)(inputs)).numpy()
        measured = float(np.sum((got.astype(np.float64) - expected) ** 2))
        assert np.isclose(measured, layer_result.objective[-1], rtol=1e-3), layer_result.layer
        assert measured < 0.5 * float(np.sum(expected.astype(np.float64) ** 2))


def test_bwnh_model_keeps_first_and_last_layers_float_and_predicts_like_float(lenet, bwnh):
    import larq as lq

    model, dataset = lenet
    quantized = [layer.name for layer in bwnh.model.layers
                 if isinstance(layer, (lq.layers.QuantConv2D, lq.layers.QuantDense))]
    assert quantized == ["block1_conv", "fc_conv"]
    np.testing.assert_array_equal(bwnh.model.get_layer("stem_conv").get_weights()[0],
                                  model.get_layer("stem_conv").get_weights()[0])
    _, held_out = calibration_and_held_out(dataset)
    agree = np.mean(np.argmax(bwnh.model.predict(held_out, verbose=0), 1)
                    == np.argmax(model.predict(held_out, verbose=0), 1))
    assert agree > 0.8
