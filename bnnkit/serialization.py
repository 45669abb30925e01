"""Save and load bnnkit/Larq Keras models: atomically, safely, and with custom objects.

* Saving writes to a temporary name next to the target and renames it into place, so a
  crash never leaves a half-written model.
* Loading uses Keras' ``safe_mode=True`` (no deserialization of arbitrary Python code, no
  ``Lambda`` bytecode) and turns every failure into :class:`InvalidModelFileError`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from bnnkit.errors import InvalidModelFileError

MODEL_FILENAME = "model.keras"


def custom_objects() -> dict:
    """Every custom Keras object bnnkit and Larq define, by registered name.

    Importing :mod:`bnnkit.methods` registers all quantizers and layers of every method.
    """
    import larq  # noqa: F401  (registers Larq's quantizers and layers)
    import tensorflow as tf

    import bnnkit.methods  # noqa: F401

    return dict(tf.keras.utils.get_custom_objects())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path`` through a temporary file and an atomic rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


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


def save_model(model, path: str | os.PathLike) -> Path:
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


def load_model(path: str | os.PathLike, *, compile: bool = False):
    """Load a Keras model saved by bnnkit (or plain Larq) in safe mode.

    # Arguments
        path: a ``.keras`` file, a ``.h5`` file, a SavedModel folder, or a bnnkit run folder
            (``runs/<name>/`` holding ``model.keras``).
        compile: restore the training configuration too.

    # Raises
        InvalidModelFileError: the path does not hold a loadable Keras model.
    """
    import tensorflow as tf

    model_file = _model_file(Path(path))
    objects = custom_objects()
    try:
        if model_file.suffix == ".keras":
            return tf.keras.models.load_model(model_file, custom_objects=objects,
                                              compile=compile, safe_mode=True)
        # The .h5 and SavedModel loaders ignore ``safe_mode``; the scope makes them refuse
        # Lambda bytecode too (it would otherwise run arbitrary code from the file).
        from tf_keras.src.saving.serialization_lib import SafeModeScope

        with SafeModeScope(True):
            return tf.keras.models.load_model(model_file, custom_objects=objects,
                                              compile=compile)
    except InvalidModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 - Keras raises many unrelated types here
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidModelFileError(f"cannot load a Keras model from {model_file}: {message}") from error
