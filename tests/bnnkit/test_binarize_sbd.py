"""SBD: feature-map objective, budget -> K, error against K, Keras layers."""

from __future__ import annotations

import numpy as np
import pytest

from binarize_support import (calibration_and_held_out, float_kernel, gram_on, random_problem,
                              trained_lenet)
from bnnkit.binarize import binarize_sbd, components_for_budget, sbd_decompose
from bnnkit.errors import InvalidInputError


@pytest.fixture(scope="module")
def lenet(mnist_dir):
    return trained_lenet(str(mnist_dir))


@pytest.fixture(scope="module")
def sbd(lenet):
    model, dataset = lenet
    calibration, _ = calibration_and_held_out(dataset)
    return binarize_sbd(model, calibration, bit_budget=0.5)


def _feature_map_error(gram, weights, u, d, v):
    diff = weights - (u * d) @ v.T
    return float(np.sum(diff * (diff @ gram)))


@pytest.mark.parametrize("seed", [0, 1])
def test_sbd_objective_never_rises_at_any_step_on_random_problems(seed):
    weights = random_problem(seed, s=30, n=12)[0].T          # S = 12 filters, N = 30
    gram = _gram(seed, 30)
    result = sbd_decompose(weights, gram, 6)
    assert result.steps[0] == "start"
    assert {step.split()[0] for step in result.steps[1:]} == {"init", "U", "V", "D"}
    assert np.all(np.diff(result.objective) <= 1e-10 * result.reference)
    assert result.objective[-1] < 0.9 * result.reference
    # the recorded value is the true loss of the returned U, D, V
    assert np.isclose(result.objective[-1],
                      _feature_map_error(gram, weights, result.u, result.d, result.v),
                      rtol=1e-8)


def _gram(seed, n):
    rng = np.random.default_rng(100 + seed)
    x = rng.standard_normal((n, n)) @ rng.standard_normal((n, 400))
    return x @ x.T


def test_sbd_objective_never_rises_on_every_lenet_layer(sbd):
    assert [r.layer for r in sbd.layers] == ["block1_conv", "fc_conv"]
    for result in sbd.layers:
        assert np.all(np.diff(result.objective) <= 1e-10 * result.reference), result.layer
        assert np.all(result.d >= 0)
        assert set(np.unique(result.u)) <= {-1, 1} and set(np.unique(result.v)) <= {-1, 1}


def test_sbd_feature_map_error_falls_as_k_grows(lenet, sbd):
    model, dataset = lenet
    _, held_out = calibration_and_held_out(dataset)
    for result in sbd.layers:
        curve = np.asarray(result.component_error)
        assert len(curve) == result.components
        assert np.all(np.diff(curve) <= 1e-10 * result.reference)
        assert curve[-1] < 0.5 * curve[0]
        # and on held-out images, for K = 1, 4, 16, ... (prefixes of the greedy solution)
        gram = gram_on(sbd.model, f"{result.layer}_v", held_out)
        weights = float_kernel(model, result.layer).T
        sizes = [k for k in (1, 4, 16, 64) if k <= result.components]
        errors = [_feature_map_error(gram, weights, result.u[:, :k], result.d[:k],
                                     result.v[:, :k]) for k in sizes]
        assert np.all(np.diff(errors) < 0), (result.layer, sizes, errors)


@pytest.mark.parametrize("filters,inputs", [(64, 800), (512, 3136), (16, 9), (3, 5)])
@pytest.mark.parametrize("budget", [1.0, 0.5, 0.25])
def test_sbd_components_use_the_most_bits_within_the_budget(filters, inputs, budget):
    bits = budget * filters * inputs
    try:
        k = components_for_budget(filters, inputs, budget)
    except InvalidInputError:
        assert filters + inputs > bits
        return
    assert k * (filters + inputs) <= bits < (k + 1) * (filters + inputs)


def test_sbd_budget_too_small_for_one_component_fails_clearly(lenet):
    model, dataset = lenet
    with pytest.raises(InvalidInputError, match="too small for even one component"):
        binarize_sbd(model, dataset.normalize(dataset.x_train[:8]), bit_budget=0.001)
    with pytest.raises(InvalidInputError, match="bit_budget"):
        components_for_budget(64, 800, 0.0)


def test_sbd_layers_reproduce_float_outputs_within_the_measured_error(lenet):
    from bnnkit.binarize import layer_inputs

    model, dataset = lenet
    images = dataset.normalize(dataset.x_train[:48])
    result = binarize_sbd(model, images, bit_budget=0.5, patches_per_image=None)
    for layer_result in result.layers:
        name = layer_result.layer
        inputs = layer_inputs(result.model, f"{name}_v", images)
        expected = model.get_layer(name)(inputs).numpy().astype(np.float64)
        got = inputs
        for suffix in ("_v", "_scale", "_u"):
            got = result.model.get_layer(name + suffix)(got)
        measured = float(np.sum((got.numpy().astype(np.float64) - expected) ** 2))
        assert np.isclose(measured, layer_result.objective[-1], rtol=1e-3), name
        assert measured < float(np.sum(expected ** 2))


def test_sbd_model_has_three_layers_per_hidden_conv_with_the_decomposition(sbd):
    import tensorflow as tf

    for result in sbd.layers:
        v_layer = sbd.model.get_layer(f"{result.layer}_v")
        u_layer = sbd.model.get_layer(f"{result.layer}_u")
        v = v_layer.kernel_quantizer(tf.convert_to_tensor(v_layer.kernel)).numpy()
        u = u_layer.kernel_quantizer(tf.convert_to_tensor(u_layer.kernel)).numpy()
        np.testing.assert_array_equal(v.reshape(-1, result.components), result.v)
        np.testing.assert_array_equal(u.reshape(result.components, -1).T, result.u)
        np.testing.assert_allclose(sbd.model.get_layer(f"{result.layer}_scale").get_weights()[0],
                                   result.d, rtol=1e-6)
        assert u_layer.kernel_size == (1, 1)


def test_sbd_float_target_objective_is_the_true_loss_and_never_rises():
    rng = np.random.default_rng(3)
    weights = random_problem(3, s=30, n=12)[0].T               # S = 12 filters, N = 30
    x_float = rng.standard_normal((30, 500))
    x = x_float + 0.3 * rng.standard_normal((30, 500))
    result = sbd_decompose(weights, x @ x.T, 6, cross=x @ x_float.T,
                           reference_gram=x_float @ x_float.T)
    assert np.all(np.diff(result.objective) <= 1e-10 * result.reference)
    fitted = (result.u * result.d[None, :]) @ result.v.T.astype(np.float64)
    true_loss = float(np.sum((weights @ x_float - fitted @ x) ** 2))
    assert np.isclose(result.objective[-1], true_loss, rtol=1e-8)


def test_sbd_latent_weights_start_at_the_requested_magnitude(lenet):
    model, dataset = lenet
    result = binarize_sbd(model, dataset.normalize(dataset.x_train[:32]), bit_budget=0.5,
                          latent_magnitude=0.01)
    for layer_result in result.layers:
        for suffix in ("_v", "_u"):
            latent = result.model.get_layer(layer_result.layer + suffix).get_weights()[0]
            np.testing.assert_allclose(np.abs(latent), 0.01, rtol=1e-6)
