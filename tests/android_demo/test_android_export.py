"""bnnkit export-android: a bundle goes into the app's assets only if the flavor can run it."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from bnnkit.cli import export_android as cli
from converters import android
from bnnkit.errors import (InvalidInputError, InvalidModelFileError, OutputExistsError,
                           UnsupportedModelError)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "android_demo" / "app" / "src" / "main" / "assets" / "bundle"
LCE_MODEL = ROOT / "android_demo" / "core" / "src" / "test" / "resources" / "golden" / \
    "lce_tiny.tflite"


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "android_demo"
    (root / "app" / "src" / "main").mkdir(parents=True)
    shutil.copy(ROOT / "android_demo" / "app" / "src" / "main" / "AndroidManifest.xml",
                root / "app" / "src" / "main")
    return root


@pytest.fixture
def litert_bundle(tmp_path):
    return Path(shutil.copytree(DEMO, tmp_path / "litert-bundle"))


@pytest.fixture
def lce_bundle(tmp_path):
    folder = tmp_path / "lce-bundle"
    folder.mkdir()
    shutil.copy(LCE_MODEL, folder / "model.tflite")
    (folder / "labels.txt").write_text("a\nb\nc\n")
    metadata = {"format_version": 1, "name": "tiny-bnn", "target": "lce", "runtime": "lce",
                "model_file": "model.tflite", "labels_file": "labels.txt",
                "input": {"shape": [1, 8, 8, 1], "dtype": "float32",
                          "color_mode": "grayscale", "resize": "bilinear", "mean": [0.5],
                          "std": [0.5]},
                "output": {"num_classes": 3, "activation": "softmax"}}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


def _edit_metadata(bundle: Path, **changes):
    path = bundle / "metadata.json"
    metadata = json.loads(path.read_text())
    for key, value in changes.items():
        if key.startswith("input_"):
            metadata["input"][key[len("input_"):]] = value
        else:
            metadata[key] = value
    path.write_text(json.dumps(metadata))


def test_litert_bundle_goes_to_main_assets_for_both_flavors(app, litert_bundle):
    dest = android.export_android(litert_bundle, app)
    assert dest == app / "app" / "src" / "main" / "assets" / "bundle"
    assert (dest / "model.tflite").read_bytes() == (litert_bundle / "model.tflite").read_bytes()
    assert (dest / "labels.txt").read_text().splitlines() == [str(i) for i in range(10)]
    assert json.loads((dest / "metadata.json").read_text())["model_file"] == "model.tflite"


def test_existing_bundle_is_replaced_only_with_overwrite(app, litert_bundle):
    android.export_android(litert_bundle, app, flavor="litert")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        android.export_android(litert_bundle, app, flavor="litert")
    dest = android.export_android(litert_bundle, app, flavor="litert", overwrite=True)
    assert sorted(p.name for p in dest.iterdir()) == ["labels.txt", "metadata.json",
                                                      "model.tflite"]
    assert [p.name for p in dest.parent.iterdir()] == ["bundle"]  # no staging left behind


@pytest.mark.parametrize("flavor", ["litert", None])
def test_bundle_with_lce_ops_is_refused_outside_the_lce_flavor(app, lce_bundle, flavor):
    with pytest.raises(UnsupportedModelError, match="LceBconv2d"):
        android.export_android(lce_bundle, app, flavor=flavor)
    assert not (app / "app" / "src" / (flavor or "main") / "assets").exists()


def test_bundle_with_lce_ops_goes_to_the_lce_flavor(app, lce_bundle):
    dest = android.export_android(lce_bundle, app, flavor="lce")
    assert dest == app / "app" / "src" / "lce" / "assets" / "bundle"


def test_metadata_runtime_lce_is_refused_by_litert_even_without_lce_ops(app, litert_bundle):
    _edit_metadata(litert_bundle, runtime="lce")
    with pytest.raises(UnsupportedModelError, match="runtime 'lce'"):
        android.export_android(litert_bundle, app, flavor="litert")


def test_model_that_does_not_match_its_metadata_is_refused(app, litert_bundle):
    _edit_metadata(litert_bundle, input_shape=[1, 32, 32, 3], input_color_mode="rgb",
                   input_mean=[0.5] * 3, input_std=[0.5] * 3)
    with pytest.raises(InvalidModelFileError, match="does not match"):
        android.export_android(litert_bundle, app)


def test_label_count_must_match_classes(app, litert_bundle):
    (litert_bundle / "labels.txt").write_text("a\nb\n")
    with pytest.raises(InvalidModelFileError, match="labels.txt"):
        android.export_android(litert_bundle, app)


def test_corrupt_model_is_refused(app, litert_bundle):
    data = (litert_bundle / "model.tflite").read_bytes()
    (litert_bundle / "model.tflite").write_bytes(data[:200])
    with pytest.raises(InvalidModelFileError, match="model.tflite"):
        android.export_android(litert_bundle, app)


def test_folder_that_is_not_the_app_is_refused(tmp_path, litert_bundle):
    with pytest.raises(InvalidInputError, match="AndroidManifest"):
        android.export_android(litert_bundle, tmp_path)


def test_command_line_exports_and_names_the_variant(app, lce_bundle, capsys):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["export-android", str(lce_bundle), "--app", str(app),
                              "--flavor", "lce"])
    assert args.func(args) == 0
    assert "build the lce variant" in capsys.readouterr().out


def test_flavor_check_itself_names_shape_and_label_mismatches(litert_bundle):
    metadata = json.loads((litert_bundle / "metadata.json").read_text())
    model = (litert_bundle / "model.tflite").read_bytes()
    labels = [str(i) for i in range(10)]
    android.check_bundle_for_flavor(metadata, model, labels, "litert")
    with pytest.raises(InvalidModelFileError, match="labels.txt has 9 lines"):
        android.check_bundle_for_flavor(metadata, model, labels[:9], "litert")
    metadata["input"]["shape"] = [1, 27, 28, 1]
    with pytest.raises(InvalidModelFileError, match=r"its input is \[1, 28, 28, 1\]"):
        android.check_bundle_for_flavor(metadata, model, labels, "lce")
    with pytest.raises(InvalidModelFileError, match="corrupt or truncated"):
        android.check_bundle_for_flavor(metadata, model[:300], labels, "lce")
