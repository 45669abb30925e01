"""Make a ``.tflite`` check itself: embed its content digest in its ``metadata`` table.

    from converters.seal import seal_model
    sealed = seal_model(data)          # same graph and buffers, plus a "bnnkit_digest" entry

The TFLite schema gives every model a ``metadata`` table: named entries, each pointing to a
buffer, that the runtimes ignore (the converter itself stores ``min_runtime_version`` there).
:func:`seal_model` adds an entry :data:`converters.guard.DIGEST_NAME` whose buffer holds a
short JSON record with the sha256 of the model's buffers (:func:`converters.guard.content_digest`).
:func:`converters.guard.guard_model` (and so ``bnnkit evaluate``/``predict``), the Raspberry Pi
runner and the Android app check it whenever it is present, so a bare ``model.tflite`` that
lost its ``conversion.json`` still refuses to run with corrupted weights.

The model is unpacked and packed again with the TFLite schema's object API (as TFLite's own
metadata writers do), every buffer 16-byte aligned as the converter writes them. The content
digest does not depend on the layout, and is computed on the packed bytes by the same
function that checks it.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from bnnkit.errors import UnsupportedModelError
from converters.flatbuffer import FILE_IDENTIFIER, read_flatbuffer
from converters.guard import DIGEST_NAME, content_digest, digest_record

__all__ = ["BUFFER_ALIGNMENT", "seal_model", "unseal_model"]

#: Alignment of every buffer's bytes in the file, as the TFLite converter writes them.
BUFFER_ALIGNMENT = 16


class _AlignedBuffer(schema.BufferT):
    """A buffer whose bytes are packed at a :data:`BUFFER_ALIGNMENT`-byte boundary."""

    def Pack(self, builder):  # noqa: N802 - the schema's method name
        data = None
        if self.data is not None:
            payload = np.asarray(self.data, np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            builder.head -= len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            builder.vectorNumElems = len(payload)
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self.offset)
        schema.BufferAddSize(builder, self.size)
        return schema.BufferEnd(builder)


def _aligned(buffer) -> _AlignedBuffer:
    return _AlignedBuffer(data=buffer.data, offset=buffer.offset, size=buffer.size)


def _name(entry) -> str:
    name = entry.name
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name or "")


def _digest_buffer_index(model, placeholder: bytes) -> int:
    """Point the model's digest entry at a buffer holding ``placeholder``; return its index."""
    model.metadata = list(model.metadata or [])
    for entry in model.metadata:
        if _name(entry) == DIGEST_NAME:
            model.buffers[entry.buffer] = _AlignedBuffer(data=np.frombuffer(placeholder, np.uint8))
            return int(entry.buffer)
    model.buffers.append(_AlignedBuffer(data=np.frombuffer(placeholder, np.uint8)))
    entry = schema.MetadataT()
    entry.name, entry.buffer = DIGEST_NAME, len(model.buffers) - 1
    model.metadata.append(entry)
    return entry.buffer


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def unseal_model(data: bytes) -> bytes:
    """``data`` without bnnkit's digest entry and its buffer (a model "from elsewhere")."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    model.buffers = [_aligned(buffer) for buffer in (model.buffers or [])]
    entries = [entry for entry in (model.metadata or []) if _name(entry) == DIGEST_NAME]
    for entry in entries:
        model.metadata.remove(entry)
        if entry.buffer == len(model.buffers) - 1:  # the one seal_model appended
            model.buffers.pop()
    return _pack(model)


def seal_model(data: bytes) -> bytes:
    """``data`` with its content digest in the ``metadata`` table (replacing an older one).

    # Raises
        UnsupportedModelError: the model keeps buffers outside the flatbuffer (> 2 GB).
    """
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    model.buffers = [_aligned(buffer) for buffer in (model.buffers or [])]
    if any(buffer.offset > 1 for buffer in model.buffers):
        raise UnsupportedModelError(
            "models with buffers outside the flatbuffer (> 2 GB) cannot carry an embedded digest"
        )
    placeholder = digest_record("0" * 64)
    index = _digest_buffer_index(model, placeholder)
    packed = _pack(model)
    info = read_flatbuffer(packed)
    start, length = info.buffer_spans[index]
    record = digest_record(content_digest(packed, info))
    if packed[start : start + length] != placeholder or len(record) != length:
        raise RuntimeError("the digest record moved while the model was packed")  # a bug
    return packed[:start] + record + packed[start + length :]
