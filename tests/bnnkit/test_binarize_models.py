"""Data-driven binarization as a whole: calibration patches, bad input, deployment, saving,
and the bwnh/sbd training methods."""

from __future__ import annotations

import numpy as np
import pytest

from binarize_support import trained_lenet
from bnnkit.binarize import binarize_bwnh, binarize_sbd, layer_gram
from bnnkit.errors import InvalidInputError, UnsupportedModelError

BINARIZERS = {
    "bwnh": lambda model, images, **kw: binarize_bwnh(model, images, **kw),
    "sbd": lambda model, images, **kw: binarize_sbd(model, images, bit_budget=0.5, **kw),
}


@pytest.fixture(scope="module")
def lenet(mnist_dir):
    return trained_lenet(str(mnist_dir))


@pytest.fixture(scope="module")
def binarized(lenet):
    model, dataset = lenet
    images = dataset.normalize(dataset.x_train[:128])
    return {name: fn(model, images) for name, fn in BINARIZERS.items()}


@pytest.mark.parametrize("strides,dilation,padding", [(2, 1, "same"), (1, 2, "valid"),
                                                      (1, 1, "same")])
def test_gram_of_im2col_patches_reproduces_conv_output_energy(strides, dilation, padding):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    inputs = tf.keras.Input((9, 9, 3))
    conv = tf.keras.layers.Conv2D(4, 3, strides=strides, dilation_rate=dilation,
                                  padding=padding, use_bias=False, name="conv")
    model = tf.keras.Model(inputs, conv(inputs))
    images = rng.standard_normal((5, 9, 9, 3)).astype(np.float32)
    stats = layer_gram(model, "conv", images, patches_per_image=None)
    kernel = conv.get_weights()[0].reshape(-1, 4).astype(np.float64)
    outputs = model(images).numpy().astype(np.float64)
    assert stats.patches == outputs.shape[0] * outputs.shape[1] * outputs.shape[2]
    np.testing.assert_allclose(np.trace(kernel.T @ stats.gram @ kernel),
                               np.sum(outputs ** 2), rtol=1e-5)


@pytest.mark.parametrize("method", sorted(BINARIZERS))
@pytest.mark.parametrize("shape", [(4, 28, 28), (4, 32, 32, 1), (4, 28, 28, 3), (0, 28, 28, 1)])
def test_calibration_images_of_the_wrong_shape_fail_clearly(lenet, method, shape):
    model, _ = lenet
    with pytest.raises(InvalidInputError, match="calibration images|no calibration"):
        BINARIZERS[method](model, np.zeros(shape, np.float32))


@pytest.mark.parametrize("method", sorted(BINARIZERS))
def test_calibration_images_with_nan_fail_clearly(lenet, method):
    model, _ = lenet
    images = np.zeros((4, 28, 28, 1), np.float32)
    images[1, 3, 3, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        BINARIZERS[method](model, images)


@pytest.mark.parametrize("method", sorted(BINARIZERS))
def test_model_without_conv_or_dense_layer_fails_clearly(method):
    import tensorflow as tf

    inputs = tf.keras.Input((28, 28, 1))
    x = tf.keras.layers.MaxPool2D(2)(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Flatten()(x))
    with pytest.raises(UnsupportedModelError, match="no Conv2D or Dense layer"):
        BINARIZERS[method](model, np.zeros((2, 28, 28, 1), np.float32))


def test_model_with_only_first_and_last_layers_needs_explicit_layer_names():
    import tensorflow as tf

    inputs = tf.keras.Input((8, 8, 1))
    x = tf.keras.layers.Conv2D(4, 3, name="first")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="last")(
        tf.keras.layers.Flatten()(x)))
    images = np.random.default_rng(0).standard_normal((16, 8, 8, 1)).astype(np.float32)
    with pytest.raises(UnsupportedModelError, match="name the layers"):
        binarize_bwnh(model, images)
    with pytest.raises(UnsupportedModelError, match="no layer named"):
        binarize_bwnh(model, images, layers=["missing"])
    # a Dense layer and a biased conv, named explicitly, work
    result = binarize_sbd(model, images, layers=["first", "last"], components=2)
    assert [r.layer for r in result.layers] == ["first", "last"]
    assert result.model.get_layer("last_u").get_weights()[1].shape == (3,)


@pytest.mark.parametrize("method", sorted(BINARIZERS))
def test_binarized_model_saves_and_reloads_identically_in_safe_mode(binarized, lenet, method,
                                                                    tmp_path):
    """Loaded in a new process, as ``bnnkit convert`` loads it (SBD's ChannelScale too)."""
    from bnnkit.serialization import save_model
    from reload_support import assert_reloads_identically, reload_in_fresh_process

    model = binarized[method].model
    path = save_model(model, tmp_path / "model.keras")
    images = lenet[1].normalize(lenet[1].x_test[:16])
    (reloaded,) = reload_in_fresh_process([path], images, tmp_path / "reloaded")
    assert_reloads_identically(model, reloaded, images)


@pytest.mark.ci  # two converters per method: ~20-50 s on 2 cores (the CI tier)
@pytest.mark.parametrize("method", sorted(BINARIZERS))
def test_binarized_model_converts_with_lce_and_stock_tflite(binarized, lenet, method):
    """Both converters' files give the Keras model's outputs (LCE's on its interpreter)."""
    import larq_compute_engine as lce
    import tensorflow as tf

    from converters import open_runner

    model = binarized[method].model
    images = lenet[1].normalize(lenet[1].x_test[:4])
    expected = model.predict(images, verbose=0)
    lce_outputs = open_runner(lce.convert_keras_model(model), runtime="lce").predict(images)
    np.testing.assert_allclose(lce_outputs, expected, atol=1e-4)
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], images)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("method", sorted(BINARIZERS))
def test_binarized_model_fine_tunes_with_fit(binarized, lenet, method):
    import tensorflow as tf

    _, dataset = lenet
    model = tf.keras.models.clone_model(binarized[method].model)
    model.set_weights(binarized[method].model.get_weights())
    model.compile(tf.keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy",
                  ["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(dataset.pipeline("train", 64).take(3), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("method", ["bwnh", "sbd"])
def test_method_trains_float_then_binarizes_hidden_layers(lenet, method, tmp_path):
    import larq as lq

    from bnnkit.methods import get_method
    from bnnkit.models import build_model

    float_model, dataset = lenet
    m = get_method(method, calibration_images=64, finetune_epochs=1, bit_budget=0.5) \
        if method == "sbd" else get_method(method, calibration_images=64, finetune_epochs=1)
    built = build_model("lenet", m, width=0.25)
    assert not any(isinstance(layer, lq.layers.QuantConv2D) for layer in built.layers)
    stages = m.training_stages(lambda method_instance: build_model("lenet", method_instance,
                                                                   width=0.25), 2)
    # the run's epochs are the total over both stages
    assert [(s.name, s.epochs) for s in stages] == [("float", 1), ("binarize", 1)]
    assert [s.epochs for s in get_method(method).training_stages(None, 5)] == [3, 2]
    first = stages[0].build(None, dataset)
    assert first.name == "lenet_float"
    binary = stages[1].build(float_model, dataset)
    quantized = {layer.name for layer in binary.layers
                 if isinstance(layer, lq.layers.QuantConv2D)}
    assert quantized == ({"block1_conv", "fc_conv"} if method == "bwnh" else
                         {"block1_conv_v", "block1_conv_u", "fc_conv_v", "fc_conv_u"})
    assert [r.layer for r in m.last_binarization.layers] == ["block1_conv", "fc_conv"]
    # start from a saved float model: the float stage only loads it
    path = tmp_path / "float.keras"
    float_model.save(path)
    stages = get_method(method, float_model=str(path)).training_stages(None, 3)
    assert stages[0].epochs == 0 and stages[1].epochs == 3
    loaded = stages[0].build(None, dataset)
    np.testing.assert_array_equal(loaded.get_weights()[0], float_model.get_weights()[0])


@pytest.mark.parametrize("method", ["sbd", pytest.param("bwnh", marks=pytest.mark.slow)])
def test_fine_tuning_flips_bits_from_the_default_latents_but_not_from_the_clip_limit(
    lenet, method
):
    import tensorflow as tf

    from bnnkit.methods import get_method
    from bnnkit.models import build_model

    float_model, dataset = lenet
    flips = {}
    for magnitude in (None, 1.0):  # None: the default
        options = {} if magnitude is None else {"latent_magnitude": magnitude}
        m = get_method(method, calibration_images=64, **options,
                       **({"bit_budget": 0.5} if method == "sbd" else {}))
        stage = m.training_stages(lambda mi: build_model("lenet", mi, width=0.25), 2)[1]
        tf.keras.utils.set_random_seed(0)
        model = stage.build(float_model, dataset)
        model.compile(tf.keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
        model.fit(dataset.pipeline("train", 64, shuffle_seed=0), epochs=1, verbose=0)
        report = stage.report(model)
        assert 0.0 < report["binarized_accuracy"] <= 1.0
        assert 0.0 < report["bwn_binarized_accuracy"] <= 1.0
        assert 0.0 < report["float_accuracy"] <= 1.0
        flips[magnitude] = report["flipped_bits"]
        assert report["binary_weights"] > 0
        assert sum(report["per_layer"].values()) == report["flipped_bits"]
    # 31 Adam steps of 1e-4 move a latent weight by at most ~3e-3: enough from the default
    # 1e-3, never from the clip limit 1.0
    assert flips[None] > 0 and flips[1.0] == 0, flips
