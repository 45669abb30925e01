"""bnnkit predict: top-k classes of real image files on a bundle or a bare .tflite."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bnnkit.cli import predict
from converters import predict as library
from bnnkit.errors import InvalidInputError, InvalidModelFileError, UnsupportedModelError
from predict_support import ranked_to_vector, reference_probabilities



def _run_json(capsys, *argv) -> dict:
    assert predict.main([*map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _copy_bundle(bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    return copy


def test_predict_is_a_registered_subcommand(capsys, mnist_tflite_bundle, mnist_samples):
    from bnnkit.cli.main import COMMANDS, main

    assert "predict" in COMMANDS
    assert main(["predict", str(mnist_tflite_bundle), str(mnist_samples[0]), "--top-k", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{mnist_samples[0]}: ")
    assert main(["predict", str(mnist_tflite_bundle), "missing.png"]) == 7
    assert "bnnkit: error: no such image file: missing.png" in capsys.readouterr().err


def test_bundle_predictions_name_the_true_digit_on_most_samples(capsys, mnist_tflite_bundle,
                                                                mnist_samples):
    report = _run_json(capsys, mnist_tflite_bundle, *mnist_samples, "--top-k", "3")
    assert report["runtime"] == "tflite" and report["target"] == "litert"
    assert report["name"] == "mnist-float-litert-test"
    assert len(report["predictions"]) == len(mnist_samples)
    correct = 0
    for path, result in zip(mnist_samples, report["predictions"]):
        assert result["image"] == str(path)
        ranked = result["top_k"]
        assert len(ranked) == 3
        probabilities = [c["probability"] for c in ranked]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0.0 <= sum(probabilities) <= 1.0 + 1e-5
        assert all(c["label"] == str(c["index"]) for c in ranked)
        correct += ranked[0]["label"] == path.stem.split("_")[-1]  # mnist_00_7.png -> "7"
    assert correct >= 0.75 * len(mnist_samples)


def test_bundle_probabilities_equal_an_independent_reference(capsys, mnist_tflite_bundle,
                                                              mnist_samples):
    """predict == Pillow pixels normalized with numpy, run by a plain tf.lite.Interpreter."""
    report = _run_json(capsys, mnist_tflite_bundle, *mnist_samples[:5], "--top-k", "10")
    for path, result in zip(mnist_samples[:5], report["predictions"], strict=True):
        expected = reference_probabilities(mnist_tflite_bundle / "model.tflite", path)
        np.testing.assert_allclose(ranked_to_vector(result["top_k"]), expected, atol=1e-6)


def test_text_output_is_one_line_per_image_with_k_classes(capsys, mnist_tflite_bundle,
                                                          mnist_samples):
    assert predict.main([str(mnist_tflite_bundle), *map(str, mnist_samples[:4]),
                         "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    for path, line in zip(mnist_samples, lines):
        assert line.startswith(f"{path}: ") and line.count("(") == 2


@pytest.mark.parametrize("variant", ["rgba", "palette", "16-bit", "resized-rgb-jpeg", "cmyk"])
def test_any_image_mode_and_size_is_read(capsys, tmp_path, mnist_tflite_bundle, mnist_samples,
                                         variant):
    source = mnist_samples[0]
    grey = Image.open(source).convert("L")
    path = tmp_path / f"{variant}.png"
    if variant == "rgba":
        rgba = grey.convert("RGBA")
        rgba.putalpha(17)  # alpha is discarded, not composited
        rgba.save(path)
    elif variant == "palette":
        grey.convert("P").save(path)
    elif variant == "16-bit":
        Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257).save(path)
    elif variant == "resized-rgb-jpeg":
        path = tmp_path / "big.jpg"
        grey.convert("RGB").resize((200, 150), Image.BICUBIC).save(path, quality=95)
    else:
        path = tmp_path / "cmyk.jpg"
        grey.convert("RGB").convert("CMYK").save(path, quality=100)
    original = _run_json(capsys, mnist_tflite_bundle, source, "--top-k", "10")
    report = _run_json(capsys, mnist_tflite_bundle, path, "--top-k", "10")
    ref = ranked_to_vector(original["predictions"][0]["top_k"])
    got = ranked_to_vector(report["predictions"][0]["top_k"])
    if variant in ("rgba", "palette", "16-bit"):
        # lossless: the same grey pixels, so the same probabilities
        np.testing.assert_allclose(got, ref, atol=1e-6)
    else:
        # lossy (JPEG, resized): Pillow + numpy on the same file, 8-bit resize rounding
        model = mnist_tflite_bundle / "model.tflite"
        np.testing.assert_allclose(got, reference_probabilities(model, path), atol=5e-3)
        assert got.argmax() == ref.argmax() == int(source.stem.split("_")[-1])


def test_bare_tflite_assumes_minus_one_to_one_input_and_index_class_names(
        capsys, mnist_tflite_bundle, mnist_samples):
    with_metadata = _run_json(capsys, mnist_tflite_bundle, *mnist_samples[:3])
    bare = _run_json(capsys, mnist_tflite_bundle / "model.tflite", *mnist_samples[:3])
    assert bare["input"]["mean"] == [0.5] and bare["input"]["std"] == [0.5]
    assert bare["input"]["color_mode"] == "grayscale"
    assert any("no bundle metadata" in note for note in bare["notes"])
    # this bundle's metadata says exactly the defaults, so the predictions are the same
    assert bare["predictions"] == with_metadata["predictions"]


def test_bare_tflite_note_is_printed_in_text_mode(capsys, mnist_tflite_bundle, mnist_samples):
    assert predict.main([str(mnist_tflite_bundle / "model.tflite"), str(mnist_samples[0])]) == 0
    assert "note:" in capsys.readouterr().err


def test_top_k_larger_than_the_classes_gives_every_class(capsys, mnist_tflite_bundle,
                                                         mnist_samples):
    report = _run_json(capsys, mnist_tflite_bundle, mnist_samples[0], "--top-k", "50")
    assert sorted(c["index"] for c in report["predictions"][0]["top_k"]) == list(range(10))


def test_threads_option_gives_the_same_predictions(capsys, mnist_tflite_bundle, mnist_samples):
    one = _run_json(capsys, mnist_tflite_bundle, *mnist_samples[:3], "--threads", "1")
    two = _run_json(capsys, mnist_tflite_bundle, *mnist_samples[:3], "--threads", "2")
    for a, b in zip(one["predictions"], two["predictions"]):
        assert [c["index"] for c in a["top_k"]] == [c["index"] for c in b["top_k"]]


# ---- errors: one line and an exit code -------------------------------------------------------

def test_missing_image_fails_before_the_model_is_loaded(capsys, tmp_path, monkeypatch,
                                                        mnist_tflite_bundle):
    monkeypatch.setattr(library, "_open_runner",
                        lambda *a: pytest.fail("the model must not be loaded"))
    code = predict.main([str(mnist_tflite_bundle), str(tmp_path / "nope.png")])
    assert code == InvalidInputError.exit_code
    assert "no such image file" in capsys.readouterr().err


def test_a_file_that_is_not_an_image_is_refused(capsys, tmp_path, mnist_tflite_bundle):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    assert predict.main([str(mnist_tflite_bundle), str(text)]) == InvalidInputError.exit_code
    assert "not an image" in capsys.readouterr().err


def test_a_model_modified_after_bundling_is_refused(capsys, tmp_path, mnist_tflite_bundle,
                                                    mnist_samples):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    data = bytearray((bundle / "model.tflite").read_bytes())
    data[-100] ^= 0xFF  # one flipped byte in the weights: still a valid flatbuffer
    (bundle / "model.tflite").write_bytes(bytes(data))
    assert predict.main([str(bundle), str(mnist_samples[0])]) == InvalidModelFileError.exit_code
    assert "model_sha256" in capsys.readouterr().err


def test_labels_that_do_not_match_the_outputs_are_refused(capsys, tmp_path, mnist_tflite_bundle,
                                                          mnist_samples):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    (bundle / "labels.txt").write_text("a\nb\nc\n")
    assert predict.main([str(bundle), str(mnist_samples[0])]) == InvalidModelFileError.exit_code
    assert "10 outputs" in capsys.readouterr().err


def test_metadata_shape_that_differs_from_the_model_is_refused(capsys, tmp_path,
                                                               mnist_tflite_bundle,
                                                               mnist_samples):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata["input"]["shape"] = [1, 32, 32, 1]
    (bundle / "metadata.json").write_text(json.dumps(metadata))
    assert predict.main([str(bundle), str(mnist_samples[0])]) == InvalidModelFileError.exit_code
    assert "does not match the model" in capsys.readouterr().err


def test_corrupt_model_file_is_refused(capsys, tmp_path, mnist_tflite_bundle, mnist_samples):
    bundle = _copy_bundle(mnist_tflite_bundle, tmp_path)
    data = (bundle / "model.tflite").read_bytes()
    (bundle / "model.tflite").write_bytes(data[: len(data) // 3])
    assert predict.main([str(bundle), str(mnist_samples[0])]) == InvalidModelFileError.exit_code


@pytest.mark.parametrize("option", [["--top-k", "0"], ["--threads", "0"]])
def test_non_positive_counts_are_refused(capsys, mnist_tflite_bundle, mnist_samples, option):
    code = predict.main([str(mnist_tflite_bundle), str(mnist_samples[0]), *option])
    assert code == InvalidInputError.exit_code
