"""The bad-input matrix: each case gets a clear bnnkit error (one line, the error's exit code,
no traceback) and loses or overwrites nothing; supported odd inputs give the same answer.

Every case is recorded; with ``BNNKIT_RELIABILITY_TABLE=path.md`` the outcomes are written
as the markdown table of docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bnnkit  # noqa: F401
from bnnkit.errors import InvalidInputError, UnsupportedModelError

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE = "mnist_00_7.png"
RECORD: list[tuple[str, str, str, str]] = []  # (area, case, expected, observed)


# ---------------------------------------------------------------- fixtures

def _load_tool(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kit(tmp_path_factory, mnist):
    """A float LeNet (stock ops) as .tflite and bundle, a BNN as LCE .tflite and .keras."""
    import tensorflow as tf

    from converters.bundle import write_bundle
    from converters.targets import convert_lce

    from bnnkit.models import build_model
    from bnnkit.serialization import save_model

    tool = _load_tool("make_test_bundle", REPO_ROOT / "tools" / "qemu" / "make_test_bundle.py")
    work = tmp_path_factory.mktemp("kit")
    model = tool.train_lenet(mnist, train=1000, epochs=1, width=0.25)
    (work / "float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    bundle = write_bundle(work / "bundle", work / "float.tflite", classes=mnist.classes,
                          metadata=tool.bundle_metadata(mnist))
    tf.keras.utils.set_random_seed(0)
    bnn = build_model("lenet", "bnn", (28, 28, 1), 10, width=0.25)
    (work / "lce.tflite").write_bytes(convert_lce(bnn))
    save_model(bnn, work / "bnn.keras")
    return {"dir": work, "bundle": bundle, "float": work / "float.tflite",
            "lce": work / "lce.tflite", "keras": work / "bnn.keras"}


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    target = os.environ.get("BNNKIT_RELIABILITY_TABLE")
    if target and RECORD:
        lines = ["| area | case | expected | observed (from the test run) |",
                 "|---|---|---|---|"]
        import re

        def short(text):  # pytest's temporary folders -> <tmp>
            return re.sub(r"/\S*/pytest-\d+/[^/\s]+", "<tmp>", text).replace("|", "/")

        lines += [f"| {a} | {c} | {e} | {short(o)} |" for a, c, e, o in RECORD]
        Path(target).write_text("\n".join(lines) + "\n")


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(folder.rglob("*"))}


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    from bnnkit.cli.main import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def expect_error(capsys, area, case, code, fragment, *argv, watch: Path):
    """Run the CLI; check the one-line error, its exit code and that ``watch`` is untouched."""
    before = snapshot(watch)
    got, out, err = run_cli(capsys, *argv)
    RECORD.append((area, case, f"exit {code}", f"exit {got}: {err.strip()}"))
    assert got == code, err
    assert err.startswith("bnnkit: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert fragment.lower() in err.lower(), err
    assert snapshot(watch) == before, "a failed command changed files"


def predict_json(capsys, model, image) -> dict:
    code, out, err = run_cli(capsys, "predict", model, image, "--json", "--top-k", "10")
    assert code == 0, err
    return json.loads(out)["predictions"][0]["top_k"]


# ---------------------------------------------------------------- model files

def _corrupt_variants(data: bytes) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    header = bytearray(data)
    header[4:8] = b"XXXX"  # the TFL3 file identifier
    return {
        "empty .tflite": b"",
        "truncated .tflite (first half)": data[: len(data) // 2],
        "truncated .tflite (last byte missing)": data[:-1],
        "random bytes .tflite": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "wrong file identifier": bytes(header),
        "a PNG renamed .tflite": (REPO_ROOT / "tests" / "data" / "samples" /
                                  SAMPLE).read_bytes(),
    }


#: What the one error line says after the file's path, for each corrupt variant.
CORRUPT_MESSAGES = {
    "empty .tflite": "is empty (0 bytes); it is not a TFLite model",
    "truncated .tflite (first half)": "is not a valid TFLite model: corrupt flatbuffer",
    "truncated .tflite (last byte missing)": "is not a valid TFLite model: ",
    "random bytes .tflite": "is not a valid TFLite model: file identifier is ",
    "wrong file identifier": "is not a valid TFLite model: file identifier is b'XXXX'",
    "a PNG renamed .tflite": "is not a valid TFLite model: file identifier is b'\\r\\n\\x1a\\n'",
}


@pytest.mark.parametrize("case", list(_corrupt_variants(b"0123456789")))
def test_corrupt_tflite_is_refused_by_predict_and_evaluate(case, kit, capsys, tmp_path,
                                                           samples_dir):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(_corrupt_variants(kit["float"].read_bytes())[case])
    message = f"bnnkit: error: {bad} {CORRUPT_MESSAGES[case]}"
    expect_error(capsys, "model file", f"{case} -> predict", 5, message, "predict", bad,
                 samples_dir / SAMPLE, watch=tmp_path)
    expect_error(capsys, "model file", f"{case} -> evaluate", 5, message, "evaluate", bad,
                 "--limit", "10", watch=tmp_path)


def test_lce_model_on_a_stock_runtime_is_refused_with_the_fix(kit, capsys, tmp_path):
    from converters import open_runner

    with pytest.raises(UnsupportedModelError, match="LceBconv2d|Lce"):
        open_runner(kit["lce"], runtime="tflite")
    expect_error(capsys, "model file", "LCE model, `evaluate --runtime tflite`", 6,
                 "litert", "evaluate", kit["lce"], "--runtime", "tflite", "--limit", "10",
                 watch=kit["dir"])


def test_lce_model_runs_on_the_lce_runtime_by_default(kit, capsys, samples_dir):
    """predict on a bare LCE model gives the Keras model's probabilities for the image."""
    from bnnkit.serialization import load_model

    top = predict_json(capsys, kit["lce"], samples_dir / SAMPLE)
    pixels = np.asarray(Image.open(samples_dir / SAMPLE).convert("L"), np.float32)
    x = ((pixels / 255.0 - 0.5) / 0.5)[None, ..., None]  # a bare model's [-1, 1] assumption
    keras = load_model(kit["keras"]).predict(x, verbose=0)[0]
    got = np.zeros(10)
    for entry in top:
        got[entry["index"]] = entry["probability"]
    same = bool(np.allclose(got, keras, atol=1e-5))
    RECORD.append(("model file", "LCE model, `predict` (runtime auto)", "runs on LCE, "
                   "Keras' probabilities", "exit 0, the Keras model's probabilities"
                   if same else f"exit 0, DIFFERENT from Keras: {got.round(4).tolist()}"))
    assert sorted(entry["index"] for entry in top) == list(range(10))
    np.testing.assert_allclose(got, keras, atol=1e-5)


def test_bundle_labels_file_of_the_wrong_length_is_refused(kit, capsys, tmp_path, samples_dir):
    bundle = tmp_path / "bundle"
    shutil.copytree(kit["bundle"], bundle)
    labels = (bundle / "labels.txt").read_text().splitlines()
    for case, lines in (("labels.txt with 9 lines for 10 outputs", labels[:-1]),
                        ("labels.txt with 11 lines for 10 outputs", labels + ["extra"])):
        (bundle / "labels.txt").write_text("\n".join(lines) + "\n")
        expect_error(capsys, "bundle", case, 5, "classes", "predict", bundle,
                     samples_dir / SAMPLE, watch=tmp_path)


def test_keras_file_with_lambda_is_refused_by_convert(capsys, tmp_path):
    import tensorflow as tf

    inputs = tf.keras.Input((28, 28, 1))
    model = tf.keras.Model(inputs, tf.keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    model.save(tmp_path / "lambda.keras")
    expect_error(capsys, "model file", ".keras with a Lambda layer -> convert", 5, "Lambda",
                 "convert", tmp_path / "lambda.keras", "-o", tmp_path / "out", watch=tmp_path)


def test_convert_refuses_to_overwrite_an_existing_output(kit, capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.tflite").write_bytes(b"precious")
    expect_error(capsys, "outputs", "convert into an existing output without --overwrite", 8,
                 "overwrite", "convert", kit["keras"], "-o", out, watch=tmp_path)


# ---------------------------------------------------------------- runner inputs

@pytest.mark.parametrize("case,x", [
    ("batch of 32x32 images for a 28x28 model", np.zeros((1, 32, 32, 1), np.float32)),
    ("3 channels for a 1-channel model", np.zeros((1, 28, 28, 3), np.float32)),
    ("flat vector", np.zeros((784,), np.float32)),
    ("strings", np.full((1, 28, 28, 1), "a")),
    ("NaN in the input", np.full((1, 28, 28, 1), np.nan, np.float32)),
    ("+Inf in the input", np.full((1, 28, 28, 1), np.inf, np.float32)),
    ("-Inf in one pixel", np.where(np.arange(784).reshape(1, 28, 28, 1) == 5, -np.inf,
                                   0).astype(np.float32)),
], ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("which", ["float", "lce"])
def test_runner_refuses_wrong_shapes_and_non_finite_inputs(kit, case, x, which):
    from converters import open_runner

    runner = open_runner(kit[which], trial=False)
    with pytest.raises(InvalidInputError) as error:
        runner.predict(x)
    RECORD.append(("runner input", f"{case} ({which} model, `open_runner().predict`)",
                   "InvalidInputError", f"InvalidInputError: {error.value}"))


# ---------------------------------------------------------------- image files

def _png_with_size(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width x height`` (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


BAD_IMAGES = {
    "text file named .png": lambda p, s: p.with_suffix(".png").write_text("not an image\n"),
    "empty .png": lambda p, s: p.with_suffix(".png").write_bytes(b""),
    "truncated PNG (first half)": lambda p, s: p.with_suffix(".png").write_bytes(
        s.read_bytes()[: len(s.read_bytes()) // 2]),
    "PDF named .jpg": lambda p, s: p.with_suffix(".jpg").write_bytes(
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    "decompression bomb header (100000 x 100000 PNG)": lambda p, s: _png_with_size(
        p.with_suffix(".png"), 100000, 100000),
    "32-bit float TIFF holding NaN": lambda p, s: Image.fromarray(
        np.full((28, 28), np.nan, np.float32), mode="F").save(p.with_suffix(".tif")),
}


@pytest.mark.parametrize("case", BAD_IMAGES)
def test_files_that_are_not_usable_images_are_refused(case, kit, capsys, tmp_path, samples_dir):
    images = tmp_path / "images"
    images.mkdir()
    BAD_IMAGES[case](images / "input", samples_dir / SAMPLE)
    (path,) = list(images.iterdir())
    expect_error(capsys, "image file", case, 7, str(path.name), "predict", kit["bundle"], path,
                 watch=tmp_path)


def test_a_folder_or_a_missing_file_given_as_an_image_is_refused(kit, capsys, tmp_path):
    expect_error(capsys, "image file", "a folder given as an image", 7, "no such image",
                 "predict", kit["bundle"], tmp_path, watch=tmp_path)
    expect_error(capsys, "image file", "a missing image file", 7, "no such image",
                 "predict", kit["bundle"], tmp_path / "missing.png", watch=tmp_path)


def _variants(sample: Path, folder: Path) -> dict[str, Path]:
    grey = np.asarray(Image.open(sample).convert("L"))
    rng = np.random.default_rng(1)
    out = {}

    def save(name, image, suffix=".png"):
        path = folder / f"{name.split()[0]}{suffix}"
        image.save(path)
        out[name] = path

    save("RGB (grey pixels)", Image.fromarray(np.stack([grey] * 3, -1)))
    alpha = rng.integers(0, 256, grey.shape, dtype=np.uint8)
    save("RGBA (random alpha, discarded)", Image.fromarray(np.dstack([grey] * 3 + [alpha]),
                                                         "RGBA"))
    save("LA (grey + alpha)", Image.merge("LA", [Image.fromarray(grey),
                                                 Image.fromarray(alpha)]))
    save("P (palette)", Image.fromarray(grey).convert("P"))
    save("CMYK (TIFF)", Image.fromarray(np.stack([grey] * 3, -1)).convert("CMYK"), ".tif")
    wide = Image.fromarray(grey.astype(np.uint16) * 257)
    assert wide.mode == "I;16"
    save("16-bit grey (I;16 PNG)", wide)
    return out


def test_grayscale_rgb_rgba_palette_cmyk_and_16_bit_images_give_identical_outputs(
        kit, capsys, tmp_path, samples_dir):
    reference = predict_json(capsys, kit["bundle"], samples_dir / SAMPLE)
    RECORD.append(("image file", "8-bit grayscale PNG (the MNIST sample)", "prediction",
                   f"exit 0, top-1 '{reference[0]['label']}'"))
    for case, path in _variants(samples_dir / SAMPLE, tmp_path).items():
        top = predict_json(capsys, kit["bundle"], path)
        same = top == reference
        RECORD.append(("image file", case, "same output as the grayscale original",
                       "exit 0, identical probabilities" if same else f"exit 0, DIFFERENT: {top[:2]}"))
        assert same, case


def test_a_large_photo_is_resized_not_refused(kit, capsys, tmp_path, samples_dir):
    image = Image.open(samples_dir / SAMPLE).convert("RGB").resize((4000, 3000), Image.NEAREST)
    path = tmp_path / "large.jpg"
    image.save(path, quality=95)
    top = predict_json(capsys, kit["bundle"], path)
    RECORD.append(("image file", "4000 x 3000 RGB JPEG (12 Mpx)", "resized, the digit's class",
                   f"exit 0, top-1 '{top[0]['label']}' p={top[0]['probability']:.3f}"))
    original = predict_json(capsys, kit["bundle"], samples_dir / SAMPLE)
    assert top[0]["label"] == original[0]["label"] == SAMPLE.split("_")[-1][0]  # "7"


# ---------------------------------------------------------------- dataset folders

def _digit_folder(root: Path, counts: dict[str, int], samples_dir: Path) -> Path:
    digit = Image.open(samples_dir / SAMPLE).convert("L")
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            digit.rotate(i * 3).save(root / name / f"{i}.png")
    return root


def _train_args(runs: Path, folder: Path):
    return ["train", "--dataset", f"folder:{folder}", "--runs-dir", runs, "--name", "f",
            "--epochs", "1", "--method", "float"]


def test_empty_and_broken_dataset_folders_are_refused(capsys, tmp_path, samples_dir):
    runs = tmp_path / "runs"
    cases = {}
    empty = tmp_path / "empty"
    empty.mkdir()
    cases["empty dataset folder"] = (empty, "two class")
    cases["missing dataset folder"] = (tmp_path / "missing", "does not exist")
    cases["one class only"] = (_digit_folder(tmp_path / "one", {"a": 10}, samples_dir),
                               "two class")
    no_images = _digit_folder(tmp_path / "noimg", {"a": 10}, samples_dir)
    (no_images / "b").mkdir()
    cases["a class folder with no images"] = (no_images, "no images")
    broken = _digit_folder(tmp_path / "broken", {"a": 10, "b": 10}, samples_dir)
    (broken / "b" / "bad.png").write_text("not a png")
    cases["a non-image file named .png in a class"] = (broken, "not a readable image")
    for case, (folder, fragment) in cases.items():
        expect_error(capsys, "dataset folder", case, 4, fragment, *_train_args(runs, folder),
                     watch=tmp_path)
        assert not runs.exists()


def test_an_unbalanced_dataset_folder_trains_with_a_warning(capsys, tmp_path, samples_dir):
    folder = _digit_folder(tmp_path / "unbalanced", {"a": 30, "b": 3}, samples_dir)
    with pytest.warns(UserWarning, match="unbalanced") as warned:
        code, out, err = run_cli(capsys, *_train_args(tmp_path / "runs", folder))
    RECORD.append(("dataset folder", "unbalanced (30 vs 3 images)", "trains, with a warning",
                   f"exit {code}, warning: {str(warned[0].message)[-40:]}"))
    assert code == 0, err
    assert (tmp_path / "runs" / "f" / "model.keras").is_file()


def test_existing_run_dir_is_refused_without_resume_or_overwrite(capsys, tmp_path, mnist_dir):
    run = tmp_path / "runs" / "f"
    run.mkdir(parents=True)
    (run / "model.keras").write_bytes(b"precious")
    expect_error(capsys, "outputs", "existing run folder without --resume/--overwrite", 8,
                 "--overwrite", "train", "--runs-dir", tmp_path / "runs", "--name", "f",
                 "--epochs", "1", "--data-dir", mnist_dir, watch=tmp_path)


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_real_process_prints_only_the_one_error_line_for_an_empty_model(
        command, tmp_path, samples_dir):
    import subprocess
    import sys

    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    argv = [str(empty), str(samples_dir / SAMPLE)] if command == "predict" else [str(empty)]
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("BNNKIT_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    result = subprocess.run([sys.executable, "-m", "bnnkit.cli.main", command, *argv],
                            cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
                            timeout=300)
    RECORD.append(("process", f"`bnnkit {command}` on an empty .tflite, real stderr",
                   "1 line, exit 5", f"exit {result.returncode}, "
                   f"{len(result.stderr.splitlines())} stderr line(s)"))
    assert result.returncode == 5
    assert result.stderr.splitlines() == [f"bnnkit: error: {empty} is empty (0 bytes); "
                                          "it is not a TFLite model"]
    assert result.stdout == ""
