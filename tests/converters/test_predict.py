"""converters.predict: specs from bundles and bare models, and ranking, without a runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bnnkit.errors import InvalidModelFileError, UnsupportedModelError
from converters import predict


def _copy_bundle(bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    return copy


def test_bare_model_logits_go_through_a_softmax():
    spec = predict.bare_model_spec("m.tflite", [1, 8, 8, 3])
    assert spec.input["color_mode"] == "rgb" and spec.input["mean"] == [0.5] * 3
    ranked = predict.scores_to_top_k([0.0, 2.0, 1.0], spec, 2)
    assert [c["index"] for c in ranked] == [1, 2]
    assert ranked[0]["probability"] == pytest.approx(np.exp(2) / (1 + np.e + np.exp(2)))
    assert spec.activation == "linear" and any("softmax" in n for n in spec.notes)


def test_bare_model_probabilities_are_kept_as_they_are():
    spec = predict.bare_model_spec("m.tflite", [1, 8, 8, 1])
    ranked = predict.scores_to_top_k([0.2, 0.7, 0.1], spec, 5)
    assert [(c["label"], c["probability"]) for c in ranked] == [
        ("1", pytest.approx(0.7)), ("0", pytest.approx(0.2)), ("2", pytest.approx(0.1))]
    assert spec.activation == "softmax"


@pytest.mark.parametrize("shape", [[1, 10], [1, 28, 28, 2], [1, 28, 28]])
def test_bare_model_that_is_not_an_image_classifier_is_refused(shape):
    with pytest.raises(UnsupportedModelError, match="not an image"):
        predict.bare_model_spec("m.tflite", shape)


def test_a_folder_without_metadata_is_not_a_bundle(tmp_path, mnist_samples):
    with pytest.raises(InvalidModelFileError, match="not a bundle"):
        predict.resolve_model(tmp_path)


def test_a_missing_model_path_is_refused(tmp_path):
    with pytest.raises(InvalidModelFileError, match="no such bundle"):
        predict.resolve_model(tmp_path / "nothing.tflite")


def test_a_newer_bundle_format_is_refused(tmp_path, mnist_tflite_bundle):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata["format_version"] = 2
    (bundle / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(InvalidModelFileError, match="format_version 2"):
        predict.bundle_spec(bundle)


def test_malformed_metadata_is_refused(tmp_path, mnist_tflite_bundle):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    (bundle / "metadata.json").write_text("{not json")
    with pytest.raises(InvalidModelFileError, match="JSON"):
        predict.bundle_spec(bundle)


def test_an_unknown_output_activation_is_refused(tmp_path, mnist_tflite_bundle):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata["output"]["activation"] = "sigmoid"
    (bundle / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(InvalidModelFileError, match="sigmoid"):
        predict.bundle_spec(bundle)
