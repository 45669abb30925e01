"""Deployment bundles: written from a converted model, validated when read."""

from __future__ import annotations

import json

import pytest

from bnnkit.errors import InvalidInputError, InvalidModelFileError, OutputExistsError
from converters.bundle import read_bundle, write_bundle
from converters.guard import sha256_bytes
from converters.runtime import open_runner
from converters_support import tiny_lce_flatbuffer

CLASSES = [str(i) for i in range(10)]


@pytest.fixture()
def model_file(tmp_path):
    path = tmp_path / "converted" / "model.tflite"
    path.parent.mkdir()
    path.write_bytes(tiny_lce_flatbuffer())
    return path


def test_bundle_round_trip_records_runtime_input_and_sha256(model_file, tmp_path):
    folder = write_bundle(tmp_path / "bundle", model_file, classes=CLASSES,
                          metadata={"name": "mnist-bnn", "method": "bnn", "dataset": "mnist"})
    bundle = read_bundle(folder)
    assert bundle.classes == CLASSES
    assert bundle.runtime == "lce" and bundle.metadata["target"] == "lce"
    assert bundle.metadata["input"]["shape"] == [1, 28, 28, 1]
    assert bundle.metadata["input"]["mean"] == [0.5] and bundle.metadata["input"]["std"] == [0.5]
    assert bundle.metadata["model_sha256"] == sha256_bytes(model_file.read_bytes())
    assert (folder / "labels.txt").read_text().splitlines() == CLASSES
    assert open_runner(folder).runtime == "lce"


def test_tampered_bundle_model_is_rejected_by_reader_and_runner(model_file, tmp_path):
    folder = write_bundle(tmp_path / "bundle", model_file, classes=CLASSES)
    data = bytearray((folder / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0x10
    (folder / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(InvalidModelFileError, match="model_sha256"):
        read_bundle(folder)
    with pytest.raises(InvalidModelFileError, match="sha256"):
        open_runner(folder / "model.tflite")


def test_labels_that_do_not_match_the_outputs_are_rejected(model_file, tmp_path):
    with pytest.raises(InvalidInputError, match="3 class names"):
        write_bundle(tmp_path / "bundle", model_file, classes=["a", "b", "c"])
    folder = write_bundle(tmp_path / "bundle", model_file, classes=CLASSES)
    (folder / "labels.txt").write_text("a\nb\n")
    with pytest.raises(InvalidModelFileError, match="2 classes"):
        read_bundle(folder)


def test_lce_model_declared_as_stock_runtime_is_rejected(model_file, tmp_path):
    folder = write_bundle(tmp_path / "bundle", model_file, classes=CLASSES)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["runtime"] = "tflite"
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(InvalidModelFileError, match="LCE ops"):
        read_bundle(folder)


def test_existing_bundle_is_kept_without_overwrite(model_file, tmp_path):
    folder = write_bundle(tmp_path / "bundle", model_file, classes=CLASSES)
    before = (folder / "metadata.json").read_text()
    with pytest.raises(OutputExistsError):
        write_bundle(folder, model_file, classes=CLASSES, metadata={"name": "other"})
    assert (folder / "metadata.json").read_text() == before
    write_bundle(folder, model_file, classes=CLASSES, metadata={"name": "other"},
                 overwrite=True)
    assert read_bundle(folder).metadata["name"] == "other"


def test_folder_without_metadata_is_not_a_bundle(tmp_path):
    with pytest.raises(InvalidModelFileError, match="metadata.json"):
        read_bundle(tmp_path)


def test_reading_a_bundle_does_not_import_tensorflow(model_file, tmp_path):
    import subprocess
    import sys

    folder = write_bundle(tmp_path / "bundle", model_file, classes=CLASSES)
    code = ("import sys, converters.bundle as b; b.read_bundle(sys.argv[1]); "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
