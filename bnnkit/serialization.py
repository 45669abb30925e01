"""Save and load bnnkit/Larq Keras models: atomically, safely, and with custom objects.

* Saving writes to a temporary name next to the target and renames it into place, so a
  crash never leaves a half-written model.
* Loading uses Keras' ``safe_mode=True`` (no deserialization of arbitrary Python code, no
  ``Lambda`` bytecode) and turns every failure into :class:`InvalidModelFileError`.
* Custom objects: bnnkit's and Larq's, those of known third-party packages that are installed
  (:data:`KNOWN_OBJECT_PACKAGES`: larq-zoo), and those of modules the caller names
  (``custom_object_modules``, ``bnnkit convert --custom-objects``). Naming a module imports it,
  which runs its code: that is an act of trust in the module, not in the model file. A model
  that needs an object nobody defined is refused with a message naming the object.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bnnkit.errors import InvalidInputError, InvalidModelFileError

__all__ = [
    "CUSTOM_OBJECTS_HINT",
    "KNOWN_OBJECT_PACKAGES",
    "MODEL_FILENAME",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "custom_objects",
    "import_object_modules",
    "load_model",
    "save_model",
]


MODEL_FILENAME = "model.keras"
# Packages whose custom objects are known without being named, when they are installed.
KNOWN_OBJECT_PACKAGES = ("larq_zoo",)
CUSTOM_OBJECTS_HINT = (
    "import the module that defines it: bnnkit convert --custom-objects "
    "MODULE (Python: load_model(path, custom_object_modules=[MODULE]))"
)


def import_object_modules(names: Iterable[str]) -> dict:
    """Import the modules ``names`` (dotted names); return the objects they define.

    Importing a module registers what it registers with Keras (Larq's
    ``register_keras_custom_object``, ``tf.keras.utils.register_keras_serializable``). Its
    public classes and functions are returned by name as well, and those it did not register
    are registered under that name (as ``register_keras_custom_object`` would): clones of the
    model (rewrites, the int8 target) look objects up in Keras' registry, not in the
    ``custom_objects`` the model was loaded with.

    # Raises
        InvalidInputError: a name is not an importable module.
    """
    objects = {}
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        try:
            module = importlib.import_module(name)
        except Exception as error:
            raise InvalidInputError(
                f"cannot import custom-objects module {name!r}: {type(error).__name__}: {error}"
            ) from error
        for attribute, value in vars(module).items():
            if (
                not attribute.startswith("_")
                and (inspect.isclass(value) or inspect.isfunction(value))
                and getattr(value, "__module__", None) == module.__name__
            ):
                objects[attribute] = value
    if objects:
        import tensorflow as tf

        registry = tf.keras.utils.get_custom_objects()
        for attribute, value in objects.items():
            registry.setdefault(attribute, value)
    return objects


def _import_known_packages() -> dict:
    """Import the installed :data:`KNOWN_OBJECT_PACKAGES`; ``{name: error}`` for failures."""
    failures = {}
    for name in KNOWN_OBJECT_PACKAGES:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name)
        except Exception as error:
            failures[name] = f"{type(error).__name__}: {error}"
    return failures


def custom_objects(modules: Iterable[str] = ()) -> dict:
    """Every custom Keras object bnnkit and Larq define, by registered name.

    Importing :mod:`bnnkit.quantizers` and :mod:`bnnkit.layers` registers every bnnkit
    quantizer and layer a saved model can hold (the methods only combine them).
    Installed :data:`KNOWN_OBJECT_PACKAGES` (larq-zoo) are imported too, and ``modules``
    (dotted names, see :func:`import_object_modules`) add their objects.
    """
    import larq  # noqa: F401  (registers Larq's quantizers and layers)
    import tensorflow as tf

    import bnnkit.layers
    import bnnkit.quantizers  # noqa: F401

    _import_known_packages()
    extra = import_object_modules(modules)
    return {**tf.keras.utils.get_custom_objects(), **extra}


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path`` through a temporary file and an atomic rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(
    path: str | os.PathLike, data: Any, *, default: Callable[[Any], Any] | None = None
) -> None:
    """Write ``data`` as indented JSON, atomically; ``default`` as in :func:`json.dumps`."""
    atomic_write_text(path, json.dumps(data, indent=2, default=default) + "\n")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes to ``path`` through a synced temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_model(model: Any, path: str | os.PathLike) -> Path:
    """Save ``model`` atomically in the Keras format (``.keras``) or as a SavedModel (a dir)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".keras":
        temporary = path.with_name(f".{path.stem}.tmp.keras")
        model.save(temporary)
        os.replace(temporary, path)
        return path
    temporary = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    model.save(temporary, save_format="tf")
    if path.exists():
        shutil.rmtree(path)
    os.replace(temporary, path)
    return path


def _model_file(path: Path) -> Path:
    """Resolve a run folder to its model file; check the file looks like a Keras model."""
    if path.is_dir() and (path / MODEL_FILENAME).is_file():
        return path / MODEL_FILENAME
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return path
        raise InvalidModelFileError(
            f"{path} is a folder with neither {MODEL_FILENAME} nor saved_model.pb"
        )
    if not path.exists():
        raise InvalidModelFileError(f"model file {path} does not exist")
    if path.stat().st_size == 0:
        raise InvalidModelFileError(f"model file {path} is empty")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise InvalidModelFileError(f"{path} is not a Keras model file (not a .keras zip archive)")
    if path.suffix not in (".keras", ".h5"):
        raise InvalidModelFileError(
            f"{path} is not a Keras model: expected a .keras file, a .h5 file, a SavedModel "
            "folder or a bnnkit run folder"
        )
    return path


def load_model(
    path: str | os.PathLike, *, compile: bool = False, custom_object_modules: Iterable[str] = ()
) -> Any:
    """Load a Keras model saved by bnnkit (or plain Larq) in safe mode.

    # Arguments
        path: a ``.keras`` file, a ``.h5`` file, a SavedModel folder, or a bnnkit run folder
            (``runs/<name>/`` holding ``model.keras``).
        compile: restore the training configuration too.
        custom_object_modules: dotted module names to import first (their custom objects:
            see :func:`import_object_modules`). Importing runs the module's code: name only
            modules you trust.

    # Raises
        InvalidModelFileError: the path does not hold a loadable Keras model, or it uses a
            custom object no imported module defines (the message names it).
        InvalidInputError: a module in ``custom_object_modules`` cannot be imported.
    """
    import tensorflow as tf

    model_file = _model_file(Path(path))
    objects = custom_objects(custom_object_modules)
    try:
        if model_file.suffix == ".keras":
            return tf.keras.models.load_model(
                model_file, custom_objects=objects, compile=compile, safe_mode=True
            )
        # The .h5 and SavedModel loaders ignore ``safe_mode``; the scope makes them refuse
        # Lambda bytecode too (it would otherwise run arbitrary code from the file).
        from tf_keras.src.saving.serialization_lib import SafeModeScope

        with SafeModeScope(True):
            config = _model_config(model_file) if model_file.suffix == ".h5" else None
            if config is not None and not compile and any(_function_refs(config)):
                return _load_h5_with_named_functions(model_file, config, objects)
            return tf.keras.models.load_model(model_file, custom_objects=objects, compile=compile)
    except InvalidModelFileError:
        raise
    except Exception as error:
        unknown = _unknown_object(error, model_file, objects)
        if unknown:
            raise InvalidModelFileError(
                f"cannot load a Keras model from {model_file}: {unknown}; {CUSTOM_OBJECTS_HINT}"
            ) from error
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidModelFileError(
            f"cannot load a Keras model from {model_file}: {message}"
        ) from error


_KERAS_PACKAGES = ("keras", "tf_keras", "tensorflow")
_MODEL_CLASSES = ("Functional", "Sequential", "Model")
_UNKNOWN = re.compile(r"Unknown ([\w ]+?): '?([\w.>/-]+)'?\.? ")


def _unknown_object(error: BaseException, model_file: Path, objects: dict) -> str | None:
    """Name the custom objects a model needs that nobody defined, or None.

    Read from the model's own config: a function saved by name (a Larq quantizer, an
    initializer) is ``{"class_name": "function", "config": "<name>"}``, a registered class
    carries ``"registered_name": "<package>><Name>"``; any of them missing from ``objects``
    is unknown. Without a readable config (SavedModel), Keras' "Unknown ...: 'name'" is used.
    """
    used_by: dict = {}
    for name, within in _unknown_refs(_model_config(model_file), objects):
        used_by.setdefault(name, set()).update([within] if within else [])
    unknown = [
        name + (f" (used by {', '.join(sorted(used_by[name]))})" if used_by[name] else "")
        for name in sorted(used_by)
    ]
    if not unknown:
        chain: list[str] = []
        seen: BaseException | None = error
        while seen is not None and len(chain) < 10:
            chain.append(str(seen))
            seen = seen.__cause__ or seen.__context__
        match = _UNKNOWN.search("\n".join(chain))
        if match is None or match.group(2) == "function":
            return None
        unknown = [f"{match.group(1)} {match.group(2)!r}"]
    broken = "".join(
        f" ({package} is installed but failed to import: {reason})"
        for package, reason in _import_known_packages().items()
    )
    return f"it uses custom objects that no imported module defines: {', '.join(unknown)}" + broken


def _unknown_refs(config, objects: dict, within: str | None = None):
    """``(description, enclosing layer class)`` of each object ``config`` names but
    ``objects`` lacks."""
    if isinstance(config, list):
        for value in config:
            yield from _unknown_refs(value, objects, within)
        return
    if not isinstance(config, dict):
        return
    class_name, registered = config.get("class_name"), config.get("registered_name")
    if class_name == "function" and isinstance(config.get("config"), str):
        if config["config"] not in objects:
            yield f"function {config['config']!r}", within
        return
    module = config.get("module")
    builtin = isinstance(module, str) and module.split(".")[0] in _KERAS_PACKAGES
    if (
        isinstance(registered, str)
        and registered != "function"
        and not builtin
        and registered not in objects
        and class_name not in objects
    ):
        yield f"class {class_name!r}" + (f" from module {module}" if module else ""), within
    if (
        "module" not in config
        and isinstance(class_name, str)
        and "name" in config
        and class_name not in objects
        and not _is_keras_layer(class_name)
    ):
        yield f"class {class_name!r}", within  # a layer in the legacy (.h5) format
    if (
        isinstance(class_name, str)
        and isinstance(config.get("config"), dict)
        and "name" in config["config"]
        and class_name not in _MODEL_CLASSES
    ):
        within = class_name
    for key, value in config.items():
        if key not in ("class_name", "registered_name", "module"):
            yield from _unknown_refs(value, objects, within)


def _is_keras_layer(class_name: str) -> bool:
    import tensorflow as tf

    return class_name in _MODEL_CLASSES or hasattr(tf.keras.layers, class_name)


def _model_config(model_file: Path):
    """The architecture JSON stored in a ``.keras``/``.h5`` file (None if unreadable)."""
    try:
        if model_file.suffix == ".keras":
            with zipfile.ZipFile(model_file) as archive:
                return json.loads(archive.read("config.json"))
        if model_file.suffix == ".h5":
            import h5py

            with h5py.File(model_file, "r") as handle:
                raw = handle.attrs.get("model_config")
                return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except Exception:
        return None
    return None


def _function_refs(config):
    """The ``{"class_name": "function", "config": "<name>"}`` entries of a model config."""
    if isinstance(config, dict):
        if config.get("class_name") == "function" and isinstance(config.get("config"), str):
            yield config
            return
        for value in config.values():
            yield from _function_refs(value)
    elif isinstance(config, list):
        for value in config:
            yield from _function_refs(value)


def _load_h5_with_named_functions(model_file: Path, config: dict, objects: dict):
    """Load an ``.h5`` model whose config refers to functions (quantizers, initializers).

    tf-keras writes a function as ``{"module": "builtins", "class_name": "function",
    "config": "<name>"}`` in an ``.h5`` file, but its ``.h5`` reader takes the legacy
    deserialization path, which looks up the class name ``"function"`` and fails even when
    ``<name>`` is registered (measured with larq-zoo's ``xnor_weight_scale`` and
    ``blurpool_initializer``). ``model_from_json`` takes the current path, which resolves the
    name through the custom objects: the architecture is rebuilt from the file's own config
    that way, and the weights are read from the same file (same topology, same order).
    """
    import tensorflow as tf

    model = tf.keras.models.model_from_json(json.dumps(config), custom_objects=objects)
    model.load_weights(model_file)
    return model
