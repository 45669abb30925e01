"""VGG-small, AlexNet, ResNet-18, Bi-Real-18/34: build for every method, convert with LCE."""

from __future__ import annotations

import pytest

from bnnkit.errors import UnsupportedModelError
from bnnkit.models import ARCHITECTURES, build_model
from test_methods import (assert_save_reload_bit_identical, count_operators,
                                 expected_binary_convs)

SHAPES = {"vgg_small": (32, 32, 3), "alexnet": (64, 64, 3), "resnet18": (64, 64, 3),
          "bireal18": (64, 64, 3), "bireal34": (64, 64, 3)}
#: binary 3x3/fc convs per architecture (one per method block)
BLOCKS = {"vgg_small": 5, "alexnet": 6, "resnet18": 16, "bireal18": 16, "bireal34": 32}


def test_every_architecture_is_registered():
    assert set(SHAPES) <= set(ARCHITECTURES)


FAST = {("vgg_small", "xnor"), ("alexnet", "horq"), ("resnet18", "bwn"),
        ("bireal18", "bireal")}


@pytest.mark.parametrize("arch,method", [
    pytest.param(a, m, marks=() if (a, m) in FAST else pytest.mark.slow)
    for a in sorted(SHAPES) for m in ["float", "bnn", "bwn", "xnor", "horq", "bireal"]])
def test_architecture_builds_for_every_method_with_real_first_and_last_layers(arch, method):
    model = build_model(arch, method, input_shape=SHAPES[arch], num_classes=7, width=0.125)
    assert model.output_shape == (None, 7)
    assert model.get_layer("stem_conv").__class__.__name__ == "Conv2D"
    assert model.get_layer("classifier").__class__.__name__ == "Dense"
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names)) and not any(n.startswith("quant_") for n in names)
    per_block = {"float": 0, "bwn": 0, "horq": 2}.get(method, 1)
    assert expected_binary_convs(model) == per_block * BLOCKS[arch]


def test_bireal18_has_a_shortcut_around_every_binary_conv():
    model = build_model("bireal18", "bireal", input_shape=(64, 64, 3), width=0.125)
    adds = [layer for layer in model.layers if layer.name.endswith("_add")]
    assert len(adds) == BLOCKS["bireal18"]
    downsampling = [layer.name for layer in model.layers
                    if layer.name.endswith("_shortcut_conv")]
    assert downsampling == [f"stage{s}_conv1_shortcut_conv" for s in (2, 3, 4)]


def test_vgg_small_saved_and_reloaded_gives_bit_identical_outputs(tmp_path):
    model = build_model("vgg_small", "horq", input_shape=(32, 32, 3), width=0.125)
    assert_save_reload_bit_identical(model, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bnn", "xnor", "horq", "bireal"])
def test_vgg_small_saved_and_reloaded_for_binary_methods(method, tmp_path):
    model = build_model("vgg_small", method, input_shape=(32, 32, 3), width=0.125)
    assert_save_reload_bit_identical(model, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(SHAPES))
@pytest.mark.parametrize("method", ["xnor", "horq", "bireal"])
def test_lce_makes_every_binary_conv_of_the_architecture_an_lce_bconv2d(arch, method):
    import larq_compute_engine as lce

    model = build_model(arch, method, input_shape=SHAPES[arch], num_classes=10, width=0.125)
    ops = count_operators(lce.convert_keras_model(model))
    assert ops.get("LceBconv2d", 0) == expected_binary_convs(model) > 0, ops


@pytest.mark.parametrize("arch,shape", [("alexnet", (16, 16, 3)), ("resnet18", (8, 8, 3)),
                                        ("vgg_small", (4, 4, 1))])
def test_too_small_inputs_raise_unsupported_model_error(arch, shape):
    with pytest.raises(UnsupportedModelError, match="height and width"):
        build_model(arch, "xnor", input_shape=shape)


def test_bireal_depth_other_than_18_or_34_is_rejected():
    from bnnkit.models.bireal import birealnet

    with pytest.raises(UnsupportedModelError, match="18 or 34"):
        birealnet("bireal", (64, 64, 3), 10, depth=50)
