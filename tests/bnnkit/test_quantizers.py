"""The papers' math: BWN, XNOR-Net, HORQ and Bi-Real quantizers and layers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bnnkit import quantizers as q
from bnnkit.layers import HorqConv2D, XnorConv2D


def _np_conv_same_pad(x, w, pad_value, stride=1):
    """Direct NHWC conv with "same" padding filled with ``pad_value`` (numpy, loops)."""
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - wd, 0)
    xp = np.pad(x, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)],
                constant_values=pad_value)
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def _sign(a):
    return np.where(a >= 0, 1.0, -1.0)


# ---------------------------------------------------------------- BWN
def test_bwn_alpha_minimizes_reconstruction_error_per_filter():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    wq = q.bwn_weight(tf.constant(w)).numpy()
    b = _sign(w)
    alpha = np.abs(wq).reshape(-1, 5)[0]
    np.testing.assert_allclose(wq, alpha * b, rtol=1e-6)
    for c in range(5):
        wc, bc = w[..., c].ravel(), b[..., c].ravel()
        grid = np.linspace(0.0, 3.0, 30001)
        errors = ((wc[None, :] - grid[:, None] * bc[None, :]) ** 2).sum(axis=1)
        best = grid[np.argmin(errors)]
        assert abs(best - alpha[c]) < 2e-4
        assert abs(alpha[c] - np.abs(wc).mean()) < 1e-6


def test_bwn_weight_gradient_is_one_over_n_plus_alpha_inside_window():
    rng = np.random.default_rng(1)
    w = tf.constant(rng.normal(scale=1.0, size=(2, 2, 3, 4)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(2, 2, 3, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(w)
        loss = tf.reduce_sum(q.BWNWeightQuantizer()(w) * upstream)
    grad = tape.gradient(loss, w).numpy()
    wn = w.numpy()
    n = 2 * 2 * 3
    alpha = np.abs(wn).reshape(n, 4).mean(axis=0)
    expected = upstream.numpy() * (1.0 / n + alpha * (np.abs(wn) <= 1.0))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)
    assert (np.abs(wn) > 1).any() and (np.abs(wn) <= 1).any()  # both branches exercised


def test_bwn_exact_gradient_is_the_derivative_through_alpha_plus_straight_through():
    rng = np.random.default_rng(12)
    w = tf.constant(rng.normal(scale=1.0, size=(5, 5, 32, 3)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(5, 5, 32, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(w)
        loss = tf.reduce_sum(q.BWNWeightQuantizer(gradient="exact")(w) * upstream)
    grad = tape.gradient(loss, w).numpy().reshape(-1, 3)
    wn, g = w.numpy().reshape(-1, 3), upstream.numpy().reshape(-1, 3)
    alpha, sign = np.abs(wn).mean(axis=0), _sign(wn)
    expected = sign * (sign * g).mean(axis=0) + alpha * g * (np.abs(wn) <= 1)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
    # where the straight-through window is closed, only the term through alpha is left,
    # and it is what autodiff of mean|W| * sign(W) gives there (sign has zero derivative)
    outside = np.abs(wn) > 1
    with tf.GradientTape() as tape:
        tape.watch(w)
        exact = tf.reduce_mean(tf.abs(w), axis=[0, 1, 2]) * tf.stop_gradient(tf.sign(w))
        loss = tf.reduce_sum(exact * upstream)
    autodiff = tape.gradient(loss, w).numpy().reshape(-1, 3)
    np.testing.assert_allclose(grad[outside], autodiff[outside], rtol=1e-4, atol=1e-6)


def test_bwn_rejects_an_unknown_gradient():
    with pytest.raises(ValueError, match="gradient"):
        q.BWNWeightQuantizer(gradient="printed")


# ---------------------------------------------------------------- XNOR-Net
def test_xnor_input_quantizer_is_sign_with_clipped_straight_through_gradient():
    x = tf.constant([-2.0, -1.0, -0.3, 0.0, 0.4, 1.0, 1.5])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = q.XnorInputQuantizer()(x)
    np.testing.assert_array_equal(y.numpy(), [-1, -1, -1, 1, 1, 1, 1])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0, 1, 1, 1, 1, 1, 0])


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_xnor_k_bit_quantizer_matches_the_paper_formula(bits):
    x = np.linspace(-1.0, 1.0, 101).astype(np.float32)
    levels = 2 ** bits - 1
    expected = 2 * (np.floor(levels * (x + 1) / 2 + 0.5) / levels - 0.5)
    got = q.XnorInputQuantizer(bits=bits)(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert len(np.unique(got)) == 2 ** bits
    if bits == 1:
        np.testing.assert_array_equal(got, _sign(x))


def test_xnor_k_bit_quantizer_clips_and_has_straight_through_gradient():
    x = tf.constant([-3.0, -0.5, 0.2, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = q.quantize_k(x, 2)
    np.testing.assert_allclose(y.numpy(), [-1.0, -1 / 3, 1 / 3, 1.0], atol=1e-6)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0, 1, 1, 0])


def test_binarized_gradient_is_sign_times_max_abs():
    x = tf.constant([[0.5, -1.0, 2.0]])
    g = tf.constant([[0.1, -0.4, 0.25]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = q.binarize_gradient(x)
        loss = tf.reduce_sum(y * g)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [[0.4, -0.4, 0.4]])


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, "same"), (3, 2, "same"),
                                                   (5, 1, "valid"), (2, 2, "valid")])
def test_xnor_k_map_equals_box_filtered_channel_mean_of_abs(kernel, stride, padding):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 9, 9, 3)).astype(np.float32)
    got = q.xnor_k_map(tf.constant(x), kernel, stride, padding).numpy()
    a = np.abs(x).mean(axis=-1, keepdims=True)
    box = np.full((kernel, kernel, 1, 1), 1.0 / kernel ** 2)
    if padding == "same":
        expected = _np_conv_same_pad(a, box, 0.0, stride)
    else:
        oh = (9 - kernel) // stride + 1
        expected = np.zeros((2, oh, oh, 1))
        for i in range(oh):
            for j in range(oh):
                expected[:, i, j, 0] = a[:, i * stride:i * stride + kernel,
                                         j * stride:j * stride + kernel, 0].mean(axis=(1, 2))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("input_scale", [True, False])
def test_xnor_conv_is_binary_conv_times_alpha_times_k(input_scale):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    layer = XnorConv2D(4, 3, padding="same", pad_values=1.0, use_bias=False,
                       input_scale=input_scale)
    y = layer(tf.constant(x)).numpy()
    w = layer.kernel.latent_variable.numpy()
    alpha = np.abs(w).reshape(-1, 4).mean(axis=0)
    expected = _np_conv_same_pad(_sign(x), _sign(w), 1.0) * alpha
    if input_scale:
        a = np.abs(x).mean(axis=-1, keepdims=True)
        expected = expected * _np_conv_same_pad(a, np.full((3, 3, 1, 1), 1 / 9), 0.0)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- HORQ
def _np_horq(x, order, scale="sample"):
    """Direct numpy HORQ expansion: one scale per sample, or per pixel (channel mean)."""
    axes = (-1,) if scale == "pixel" else tuple(range(1, x.ndim))
    residual = x.astype(np.float64)
    terms = []
    for _ in range(order):
        beta = np.abs(residual).mean(axis=axes, keepdims=True)
        h = _sign(residual)
        terms.append((beta, h, residual))
        residual = residual - beta * h
    return terms, residual


def _np_im2col_mean_abs(r, kernel, stride, padding):
    """Mean of |r| over every im2col column of a conv (zero padding counts, as in im2col)."""
    n, h, w, c = r.shape
    if padding == "same":
        oh, ow = -(-h // stride), -(-w // stride)
        ph = max((oh - 1) * stride + kernel - h, 0)
        pw = max((ow - 1) * stride + kernel - w, 0)
        r = np.pad(r, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)])
    else:
        oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    out = np.zeros((n, oh, ow, 1))
    for i in range(oh):
        for j in range(ow):
            column = r[:, i * stride:i * stride + kernel, j * stride:j * stride + kernel, :]
            out[:, i, j, 0] = np.abs(column.reshape(n, -1)).mean(axis=1)
    return out


@pytest.mark.parametrize("scale", ["sample", "pixel"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_horq_order_k_approximation_matches_numpy(order, scale):
    x = np.random.default_rng(4).normal(size=(3, 5, 5, 4)).astype(np.float32)
    terms, _ = _np_horq(x, order, scale)
    expected = sum(beta * h for beta, h, _ in terms)
    got = q.HorqInputQuantizer(order=order, scale=scale)(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, "same"), (3, 2, "same"),
                                                   (5, 1, "valid"), (2, 2, "valid")])
def test_horq_beta_map_is_the_mean_of_each_residual_over_each_im2col_column(kernel, stride,
                                                                          padding):
    x = np.random.default_rng(11).normal(size=(2, 9, 9, 3)).astype(np.float32)
    layer = HorqConv2D(4, kernel, strides=stride, padding=padding, use_bias=False, order=3,
                       beta="map")
    got = layer.scales_and_signs(tf.constant(x))
    terms, _ = _np_horq(x, 3, "pixel")
    assert len(got) == 3
    for (beta, h), (_, np_h, residual) in zip(got, terms):
        np.testing.assert_allclose(beta.numpy(), _np_im2col_mean_abs(residual, kernel, stride,
                                                                     padding),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(h.numpy(), np_h)


@pytest.mark.parametrize("scale,axes", [("sample", (1, 2, 3)), ("pixel", (3,))])
def test_horq_residual_norm_falls_by_the_scale_squared_times_its_count(scale, axes):
    # ||R_i||^2 = ||R_{i-1}||^2 - n beta_i^2 over each group the scale is the mean of
    # (n values per sample, or c channels per pixel): the paper's recursion identity.
    x = np.random.default_rng(5).normal(size=(4, 6, 6, 8)).astype(np.float32)
    count = int(np.prod([x.shape[a] for a in axes]))
    x_t = tf.constant(x)
    terms = q.horq_terms(x_t, 5, scale=scale)
    residual = x.astype(np.float64)
    for beta, h in terms:
        beta, h = beta.numpy().astype(np.float64), h.numpy()
        before = np.sum(residual ** 2, axis=axes, keepdims=True)
        residual = residual - beta * h
        after = np.sum(residual ** 2, axis=axes, keepdims=True)
        np.testing.assert_allclose(after, before - count * beta ** 2, rtol=1e-4, atol=1e-4)
        assert np.all(after < before)


@pytest.mark.parametrize("scale", ["sample", "pixel"])
def test_horq_residual_norm_strictly_decreases_with_order(scale):
    x = np.random.default_rng(5).normal(size=(4, 6, 6, 8)).astype(np.float32)
    norms = []
    for order in range(0, 6):
        approx = (q.horq_approximation(tf.constant(x), order, scale=scale).numpy() if order
                  else np.zeros_like(x))
        norms.append(np.linalg.norm((x - approx).reshape(4, -1), axis=1))
    norms = np.array(norms)  # [order, sample]
    assert (np.diff(norms, axis=0) < 0).all(), norms


@pytest.mark.parametrize("scale", ["sample", "pixel"])
def test_horq_sign_gradient_is_clipped_straight_through_on_each_residual(scale):
    x = tf.constant(np.random.default_rng(6).normal(scale=1.5, size=(2, 4, 4, 3)),
                    dtype=tf.float32)
    coefficients = [2.0, -3.0]
    with tf.GradientTape() as tape:
        tape.watch(x)
        terms = q.horq_terms(x, 2, scale=scale)
        loss = sum(c * tf.reduce_sum(h) for c, (_, h) in zip(coefficients, terms))
    grad = tape.gradient(loss, x).numpy()
    np_terms, _ = _np_horq(x.numpy(), 2, scale)
    expected = 2.0 * (np.abs(np_terms[0][2]) <= 1) - 3.0 * (np.abs(np_terms[1][2]) <= 1)
    np.testing.assert_allclose(grad, expected, atol=1e-6)


@pytest.mark.parametrize("beta", ["sample", "map"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_horq_conv_is_sum_of_scaled_binary_convs(order, beta):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    layer = HorqConv2D(4, 3, padding="same", pad_values=1.0, use_bias=False, order=order,
                       beta=beta)
    y = layer(tf.constant(x)).numpy()
    w = layer.kernel.latent_variable.numpy()
    alpha = np.abs(w).reshape(-1, 4).mean(axis=0)
    terms, _ = _np_horq(x, order, "pixel" if beta == "map" else "sample")
    expected = 0.0
    for scale, h, residual in terms:
        if beta == "map":
            scale = _np_im2col_mean_abs(residual, 3, 1, "same")
        expected = expected + scale * alpha * _np_conv_same_pad(h, _sign(w), 1.0)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("beta", ["sample", "map"])
def test_horq_order_one_is_xnor(beta):
    # beta=map, order 1 is XNOR-Net with its K map; beta=sample is XNOR without K, scaled.
    x = tf.constant(np.random.default_rng(8).normal(size=(2, 6, 6, 3)), dtype=tf.float32)
    horq = HorqConv2D(4, 3, padding="same", pad_values=1.0, use_bias=False, order=1,
                      beta=beta)
    xnor = XnorConv2D(4, 3, padding="same", pad_values=1.0, use_bias=False,
                      input_scale=beta == "map")
    horq.build(x.shape)
    xnor.build(x.shape)
    xnor.set_weights(horq.get_weights())
    factor = 1.0 if beta == "map" else tf.reduce_mean(tf.abs(x), axis=[1, 2, 3], keepdims=True)
    np.testing.assert_allclose(horq(x).numpy(), (factor * xnor(x)).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_horq_conv_config_round_trips_and_old_configs_mean_one_beta_per_sample():
    layer = HorqConv2D(4, 3, padding="same", order=2, beta="map")
    assert HorqConv2D.from_config(layer.get_config()).beta == "map"
    old = {k: v for k, v in layer.get_config().items() if k != "beta"}
    assert HorqConv2D.from_config(old).beta == "sample"
    with pytest.raises(ValueError, match="beta"):
        HorqConv2D(4, 3, beta="column")


@pytest.mark.parametrize("order", [0, -1, 1.5, "2"])
def test_horq_rejects_bad_order(order):
    with pytest.raises(ValueError, match="order"):
        q.HorqInputQuantizer(order=order)


# ---------------------------------------------------------------- Bi-Real
def test_approx_sign_gradient_equals_piecewise_polynomial_derivative():
    x = np.linspace(-1.5, 1.5, 61).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = q.BiRealApproxSign()(xt)
    grad = tape.gradient(y, xt).numpy()
    expected = np.where((x >= -1) & (x < 0), 2 + 2 * x,
                        np.where((x >= 0) & (x < 1), 2 - 2 * x, 0.0))
    np.testing.assert_allclose(grad, expected, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), _sign(x))


def test_magnitude_aware_sign_forward_and_gradient():
    rng = np.random.default_rng(9)
    w = tf.constant(rng.normal(size=(3, 3, 2, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(w)
        wb = q.BiRealWeightQuantizer()(w)
        loss = tf.reduce_sum(wb)
    wn = w.numpy()
    alpha = np.abs(wn).reshape(-1, 4).mean(axis=0)
    np.testing.assert_allclose(wb.numpy(), alpha * _sign(wn), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), alpha * (np.abs(wn) <= 1),
                               rtol=1e-6)


@pytest.mark.parametrize("quantizer", [
    q.BWNWeightQuantizer(clip_value=0.5), q.XnorInputQuantizer(bits=3),
    q.HorqInputQuantizer(order=3), q.HorqInputQuantizer(order=2, scale="pixel"),
    q.BWNWeightQuantizer(gradient="exact"), q.BiRealApproxSign(), q.BiRealWeightQuantizer()])
def test_quantizers_round_trip_through_keras_serialization(quantizer):
    config = tf.keras.utils.serialize_keras_object(quantizer)
    clone = tf.keras.utils.deserialize_keras_object(config)
    assert type(clone) is type(quantizer)
    assert clone.get_config() == quantizer.get_config()
    x = tf.constant(np.random.default_rng(10).normal(size=(2, 3, 3, 4)), dtype=tf.float32)
    np.testing.assert_array_equal(clone(x).numpy(), quantizer(x).numpy())
