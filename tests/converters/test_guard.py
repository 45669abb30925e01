"""The guard in front of every interpreter: corrupt files become InvalidModelFileError.

Measured before the guard existed: of 40 bit-flipped small .tflite files, the LCE interpreter
segfaulted on 16, ran 6 silently with wrong weights and raised on 18. These tests feed
empty, truncated, random and bit-flipped files (many seeds) through ``open_runner`` and
``guard_model`` in this process: a crash here would fail the whole test run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bnnkit.errors import InvalidModelFileError, UnsupportedModelError
from converters.flatbuffer import read_flatbuffer
from converters.guard import guard_model, sha256_bytes
from converters.runtime import open_runner
from converters_support import buffer_data_ranges, flip_bits, tiny_lce_flatbuffer

SEEDS = range(40)


@pytest.fixture(scope="module")
def lce_bytes() -> bytes:
    return tiny_lce_flatbuffer()


def test_valid_model_passes_the_guard_and_runs(lce_bytes, tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(lce_bytes)
    runner = open_runner(path)
    out = runner.predict(np.zeros((2, 28, 28, 1), np.float32))
    assert runner.runtime == "lce"
    assert runner.options["use_indirect_bgemm"] is True
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-4)


def test_empty_file_is_an_invalid_model_file(tmp_path):
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(InvalidModelFileError, match="empty"):
        open_runner(path)


def test_missing_file_is_an_invalid_model_file(tmp_path):
    with pytest.raises(InvalidModelFileError, match="does not exist"):
        open_runner(tmp_path / "nope.tflite")


@pytest.mark.parametrize("fraction", [0.001, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_an_invalid_model_file(lce_bytes, tmp_path, fraction):
    path = tmp_path / "truncated.tflite"
    path.write_bytes(lce_bytes[:max(1, int(len(lce_bytes) * fraction))])
    with pytest.raises(InvalidModelFileError, match=str(path.name)):
        open_runner(path)


@pytest.mark.parametrize("seed", range(10))
def test_random_bytes_are_an_invalid_model_file(seed, tmp_path):
    data = np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path = tmp_path / "random.tflite"
    path.write_bytes(data)
    with pytest.raises(InvalidModelFileError, match="not .*TFLite model"):
        open_runner(path)


def test_random_bytes_with_the_tflite_identifier_are_rejected():
    for seed in range(20):
        data = bytearray(np.random.default_rng(seed).integers(0, 256, 2048, np.uint8).tobytes())
        data[4:8] = b"TFL3"
        with pytest.raises(InvalidModelFileError):
            guard_model(bytes(data))


def test_every_bitflipped_copy_fails_against_the_recorded_sha256(lce_bytes, tmp_path):
    (tmp_path / "conversion.json").write_text(json.dumps(
        {"model_file": "model.tflite", "sha256": sha256_bytes(lce_bytes)}))
    path = tmp_path / "model.tflite"
    for seed in SEEDS:
        path.write_bytes(flip_bits(lce_bytes, seed, count=1))
        with pytest.raises(InvalidModelFileError, match="sha256"):
            open_runner(path)


def test_bitflips_in_weights_are_caught_by_the_bundle_sha256(lce_bytes, tmp_path):
    """A flipped weight is still a structurally valid model: only the digest catches it."""
    (tmp_path / "metadata.json").write_text(json.dumps(
        {"model_file": "model.tflite", "model_sha256": sha256_bytes(lce_bytes)}))
    weights = buffer_data_ranges(lce_bytes)
    path = tmp_path / "model.tflite"
    for seed in range(10):
        flipped = flip_bits(lce_bytes, seed, count=1, within=weights)
        guard_model(flipped)  # structurally fine, and it runs: nothing else can tell
        path.write_bytes(flipped)
        with pytest.raises(InvalidModelFileError, match="sha256"):
            open_runner(path)


@pytest.mark.parametrize("seed", SEEDS)
def test_structural_bitflips_never_crash_the_process(lce_bytes, seed):
    """Flips outside the weights, no digest to compare: the guard must either reject the
    file with InvalidModelFileError or hand over a model that runs."""
    flipped = flip_bits(lce_bytes, seed, count=2, avoid=buffer_data_ranges(lce_bytes))
    try:
        runner = open_runner(flipped)
    except InvalidModelFileError as error:
        assert "the model bytes" in str(error)
        return
    out = runner.predict(np.random.default_rng(seed).uniform(-1, 1, (3, 28, 28, 1)))
    assert out.shape[0] == 3


def test_op_histogram_counts_operators_not_operator_codes(lce_bytes):
    info = read_flatbuffer(lce_bytes)
    assert info.operator_codes.count("LceBconv2d") == 1
    assert info.op_histogram["LceBconv2d"] == 2  # block1 and the fc conv
    assert info.op_histogram["LceQuantize"] == 2
    assert info.custom_ops == ["LceBconv2d", "LceQuantize"]


def test_lce_model_on_a_stock_runtime_names_the_ops_and_the_fix(lce_bytes):
    with pytest.raises(UnsupportedModelError, match="LceBconv2d.*LCE interpreter"):
        open_runner(lce_bytes, runtime="tflite")


def test_tensor_buffer_size_mismatch_is_rejected(lce_bytes):
    """Shrink one constant buffer's recorded length: shape and bytes disagree."""
    import struct

    start, end = max(buffer_data_ranges(lce_bytes), key=lambda r: r[1] - r[0])
    data = bytearray(lce_bytes)
    length = struct.unpack_from("<I", data, start - 4)[0]
    struct.pack_into("<I", data, start - 4, length - 4)
    with pytest.raises(InvalidModelFileError, match="bytes"):
        guard_model(bytes(data), trial=False)
