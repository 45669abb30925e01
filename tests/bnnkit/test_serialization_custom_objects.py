"""Models that use third-party custom objects load when their module is named, and only then.

* ``load_model(path, custom_object_modules=[...])`` imports the modules and reloads the model
  bit-exactly, as ``.keras`` and as ``.h5`` (whose reader cannot resolve functions saved by
  name on its own);
* without the module, the error names every missing object and the way to provide it;
* packages in ``KNOWN_OBJECT_PACKAGES`` (larq-zoo) are used without being named;
* a module that cannot be imported is one clear error.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import bnnkit  # noqa: F401
from bnnkit import serialization
from bnnkit.errors import InvalidInputError, InvalidModelFileError
from bnnkit.serialization import import_object_modules, load_model
from custom_objects_support import subprocess_env, third_party_models


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return third_party_models(tmp_path_factory.mktemp("third_party"))


@pytest.fixture
def importable(saved, monkeypatch):
    """``my_objects`` importable (on sys.path) but not imported yet."""
    monkeypatch.syspath_prepend(str(saved))
    monkeypatch.delitem(sys.modules, "my_objects", raising=False)
    return saved


@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_named_module_makes_the_model_load_with_identical_outputs(importable, name):
    model = load_model(importable / name, custom_object_modules=["my_objects"])
    x = np.load(importable / "inputs.npy")
    np.testing.assert_array_equal(model(x, training=False).numpy(),
                                  np.load(importable / "outputs.npy"))
    assert type(model.layers[2]).__name__ == "Scale"
    assert model.layers[1].kernel_quantizer.__name__ == "half_sign"


LOAD = """
import sys
import bnnkit
from bnnkit.errors import InvalidModelFileError
from bnnkit.serialization import load_model
try:
    load_model(sys.argv[1])
except InvalidModelFileError as error:
    print(error)
"""


@pytest.mark.parametrize("name, missing", [
    ("model.keras", ["class 'Scale' from module my_objects", "function 'half_sign'"]),
    ("model.h5", ["class 'my_objects>Scale'", "function 'half_sign' (used by QuantConv2D)"]),
])
def test_unknown_objects_are_named_with_the_flag_that_provides_them(saved, name, missing):
    # a fresh process: nothing of my_objects is registered with Keras there
    result = subprocess.run([sys.executable, "-c", LOAD, str(saved / name)], text=True,
                            capture_output=True, env=subprocess_env(saved), timeout=300)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    for fragment in missing:
        assert fragment in lines[0]
    assert "--custom-objects MODULE" in lines[0]


def test_known_package_is_imported_without_being_named(importable, monkeypatch):
    monkeypatch.setattr(serialization, "KNOWN_OBJECT_PACKAGES", ("my_objects",))
    objects = serialization.custom_objects()
    assert "my_objects" in sys.modules
    assert objects["my_objects>Scale"] is sys.modules["my_objects"].Scale  # registered on import


def test_known_package_that_is_not_installed_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setattr(serialization, "KNOWN_OBJECT_PACKAGES", ("no_such_package_bnnkit",))
    assert "QuantConv2D" in serialization.custom_objects()


def test_module_that_cannot_be_imported_is_one_clear_error():
    with pytest.raises(InvalidInputError, match="cannot import custom-objects module "
                                                "'no_such_module_bnnkit': ModuleNotFoundError"):
        import_object_modules(["no_such_module_bnnkit"])


def test_named_module_contributes_its_unregistered_functions_by_name(importable):
    objects = import_object_modules(["my_objects"])
    assert objects["half_sign"].__module__ == "my_objects"
    assert "Scale" in objects
    assert "lq" not in objects and "tf" not in objects  # imported modules are not objects
