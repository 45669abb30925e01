"""Validate a ``.tflite`` before any interpreter touches it.

TFLite interpreters trust their input. Measured on an x86 host: of 40 bit-flipped copies of
a small LCE model, the LCE interpreter segfaulted on 16, ran 6 silently with wrong weights and
raised on 18. So every runner in :mod:`converters.runtime` opens a model only through
:func:`guard_model`, which applies four checks in order:

1. **Structure**, with the schema reader (:mod:`converters.flatbuffer`): the ``TFL3`` file
   identifier, schema version 3, every table, vector and buffer inside the file, operator
   code indices valid, tensor indices valid (operators, subgraph inputs/outputs), each
   tensor's buffer index valid and each constant buffer exactly as large as the tensor's shape
   and dtype say, quantization parameters consistent with the shape.
2. **Integrity**: the file's sha256 against the one recorded when it was written
   (``conversion.json`` beside it, a bundle's ``metadata.json``, or ``expected_sha256``).
   This catches the flips that structure cannot see: a flipped weight is still a weight.
3. **Embedded digest**: every model bnnkit writes carries, in the flatbuffer's standard
   ``metadata`` table (which TFLite runtimes ignore), the sha256 of its buffers
   (:func:`content_digest`; written by :mod:`converters.seal`). A bare ``model.tflite``
   copied without its ``conversion.json`` still checks itself: a mismatch, or a damaged
   digest entry, is refused. Models from elsewhere have none and get checks 1, 2 and 4.
4. **Trial run** in a child process (``converters/_trial.py``: LCE's interpreter for models
   with LCE ops, without importing TensorFlow, well under a second; ai-edge-litert or
   ``tf.lite`` for the others; :func:`converters.open_runner` runs it on the runtime it
   chose, e.g. ai-edge-litert with the LCE-kernel delegate): a model that crashes the
   interpreter kills the child, and the caller gets an
   :class:`~bnnkit.errors.InvalidModelFileError` naming the file instead of a segfault.

    from converters.guard import guard_model
    data, info = guard_model("runs/mnist-bnn/model.tflite")
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

from bnnkit.errors import InvalidModelFileError
from converters.child import run_child
from converters.flatbuffer import (
    SCHEMA_VERSION,
    TENSOR_TYPE_ITEMSIZE,
    FlatbufferError,
    FlatbufferInfo,
    read_flatbuffer,
)

__all__ = [
    "DIGEST_FORMAT",
    "DIGEST_NAME",
    "TRIAL_TIMEOUT_SECONDS",
    "check_embedded_digest",
    "check_structure",
    "content_digest",
    "digest_record",
    "embedded_digest",
    "guard_model",
    "recorded_sha256",
    "sha256_bytes",
    "sha256_file",
    "trial_run",
]


#: Name of bnnkit's entry in a model's ``metadata`` table; its buffer holds a JSON record.
DIGEST_NAME = "bnnkit_digest"
DIGEST_FORMAT = 1
TRIAL_TIMEOUT_SECONDS = 120
_TRIAL_PASSED: set = set()  # sha256 of models whose trial run passed in this process


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_digest(data: bytes, info: FlatbufferInfo) -> str:
    """sha256 of the model's content: every buffer except those the ``metadata`` table names.

    Buffers are hashed in index order, each as its length (8 bytes, little-endian) then its
    bytes: the weights and every other constant a tensor reads. Metadata buffers are left out,
    so adding metadata (a TFLite metadata writer, the digest itself) keeps the digest. The
    same definition is implemented by the Android app's ``ModelDigest`` and checked
    against this one by the tests.
    """
    skipped = set(info.metadata.values())
    digest = hashlib.sha256()
    for index, (start, length) in enumerate(info.buffer_spans):
        if index not in skipped:
            digest.update(length.to_bytes(8, "little"))
            digest.update(data[start : start + length])
    return digest.hexdigest()


def digest_record(value: str) -> bytes:
    """The JSON value of the :data:`DIGEST_NAME` metadata entry for a digest ``value``."""
    record = {
        DIGEST_NAME: DIGEST_FORMAT,
        "algorithm": "sha256",
        "covers": "buffers",
        "value": value,
    }
    return json.dumps(record, separators=(",", ":")).encode("ascii")


def embedded_digest(data: bytes, info: FlatbufferInfo, name: str = "model") -> str | None:
    """The content digest bnnkit embedded in the model, or None for a model without one.

    # Raises
        InvalidModelFileError: the file names a bnnkit digest that cannot be read (its
            metadata entry or its record is damaged).
    """
    damaged = (
        f"{name} carries a damaged bnnkit digest entry: the file was modified or corrupted "
        "after bnnkit wrote it. Re-convert it or copy it again."
    )
    index = info.metadata.get(DIGEST_NAME)
    if index is None:
        if DIGEST_NAME.encode("ascii") in data:  # the record without its entry, or vice versa
            raise InvalidModelFileError(damaged)
        return None
    try:
        record = json.loads(info.buffer_data(data, index).decode("ascii"))
        value = record["value"]
        valid = record[DIGEST_NAME] == DIGEST_FORMAT and record["algorithm"] == "sha256"
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise InvalidModelFileError(damaged) from None
    if not valid or not isinstance(value, str) or len(value) != 64:
        raise InvalidModelFileError(damaged)
    return value


def check_embedded_digest(data: bytes, info: FlatbufferInfo, name: str = "model") -> bool:
    """Check the embedded digest against the content; False when the model has none.

    # Raises
        InvalidModelFileError: the content does not match the digest, or it is damaged.
    """
    expected = embedded_digest(data, info, name)
    if expected is None:
        return False
    if content_digest(data, info) != expected:
        raise InvalidModelFileError(
            f"{name} does not match the digest bnnkit embedded in it when it wrote it "
            f"({expected[:12]}...): its weights were modified or corrupted. "
            "Re-convert it or copy it again."
        )
    return True


def check_structure(data: bytes, name: str = "model") -> FlatbufferInfo:
    """Structural validation; returns the parsed model or raises InvalidModelFileError."""
    if len(data) == 0:
        raise InvalidModelFileError(f"{name} is empty (0 bytes); it is not a TFLite model")
    try:
        info = read_flatbuffer(data)
    except FlatbufferError as error:
        raise InvalidModelFileError(f"{name} is not a valid TFLite model: {error}") from None
    problems = []
    if info.version != SCHEMA_VERSION:
        problems.append(f"schema version {info.version}, expected {SCHEMA_VERSION}")
    if not info.operators:
        problems.append("the graph has no operators")
    for index, tensor in enumerate(info.tensors):
        if any(d < 0 for d in tensor.shape) and tensor.buffer_bytes:
            problems.append(f"constant tensor {index} ({tensor.name}) has a negative dimension")
            continue
        if tensor.buffer_bytes and tensor.type in TENSOR_TYPE_ITEMSIZE:
            expected = math.prod(tensor.shape) * TENSOR_TYPE_ITEMSIZE[tensor.type]
            if expected != tensor.buffer_bytes:
                problems.append(
                    f"tensor {index} ({tensor.name}) is {tensor.type}{tensor.shape}, i.e. "
                    f"{expected} bytes, but its buffer holds {tensor.buffer_bytes} bytes"
                )
        elif tensor.buffer_bytes and tensor.type.startswith("UNKNOWN"):
            problems.append(f"tensor {index} has an unknown type {tensor.type}")
        if tensor.quantization is not None:
            scales, zeros, axis = tensor.quantization
            if zeros not in (0, scales):
                problems.append(f"tensor {index} has {scales} scales but {zeros} zero points")
            elif scales > 1 and not (
                0 <= axis < len(tensor.shape) and tensor.shape[axis] == scales
            ):
                problems.append(
                    f"tensor {index} has {scales} per-channel scales that do not "
                    f"match its shape {tensor.shape} on axis {axis}"
                )
    for tensor in info.input_tensors + info.output_tensors:
        if tensor.type.startswith("UNKNOWN"):
            problems.append(f"input/output tensor {tensor.name} has an unknown type")
    if problems:
        more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
        raise InvalidModelFileError(
            f"{name} is not a valid TFLite model: {'; '.join(problems[:3])}{more}"
        )
    return info


def recorded_sha256(path: str | os.PathLike) -> str | None:
    """The sha256 recorded for ``path`` by a conversion or bundle written beside it."""
    path = Path(path)
    for sidecar, key in (("conversion.json", "sha256"), ("metadata.json", "model_sha256")):
        candidate = path.parent / sidecar
        if not candidate.is_file():
            continue
        try:
            record = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        model_file = record.get("model_file", "model.tflite")
        if model_file == path.name and isinstance(record.get(key), str):
            return record[key]
    return None


def trial_run(
    data: bytes,
    name: str = "model",
    *,
    runtime: str = "lce",
    delegate: str | None = None,
    timeout: float = TRIAL_TIMEOUT_SECONDS,
) -> None:
    """Run the model once on a zero input in a child process; raise if that fails.

    ``runtime``: ``lce`` (LCE's interpreter), ``stock`` (ai-edge-litert / tf.lite) or
    ``litert-lce`` (ai-edge-litert with the LCE-kernel delegate at path ``delegate``).
    """
    extra = [str(delegate)] if delegate else []
    digest = sha256_bytes(data) + runtime + "".join(extra)
    if digest in _TRIAL_PASSED:
        return
    script = Path(__file__).with_name("_trial.py")
    with tempfile.TemporaryDirectory(prefix="bnnkit-trial-") as tmp:
        model_path = Path(tmp) / "model.tflite"
        model_path.write_bytes(data)
        result = run_child([str(script), str(model_path), runtime, *extra], timeout=timeout)
    if result.returncode is None:
        raise InvalidModelFileError(
            f"{name} did not finish a trial run on one input within {timeout:.0f} s; "
            "the file is probably corrupt"
        )
    if not result.ok:
        if result.crashed:
            how = result.failure("the TFLite interpreter")
        else:
            how = "failed a trial run" + (f": {result.last_error}" if result.last_error else "")
        raise InvalidModelFileError(
            f"{name} {how}; the file is corrupt or not a model this "
            "runtime can execute. Re-convert it with `bnnkit convert`."
        )
    _TRIAL_PASSED.add(digest)


def guard_model(
    model: str | os.PathLike | bytes | bytearray | memoryview,
    *,
    expected_sha256: str | None = None,
    trial: bool = True,
) -> tuple[bytes, FlatbufferInfo]:
    """Validate a model given as a path or bytes; return ``(data, FlatbufferInfo)``.

    # Arguments
        model: path to a ``.tflite`` file, or its bytes.
        expected_sha256: the sha256 the file must have; by default the one recorded in a
            ``conversion.json``/``metadata.json`` beside the file, when there is one.
        trial: run the model once in a child process before returning (LCE's interpreter
            for models with LCE ops, a stock one otherwise).

    # Raises
        InvalidModelFileError: missing, empty, truncated, corrupt, tampered with, or crashing.
    """
    data, info, name = check_model(model, expected_sha256=expected_sha256)
    if trial:
        trial_run(data, name, runtime="lce" if info.lce_ops else "stock")
    return data, info


def check_model(model, *, expected_sha256: str | None = None):
    """Checks 1 and 2 (structure, integrity) of :func:`guard_model`, without the trial run.

    # Returns
        ``(data, FlatbufferInfo, name)``, ``name`` being how error messages call the model,
        for a :func:`trial_run` on the runtime that will run it.
    """
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, name = bytes(model), "the model bytes"
    else:
        path = Path(model)
        name = str(path)
        if path.is_dir():
            if (path / "model.tflite").is_file():
                path = path / "model.tflite"
                name = str(path)
            else:
                raise InvalidModelFileError(f"{path} is a folder without a model.tflite")
        if not path.is_file():
            raise InvalidModelFileError(f"model file {path} does not exist")
        data = path.read_bytes()
        if expected_sha256 is None:
            expected_sha256 = recorded_sha256(path)
    if len(data) == 0:
        raise InvalidModelFileError(f"{name} is empty (0 bytes); it is not a TFLite model")
    if expected_sha256 is not None and sha256_bytes(data) != expected_sha256:
        raise InvalidModelFileError(
            f"{name} does not match the sha256 recorded when it was written "
            f"({expected_sha256[:12]}...): the file was modified or corrupted. "
            "Re-convert it or copy it again."
        )
    info = check_structure(data, name)
    check_embedded_digest(data, info, name)
    return data, info, name
