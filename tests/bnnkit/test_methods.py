"""BWN, XNOR-Net, HORQ and Bi-Real as methods: build, save/reload, LCE conversion, stages."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bnnkit.errors import InvalidConfigError
from bnnkit.layers import HorqConv2D
from bnnkit.methods import get_method
from bnnkit.models import build_model

#: (method, options) of every binary-activation method, as LCE must deploy it
BINARY_ACTIVATION_METHODS = [
    ("bnn", {}), ("xnor", {}), ("xnor", {"input_scale": False}),
    ("horq", {"order": 2, "beta": "map"}), ("horq", {"order": 2, "beta": "sample"}),
    ("bireal", {}),
]
ALL_METHODS = [("float", {}), ("bwn", {}), *BINARY_ACTIVATION_METHODS,
               ("horq", {"order": 3}), ("xnor", {"bits": 2}), ("bireal", {"real_valued": True})]


def _ids(params):
    return [m + "".join(f"-{k}={v}" for k, v in o.items()) for m, o in params]


def count_operators(flatbuffer: bytes) -> dict:
    """Operators of a .tflite model by name (custom code or builtin number), one per op."""
    import tflite

    model = tflite.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    counts: dict = {}
    for i in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(i).OpcodeIndex())
        name = (code.CustomCode().decode() if code.CustomCode()
                else max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        counts[name] = counts.get(name, 0) + 1
    return counts


def expected_binary_convs(model) -> int:
    """Binary convolutions of a Keras model: convs whose inputs and weights are +-1."""
    count = 0
    for layer in model.layers:
        if isinstance(layer, HorqConv2D):
            count += layer.order
        elif getattr(layer, "input_quantizer", None) is not None and \
                getattr(layer.input_quantizer, "precision", None) == 1 and \
                getattr(layer.kernel_quantizer, "precision", None) == 1:
            count += 1
    return count


@pytest.mark.parametrize("method,options", [
    pytest.param(m, o, marks=() if not o else pytest.mark.slow) for m, o in ALL_METHODS],
    ids=_ids(ALL_METHODS))
def test_lenet_saved_and_reloaded_gives_bit_identical_outputs(method, options, tmp_path):
    assert_save_reload_bit_identical(build_model("lenet", method, width=0.5, **options),
                                     tmp_path)


def randomize_weights(model, seed=0):
    """Give every weight (BN statistics too) a random non-initial value; variances > 0."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                               if "variance" in v.name else
                               rng.normal(0, 0.5, w.shape).astype(w.dtype)
                               for w, v in zip(weights, layer.weights)])


def assert_save_reload_bit_identical(model, tmp_path):
    """Saved, then loaded in a new process as the CLI does: same layers, configs, outputs."""
    from bnnkit.serialization import save_model
    from reload_support import assert_reloads_identically, reload_in_fresh_process

    randomize_weights(model)
    x = np.random.default_rng(1).uniform(-1, 1, (8, *model.input_shape[1:])).astype(np.float32)
    path = save_model(model, tmp_path / "model.keras")
    (reloaded,) = reload_in_fresh_process([path], x, tmp_path / "reloaded")
    assert_reloads_identically(model, reloaded, x)


@pytest.mark.parametrize("method,options", BINARY_ACTIVATION_METHODS,
                         ids=_ids(BINARY_ACTIVATION_METHODS))
def test_lce_makes_every_binary_conv_an_lce_bconv2d(method, options):
    import larq_compute_engine as lce

    model = build_model("lenet", method, **options)
    expected = expected_binary_convs(model)
    assert expected >= 2
    ops = count_operators(lce.convert_keras_model(model))
    assert ops.get("LceBconv2d", 0) == expected, ops


@pytest.mark.slow
@pytest.mark.parametrize("method,options", BINARY_ACTIVATION_METHODS,
                         ids=_ids(BINARY_ACTIVATION_METHODS))
def test_lce_model_agrees_with_keras_on_real_mnist_after_training(method, options,
                                                                  mnist_small):
    import larq_compute_engine as lce
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    tf.keras.utils.set_random_seed(0)
    model = build_model("lenet", method, **options)
    model.compile(tf.keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  ["accuracy"])
    x_train = mnist_small.normalize(mnist_small.x_train)
    model.fit(x_train, mnist_small.y_train, batch_size=64, epochs=1, verbose=0)
    x_test = mnist_small.normalize(mnist_small.x_test)
    keras_top1 = model.predict(x_test, verbose=0).argmax(axis=1)
    accuracy = (keras_top1 == mnist_small.y_test).mean()
    assert accuracy > 0.5, f"{method} did not learn: {accuracy:.3f}"
    interpreter = Interpreter(lce.convert_keras_model(model), num_threads=1,
                              use_indirect_bgemm=True)
    tflite_top1 = interpreter.predict(x_test).argmax(axis=1)
    agreement = (tflite_top1 == keras_top1).mean()
    assert agreement >= 0.995, f"{method}: Keras-vs-TFLite top-1 agreement {agreement:.4f}"


def test_trained_horq2_beta_map_converts_to_two_lce_bconv2d_per_layer_and_agrees(mnist_small):
    import larq_compute_engine as lce
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    tf.keras.utils.set_random_seed(0)
    model = build_model("lenet", "horq", order=2, beta="map")
    horq_layers = [layer for layer in model.layers if isinstance(layer, HorqConv2D)]
    assert len(horq_layers) == 2 and all(layer.beta == "map" for layer in horq_layers)
    model.compile(tf.keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  ["accuracy"])
    model.fit(mnist_small.normalize(mnist_small.x_train), mnist_small.y_train, batch_size=64,
              epochs=1, verbose=0)
    x_test = mnist_small.normalize(mnist_small.x_test)
    keras_top1 = model.predict(x_test, verbose=0).argmax(axis=1)
    assert (keras_top1 == mnist_small.y_test).mean() > 0.5
    flatbuffer = lce.convert_keras_model(model)
    assert count_operators(flatbuffer).get("LceBconv2d", 0) == 2 * len(horq_layers)
    interpreter = Interpreter(flatbuffer, num_threads=1, use_indirect_bgemm=True)
    agreement = (interpreter.predict(x_test).argmax(axis=1) == keras_top1).mean()
    assert agreement >= 0.995, f"Keras-vs-TFLite top-1 agreement {agreement:.4f}"


def test_bireal_two_step_training_initializes_the_bnn_from_the_clip_network():
    method = get_method("bireal")
    stages = method.training_stages(lambda m: build_model("lenet", m), epochs=6)
    assert [s.name for s in stages] == ["real_clip", "binary"]
    assert [s.epochs for s in stages] == [2, 4]
    real = stages[0].build(None, None)
    assert not any(getattr(layer, "kernel_quantizer", None) for layer in real.layers)
    assert any(layer.name.endswith("_clip") for layer in real.layers)
    for layer in real.layers:  # make the real weights distinguishable from a fresh init
        layer.set_weights([w + 0.01 * (i + 1) for i, w in enumerate(layer.get_weights())])
    binary = stages[1].build(real, None)
    assert expected_binary_convs(binary) == 2
    real_layers = {layer.name: layer for layer in real.layers}
    copied = 0
    for layer in binary.layers:
        if layer.weights:
            for a, b in zip(layer.get_weights(), real_layers[layer.name].get_weights()):
                np.testing.assert_array_equal(a, b)
            copied += 1
    assert copied >= 8  # stem, 2 binary convs, their BNs, shortcut convs and BNs, classifier


def test_bireal_with_one_epoch_has_only_the_binary_step():
    stages = get_method("bireal").training_stages(lambda m: build_model("lenet", m), 1)
    assert [(s.name, s.epochs) for s in stages] == [("binary", 1)]


def test_bireal_paper_recipe_is_the_relu_then_clip_then_binary_chain_with_sgd():
    from bnnkit.recipes import BIREAL_PAPER, RESNET_PAPER

    method = get_method("bireal")
    stages = method.training_stages(lambda m: build_model("lenet", m), 5,
                                    method.recipe("paper"))
    assert [(s.name, s.epochs) for s in stages] == [("real_relu", 1), ("real_clip", 1),
                                                    ("binary", 3)]
    assert [s.recipe for s in stages] == [RESNET_PAPER, BIREAL_PAPER, BIREAL_PAPER]
    assert BIREAL_PAPER.optimizer == "sgd" and BIREAL_PAPER.momentum == 0.9
    assert BIREAL_PAPER.weight_decay == 0.0 and BIREAL_PAPER.boundaries == (0.5, 0.75)
    relu = stages[0].build(None, None)
    assert any(layer.name == "block1_relu" for layer in relu.layers)
    assert not any(getattr(layer, "kernel_quantizer", None) for layer in relu.layers)
    for layer in relu.layers:  # distinguishable from a fresh init
        layer.set_weights([w + 0.01 for w in layer.get_weights()])
    clip = stages[1].build(relu, None)
    assert any(layer.name == "block1_clip" for layer in clip.layers)
    np.testing.assert_array_equal(clip.get_layer("block1_conv").get_weights()[0],
                                  relu.get_layer("block1_conv").get_weights()[0])
    binary = stages[2].build(clip, None)
    assert expected_binary_convs(binary) == 2


def test_step_schedule_drops_the_rate_at_the_papers_fractions_of_the_stage():
    from bnnkit.recipes import BIREAL_PAPER

    schedule = BIREAL_PAPER.learning_rate_schedule(0.01, 200)
    rates = [float(schedule(step)) for step in (0, 99, 101, 149, 151, 199)]
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001], rtol=1e-6)
    optimizer = BIREAL_PAPER.make_optimizer(0.01, 200)
    assert isinstance(optimizer, tf.keras.optimizers.SGD)
    assert float(optimizer.momentum) == pytest.approx(0.9)


@pytest.mark.parametrize("method", ["float", "bnn", "bwn", "xnor", "horq", "bireal", "bwnh",
                                    "sbd"])
def test_every_method_has_a_budget_and_a_paper_recipe_with_a_source(method):
    m = get_method(method)
    assert m.recipe("budget").name == "budget" and m.recipe("budget").optimizer == "adam"
    paper = m.recipe("paper")
    assert paper.name == "paper" and paper.source
    with pytest.raises(InvalidConfigError, match="recipe"):
        m.recipe("fast")


def test_bireal18_stem_has_no_relu_like_the_official_model():
    model = build_model("bireal18", "bireal", input_shape=(32, 32, 3), num_classes=10,
                        width=0.125)
    names = [layer.name for layer in model.layers]
    assert "stem_bn" in names and "stem_relu" not in names
    assert names.index("stem_pool") == names.index("stem_bn") + 1
    assert "stem_relu" in [layer.name for layer in build_model(
        "resnet18", "xnor", input_shape=(32, 32, 3), num_classes=10, width=0.125).layers]


def test_bireal_clip_network_activation_is_clip_minus_one_one():
    model = build_model("lenet", "bireal", real_valued=True)
    clip = model.get_layer("block1_clip")
    np.testing.assert_array_equal(clip(tf.constant([-3.0, -0.5, 0.0, 0.7, 2.0])).numpy(),
                                  np.float32([-1.0, -0.5, 0.0, 0.7, 1.0]))


def test_bireal_block_keeps_identity_shortcut_when_shapes_match():
    inputs = tf.keras.Input((8, 8, 16))
    outputs = get_method("bireal").conv_block(inputs, 16, 3, name="b")
    model = tf.keras.Model(inputs, outputs)
    names = [layer.name for layer in model.layers]
    assert "b_add" in names and not any("shortcut" in n for n in names)
    # zeroing the BN's gamma and beta leaves only the shortcut: the block is the identity
    bn = model.get_layer("b_bn")
    bn.set_weights([np.zeros(16), np.zeros(16), np.zeros(16), np.ones(16)])
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 16)).astype(np.float32)
    np.testing.assert_allclose(model(x).numpy(), x, atol=1e-6)


@pytest.mark.parametrize("method,options,match", [
    ("xnor", {"bits": 0}, "bits"), ("horq", {"order": 0}, "order"),
    ("horq", {"beta": "column"}, "beta"), ("bwn", {"gradient": "printed"}, "gradient"),
    ("bireal", {"real_activation": "tanh"}, "real_activation"),
    ("horq", {"depth": 2}, "no option"), ("bireal", {"order": 2}, "no option")])
def test_bad_method_options_raise_invalid_config_error(method, options, match):
    with pytest.raises(InvalidConfigError, match=match):
        get_method(method, **options)


def test_k_bit_xnor_is_not_a_binary_activation_method():
    assert get_method("xnor").binary_activations
    assert not get_method("xnor", bits=2).binary_activations
