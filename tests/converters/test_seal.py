"""Models bnnkit writes check themselves: a content digest in the flatbuffer's metadata table.

The digest covers every buffer except metadata ones (the weights and other constants), is
embedded by :func:`converters.seal.seal_model` at conversion time, and is checked by the guard
in front of every runner whenever it is present. Models from elsewhere carry none and keep
the structural guard.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bnnkit.errors import InvalidModelFileError
from converters.flatbuffer import read_flatbuffer
from converters.guard import (
    DIGEST_NAME,
    check_embedded_digest,
    content_digest,
    embedded_digest,
    guard_model,
)
from converters.runtime import open_runner
from converters.seal import BUFFER_ALIGNMENT, seal_model
from converters_support import tiny_lce_flatbuffer, tiny_model

X = np.random.default_rng(3).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def plain() -> bytes:
    return tiny_lce_flatbuffer()


@pytest.fixture(scope="module")
def sealed(plain) -> bytes:
    return seal_model(plain)


def test_sealing_keeps_every_buffer_and_the_outputs_and_aligns_the_buffers(plain, sealed):
    before, after = read_flatbuffer(plain), read_flatbuffer(sealed)
    assert DIGEST_NAME not in before.metadata and DIGEST_NAME in after.metadata
    assert content_digest(plain, before) == content_digest(sealed, after)
    model_buffers = [i for i in range(len(before.buffer_spans)) if i not in before.metadata.values()]
    for index in model_buffers:
        assert before.buffer_data(plain, index) == after.buffer_data(sealed, index)
    assert all(start % BUFFER_ALIGNMENT == 0 for start, length in after.buffer_spans if length)
    assert after.op_histogram == before.op_histogram
    np.testing.assert_array_equal(open_runner(sealed).predict(X), open_runner(plain).predict(X))


def test_sealing_twice_gives_the_same_bytes(sealed):
    assert seal_model(sealed) == sealed


def test_the_embedded_digest_is_the_content_digest(sealed):
    info = read_flatbuffer(sealed)
    assert embedded_digest(sealed, info) == content_digest(sealed, info)
    assert check_embedded_digest(sealed, info) is True


def test_a_model_from_elsewhere_has_no_digest_and_keeps_the_structural_guard(plain):
    assert check_embedded_digest(plain, read_flatbuffer(plain)) is False
    guard_model(plain, trial=False)


def test_every_single_flipped_weight_bit_is_refused(sealed):
    info = read_flatbuffer(sealed)
    rng = np.random.default_rng(0)
    checked = 0
    for index, (start, length) in enumerate(info.buffer_spans):
        if not length or index in info.metadata.values():
            continue
        for position in rng.choice(length, size=min(length, 5), replace=False):
            data = bytearray(sealed)
            data[start + int(position)] ^= 1 << int(rng.integers(8))
            with pytest.raises(InvalidModelFileError, match="digest bnnkit embedded"):
                guard_model(bytes(data), trial=False)
            checked += 1
    assert checked >= 10


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1 and len(old) == len(new)
    return data.replace(old, new)


@pytest.mark.parametrize("damage", ["name", "record", "value"])
def test_a_damaged_digest_entry_is_refused_not_ignored(sealed, damage):
    """Renaming the entry must not turn a bnnkit model into one "from elsewhere"."""
    info = read_flatbuffer(sealed)
    record = info.buffer_data(sealed, info.metadata[DIGEST_NAME])
    if damage == "name":   # the metadata entry's name string only
        start = sealed.index(DIGEST_NAME.encode())
        assert start < info.buffer_spans[info.metadata[DIGEST_NAME]][0]
        data = sealed[:start] + b"X" + sealed[start + 1 :]
    elif damage == "record":
        data = _replace(sealed, record, record.replace(b'"sha256"', b'"sha257"'))
    else:
        value = embedded_digest(sealed, info).encode()
        data = _replace(sealed, value, value[:-1] + (b"0" if value[-1:] != b"0" else b"1"))
    with pytest.raises(InvalidModelFileError, match="digest"):
        guard_model(data, trial=False)


def test_metadata_added_by_another_tool_keeps_the_digest_valid(sealed):
    """A TFLite metadata writer re-packs the model and adds an entry and a buffer."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(sealed), 0)
    model.buffers.append(schema.BufferT(data=np.frombuffer(b"some metadata", np.uint8)))
    entry = schema.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(model.buffers) - 1
    model.metadata.append(entry)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    repacked = bytes(builder.Output())
    assert repacked != sealed
    assert check_embedded_digest(repacked, read_flatbuffer(repacked)) is True


@pytest.mark.parametrize("target", ["lce", "litert"])
def test_every_converted_model_carries_its_digest(target, tmp_path):
    from converters import convert_keras_model, convert_model

    report = convert_model(tiny_model("bnn"), tmp_path, target, compare_float=False)
    data = (tmp_path / "model.tflite").read_bytes()
    info = read_flatbuffer(data)
    assert check_embedded_digest(data, info) is True
    assert report["sha256"] == hashlib.sha256(data).hexdigest()
    data = convert_keras_model(tiny_model("bnn"), target=target)
    assert check_embedded_digest(data, read_flatbuffer(data)) is True
