"""Models are safe to load and exact to reload.

* every registered method's model (so every custom quantizer and layer in it) survives
  save -> load with bit-identical outputs, as ``.keras`` (safe mode) and as a SavedModel,
  loaded in a new process exactly as the CLI loads it (so nothing registered by building the
  model can hide a missing registration); methods are parametrized from the registry, so
  methods added later are covered too;
* loading registers every custom quantizer and layer bnnkit defines, through
  :mod:`bnnkit.quantizers` and :mod:`bnnkit.layers`, without importing the methods;
* every bnnkit quantizer survives Keras serialization with bit-identical outputs;
* loading refuses a ``.keras``/``.h5`` file carrying Python ``Lambda`` bytecode;
* nothing in bnnkit/ or converters/ unpickles a file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest

import bnnkit  # noqa: F401
import tensorflow as tf  # noqa: E402

from bnnkit.errors import InvalidModelFileError  # noqa: E402
from bnnkit.methods import available_methods, get_method  # noqa: E402
from bnnkit.models import build_model  # noqa: E402
from bnnkit.serialization import load_model, save_model  # noqa: E402
from reload_support import (assert_reloads_identically, layer_classes,  # noqa: E402
                            reload_in_fresh_process)

REPO_ROOT = Path(__file__).resolve().parents[2]
X = np.random.default_rng(8).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
# A few SBD components per layer: the layers, not the quality of the fit, are reloaded here.
OPTIONS = {"sbd": {"bit_budget": 0.1}}


def _tiny_dataset():
    from bnnkit.data import Dataset

    pixels = np.round((X + 1) * 127.5).astype(np.uint8)
    labels = np.arange(len(X)) % 10
    return Dataset("tiny", pixels, labels, pixels, labels, [str(i) for i in range(10)], "test")


@functools.lru_cache(maxsize=None)
def trained_model(method: str):
    """``method``'s final LeNet after one training step (weights and BN stats off their init).

    The model is what the method's last training stage builds: for BWNH and SBD, the float
    LeNet binarized with their data-driven procedure (so SBD's ChannelScale is included).
    """
    tf.keras.utils.set_random_seed(1)
    options = dict(OPTIONS.get(method, {}))
    if "calibration_images" in get_method(method).options:
        options["calibration_images"] = len(X)
    instance = get_method(method, **options)
    model = None
    for stage in instance.training_stages(
            lambda m: build_model("lenet", m, (28, 28, 1), 10), epochs=1):
        model = stage.build(model, _tiny_dataset())
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, np.arange(len(X)) % 10, epochs=1, batch_size=8, verbose=0)
    return model


def outputs(model) -> np.ndarray:
    return model(X, training=False).numpy()


@pytest.fixture(scope="module")
def reloaded_keras_files(tmp_path_factory):
    """Every method's model saved as ``.keras``, then reloaded in one new process."""
    folder = tmp_path_factory.mktemp("keras")
    paths = [save_model(trained_model(m), folder / f"{m}.keras") for m in available_methods()]
    reloaded = reload_in_fresh_process(paths, X, folder / "reloaded")
    return dict(zip(available_methods(), reloaded))


@pytest.mark.parametrize("method", available_methods())
def test_keras_format_reloads_bit_identically_in_a_new_process(method, reloaded_keras_files):
    assert_reloads_identically(trained_model(method), reloaded_keras_files[method], X)


# Exporting a SavedModel traces every function (~30 s a method on the shared CPU): one
# method by default, every registered method with -m slow.
@pytest.mark.parametrize("method", [
    pytest.param(name, marks=() if name == "bnn" else pytest.mark.slow)
    for name in available_methods()])
def test_saved_model_reload_is_bit_identical_as_keras_and_as_a_graph(method, tmp_path):
    model = trained_model(method)
    path = save_model(model, tmp_path / f"{method}_savedmodel")
    assert (path / "saved_model.pb").is_file()
    (reloaded,) = reload_in_fresh_process([path], X, tmp_path / "reloaded")
    np.testing.assert_array_equal(reloaded.outputs, outputs(model))
    assert reloaded.classes == layer_classes(model)
    # The same file through TensorFlow's own loader (what a serving stack would use). Its
    # signature is a traced graph, so it is compared with the original model traced too:
    # graph and eager execution may round differently (Grappler fuses ops).
    graph = tf.saved_model.load(str(path))
    serving = graph.signatures["serving_default"]
    (result,) = serving(tf.constant(X)).values()
    traced = tf.function(lambda x: model(x, training=False))(tf.constant(X)).numpy()
    np.testing.assert_array_equal(result.numpy(), traced)


_REGISTERED_IN_A_NEW_PROCESS = """
import sys, json
import bnnkit
from bnnkit.serialization import custom_objects
names = sorted(custom_objects())
print(json.dumps({"names": names, "methods_imported": "bnnkit.methods" in sys.modules}))
"""


def _bnnkit_keras_classes() -> set[str]:
    """Every Keras layer or Larq quantizer class defined in a bnnkit module (abstract bases,
    which no model contains, excepted)."""
    import importlib
    import pkgutil

    import bnnkit as package

    for info in pkgutil.walk_packages(package.__path__, "bnnkit."):
        importlib.import_module(info.name)
    found, stack = set(), [tf.keras.layers.Layer]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if (cls.__module__.startswith("bnnkit.") and not cls.__name__.startswith("_")
                and not cls.__dict__.get("abstract_base")):
            found.add(cls.__name__)
    return found


def test_loading_registers_every_bnnkit_layer_and_quantizer_without_the_methods():
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _REGISTERED_IN_A_NEW_PROCESS],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    registered = json.loads(result.stdout.strip().splitlines()[-1])
    classes = _bnnkit_keras_classes()
    assert {"ChannelScale", "XnorConv2D", "BWNWeightQuantizer"} <= classes
    assert classes - set(registered["names"]) == set()
    assert registered["methods_imported"] is False


def test_every_custom_layer_is_covered_by_some_method_model():
    """Each registered bnnkit layer appears in at least one method's final model above."""
    import larq as lq

    layers = {name for name, obj in tf.keras.utils.get_custom_objects().items()
              if isinstance(obj, type) and issubclass(obj, tf.keras.layers.Layer)
              and not issubclass(obj, lq.quantizers.Quantizer)
              and obj.__module__.startswith("bnnkit") and name == obj.__name__}
    seen = set()
    for method in available_methods():
        seen |= {type(layer).__name__ for layer in trained_model(method).layers}
    missing = layers - seen
    assert not missing, f"custom layers no method model uses (test them here): {missing}"


def _bnnkit_quantizers():
    import larq as lq

    import bnnkit.methods  # noqa: F401

    return sorted(
        (name, obj) for name, obj in tf.keras.utils.get_custom_objects().items()
        if isinstance(obj, type) and issubclass(obj, lq.quantizers.Quantizer)
        and obj.__module__.startswith("bnnkit") and name == obj.__name__
    )


@pytest.mark.parametrize("name,cls", _bnnkit_quantizers(), ids=[n for n, _ in _bnnkit_quantizers()])
def test_every_quantizer_round_trips_through_keras_serialization_bit_identically(name, cls):
    quantizer = cls()
    config = tf.keras.utils.serialize_keras_object(quantizer)
    restored = tf.keras.utils.deserialize_keras_object(config)
    assert type(restored) is cls
    assert restored.get_config() == quantizer.get_config()
    w = np.random.default_rng(2).normal(size=(3, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(restored(tf.constant(w)).numpy(),
                                  quantizer(tf.constant(w)).numpy())


def _lambda_model():
    inputs = tf.keras.Input((3,))
    return tf.keras.Model(inputs, tf.keras.layers.Lambda(lambda t: t * 2.0)(inputs))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_file_with_lambda_bytecode_is_refused(tmp_path, suffix):
    path = tmp_path / f"lambda{suffix}"
    _lambda_model().save(path)
    with pytest.raises(InvalidModelFileError, match="Lambda"):
        load_model(path)


def test_a_saved_model_with_a_lambda_runs_its_traced_graph_not_python_bytecode(tmp_path):
    path = tmp_path / "lambda_savedmodel"
    _lambda_model().save(path, save_format="tf")
    reloaded = load_model(path)
    # Keras' Lambda (which would unmarshal the bytecode) is refused; the SavedModel loader
    # falls back to the layer's traced TensorFlow graph, a revived object.
    (layer,) = [layer for layer in reloaded.layers if "lambda" in layer.name]
    assert type(layer) is not tf.keras.layers.Lambda
    assert "saved_model" in type(layer).__module__


UNSAFE = [
    (r"\bpickle\.loads?\(", "pickle.load"),
    (r"\bcPickle\b|\bdill\b|\bcloudpickle\b|\bjoblib\.load\(", "pickle-based loaders"),
    (r"\btorch\.load\(", "torch.load"),
    (r"allow_pickle\s*=\s*True", "np.load(allow_pickle=True)"),
    (r"\bmarshal\.loads?\(", "marshal.load"),
    (r"\byaml\.(unsafe_)?load\((?![^)]*SafeLoader)", "yaml.load without SafeLoader"),
    (r"safe_mode\s*=\s*False", "Keras safe_mode=False"),
    (r"\bshelve\.open\(", "shelve"),
]


def test_nothing_in_bnnkit_or_converters_unpickles_a_file():
    offenders = []
    files = [*REPO_ROOT.joinpath("bnnkit").rglob("*.py"),
             *REPO_ROOT.joinpath("converters").rglob("*.py")]
    assert len(files) > 10
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in UNSAFE:
                if re.search(pattern, code):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {what}")
    assert not offenders, "\n".join(offenders)


def test_keras_models_are_only_loaded_through_bnnkit_serialization():
    """Every ``load_model`` call outside serialization.py goes through bnnkit's safe loader."""
    offenders = []
    for path in [*REPO_ROOT.joinpath("bnnkit").rglob("*.py"),
                 *REPO_ROOT.joinpath("converters").rglob("*.py")]:
        if path.name == "serialization.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"keras\.(models\.)?load_model\(|saving\.load_model\(", line):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}")
    assert not offenders, "use bnnkit.serialization.load_model: " + ", ".join(offenders)
