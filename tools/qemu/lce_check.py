"""The aarch64 check: real bundles on ai-edge-litert + the LCE-kernel delegate under qemu,
against x86 LCE.

    sudo .venv/bin/python tools/qemu/lce_check.py --out DIR [--sources ../shared/third_party]
        [--data-dir ../shared/datasets] [--results results/qemu_lce_check.json]

1. ``tools/qemu/setup.sh``: the arm64 Debian root with ai-edge-litert (idempotent; root).
2. The aarch64 delegate, cross-compiled (:func:`converters.delegate.build_delegate`), or
   ``--delegate SO``.
3. Per dataset (MNIST, Fashion-MNIST), a LeNet per entry of :data:`KINDS`, trained briefly on
   real images, converted and written as a bundle (tools/qemu/make_test_bundle.py), all in
   this process, so TensorFlow is imported once.
4. Images: the 20 shared samples of each dataset and test images 20-219, as PNG files.
5. x86: ``bnnkit predict``'s library on each bundle (LCE's interpreter for ``lce``/``int8``,
   tf.lite for ``litert``), and LCE's interpreter on two models made only of Lce ops.
6. aarch64 (``-cpu cortex-a72``, a Pi 4's core), one process (tools/qemu/aarch64_runs.py):
   ``pi/run_litert.py`` on each bundle with the delegate, with XNNPACK as on a Pi and without
   (``--no-xnnpack``: float ops on TFLite's builtin kernels, as x86 LCE runs them); the Lce-only
   models raw; and every intermediate tensor of the ``int8`` bundles' models on 20 test images,
   compared with the same on x86 (ai-edge-litert + the x86 delegate, ``--x86-delegate``,
   default: the built one) to find the first operator whose output differs.
7. Comparison (tools/qemu/compare_predictions.py) and the JSON summary: per bundle, images,
   top-1 equal, max abs probability difference; per Lce-only model, bit-exact or not; timings.

Goal: bit-exact on the Lce-only models; top-1 identical on every image; without XNNPACK,
max abs diff <= 1e-5 on the ``lce`` bundles. Reported beside it: with XNNPACK, whose float ops
round differently from x86's builtin kernels (a binarized sign near zero can flip), and the
``int8`` bundles, whose int8 outputs are whole quantization steps (1/256 of a probability),
with the operator where aarch64 and x86 first differ.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bnnkit  # noqa: E402,F401  (Keras 2 before TensorFlow)

# (method, target): the binary methods on LCE's kernels, one int8, and a float litert baseline.
KINDS = (
    ("bnn", "lce"),
    ("xnor", "lce"),
    ("horq", "lce"),
    ("bireal", "lce"),
    ("xnor", "int8"),
    ("float", "litert"),
)
DATASETS = {"mnist": "mnist_", "fashion_mnist": "fashionMNIST_"}
TEST_IMAGES = range(20, 220)
ATOL = 1e-5
ROOTFS = Path(os.environ.get("BNNKIT_QEMU_DIR", Path.home() / ".cache" / "bnnkit-qemu")) / "rootfs"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_test_bundle = _load("make_test_bundle", HERE / "make_test_bundle.py")
compare_predictions = _load("compare_predictions", HERE / "compare_predictions.py")
aarch64_runs = _load("aarch64_runs", HERE / "aarch64_runs.py")


class Timer(dict):
    def step(self, name: str, function, *args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        self[name] = round(time.perf_counter() - start, 1)
        return result


def write_images(dataset, samples: Path, prefix: str, folder: Path) -> list[Path]:
    """The shared samples (copied) plus test images 20-219 of ``dataset`` as PNG files."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = [Path(shutil.copy(path, folder)) for path in sorted(samples.glob(f"{prefix}*.png"))]
    for index in TEST_IMAGES:
        path = folder / f"test_{index:03d}_{int(dataset.y_test[index])}.png"
        Image.fromarray(np.asarray(dataset.x_test[index]).squeeze().astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def make_bundles(dataset, folder: Path) -> dict[str, Path]:
    """A bundle per entry of :data:`KINDS`: LeNet (width 0.25), 2,000 images, one epoch.
    A bundle already in ``folder`` (an earlier run into the same ``--out``) is reused.

    Each bundle is written even when its conversion disagrees with the Keras model
    (``allow_disagreement``, marked in its conversion report): conversions of one-epoch
    models have near-tied logits and may be refused by default (int8 ones often are), but this
    check compares the same bundle on x86 and on aarch64, not the bundle with Keras."""
    bundles = {}
    for method, target in KINDS:
        name = f"{method}-{target}"
        bundles[name] = folder / name
        if (folder / name / "metadata.json").is_file():
            continue
        model = make_test_bundle.train_lenet(
            dataset, method=method, train=2000, epochs=1, width=0.25
        )
        make_test_bundle.write_test_bundle(
            model,
            folder / name,
            dataset,
            method=method,
            target=target,
            allow_disagreement=True,
        )
    return bundles


def x86_predictions(bundle: Path, images: list[Path]) -> dict:
    from converters.predict import predict_images

    return predict_images(bundle, images, top_k=10)


def lce_only_models(folder: Path) -> dict[str, dict]:
    """Two models of Lce ops only, random inputs, and x86 LCE's outputs."""
    from converters.runtime import open_runner

    models = {}
    for ending in ("dequantize", "float"):
        data = make_test_bundle.lce_only_flatbuffer(ending)
        x = np.random.default_rng(len(ending)).normal(size=(16, 12, 12, 40)).astype(np.float32)
        paths = {key: folder / f"lce-only-{ending}.{key}" for key in ("tflite", "npy")}
        paths["tflite"].write_bytes(data)
        np.save(paths["npy"], x)
        models[ending] = {**paths, "x86": open_runner(data, runtime="lce", trial=False).predict(x)}
    return models


def run_aarch64(stage: Path, jobs: dict, log: Path) -> dict:
    """tools/qemu/aarch64_runs.py on ``jobs`` (paths inside the root) in one qemu process."""
    inside = Path("/tmp") / stage.name
    (stage / "jobs.json").write_text(json.dumps(jobs))
    env = {**os.environ, "BNNKIT_QEMU_PYTHONPATH": f"{inside}/site"}
    result = subprocess.run(
        ["bash", str(HERE / "run.sh"), f"{inside}/aarch64_runs.py", f"{inside}/jobs.json"],
        capture_output=True,
        text=True,
        env=env,
    )
    log.write_text(result.stderr)
    if result.returncode != 0:
        raise SystemExit(
            f"lce_check: the aarch64 run failed (see {log}):\n"
            + "\n".join(result.stderr.splitlines()[-15:])
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def stage_into_root(stage: Path, delegate: Path, out: Path) -> None:
    """bnnkit (pip --no-deps, as on a Pi), the runner, the delegate, bundles and images."""
    source = Path(tempfile.mkdtemp())
    try:
        for name in ("pyproject.toml", "README.md", "bnnkit", "converters", "delegate"):
            copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
            copy(
                REPO / name,
                source / name,
                **({"symlinks": True} if copy is shutil.copytree else {}),
            )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--disable-pip-version-check",
                "--target",
                str(stage / "site"),
                str(source),
            ],
            check=True,
            capture_output=True,
        )
    finally:
        shutil.rmtree(source, ignore_errors=True)
    shutil.copy(REPO / "pi" / "run_litert.py", stage)
    shutil.copy(HERE / "aarch64_runs.py", stage)
    shutil.copy(delegate, stage / "libbnnkit_lce_delegate.so")
    shutil.copytree(out / "work", stage / "work")


def _diff(value: float) -> str:
    return "0" if value == 0 else f"{value:.2g}"


def summary_markdown(summary: dict) -> str:
    """The tables docs/raspberry-pi.md quotes (a test keeps the two in step)."""
    lines = [
        "| dataset | bundle | images | top-1 equal, builtin / XNNPACK | max abs diff, "
        "builtin kernels | max abs diff, XNNPACK |",
        "|---|---|---|---|---|---|",
    ]
    for key, entry in summary["bundles"].items():
        dataset, kind = key.split("/")
        builtin, xnnpack = entry["builtin"], entry["xnnpack"]
        lines.append(
            f"| {dataset} | `{kind}` | {builtin['images']} | {builtin['same_top1']} / "
            f"{xnnpack['same_top1']} | {_diff(builtin['max_abs_diff'])} | "
            f"{_diff(xnnpack['max_abs_diff'])} |"
        )
    lines += ["", "| model of Lce ops only | output elements | bit-exact |", "|---|---|---|"]
    for ending, entry in summary["lce_only"].items():
        lines.append(
            f"| ends with {ending} | {entry['elements']} | "
            f"{'yes' if entry['bit_exact'] else 'no'} |"
        )
    diagnosis = summary.get("int8_diagnosis", {})
    if diagnosis and "not_run" not in diagnosis:
        lines += [
            "",
            "| int8 bundle | images | first operator whose output differs (count) |",
            "|---|---|---|",
        ]
        for key, entry in diagnosis.items():
            counts = ", ".join(f"{op} ({n})" for op, n in sorted(entry["first_difference"].items()))
            lines.append(f"| {key} | {entry['images']} | {counts} |")
    timings = summary["timings"]
    lines += ["", "| step | seconds |", "|---|---|"]
    lines += [f"| {name[:-2].replace('_', ' ')} | {value} |" for name, value in timings.items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from converters.delegate import build_delegate, find_delegate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sources", default=None)
    parser.add_argument("--delegate", type=Path, default=None, help="an aarch64 delegate")
    parser.add_argument(
        "--x86-delegate",
        type=Path,
        default=None,
        help="the native delegate for the int8 diagnosis (default: the built one)",
    )
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="also write the summary here (results/qemu_lce_check.json)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="print the tables of a summary.json, and do nothing else",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(summary_markdown(json.loads(args.markdown.read_text())), end="")
        return 0
    if args.out is None:
        parser.error("--out is required")
    timer, out = Timer(), args.out.resolve()
    timer.step("setup_s", subprocess.run, ["bash", str(HERE / "setup.sh")], check=True)
    delegate = args.delegate or timer.step(
        "aarch64_delegate_build_s",
        build_delegate,
        "aarch64",
        sources=args.sources,
        output=out / "aarch64" / "libbnnkit_lce_delegate.so",
    )
    x86, lce_only, images = timer.step("x86_s", prepare_x86, args.data_dir, out / "work")
    stage = Path(tempfile.mkdtemp(prefix="lce-check.", dir=ROOTFS / "tmp"))
    try:
        stage_into_root(stage, delegate, out)
        jobs = aarch64_jobs(stage, x86, lce_only, out)
        arm = timer.step("aarch64_qemu_s", run_aarch64, stage, jobs, out / "aarch64.log")
        summary = summarize(stage, x86, lce_only, jobs, arm["xnnpack_partitions"])
        summary["int8_diagnosis"] = timer.step(
            "int8_diagnosis_s", int8_diagnosis, stage, jobs, args.x86_delegate or find_delegate()
        )
        shutil.copytree(stage / "results", out / "aarch64-results", dirs_exist_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    summary.update(
        script="tools/qemu/lce_check.py",
        timings=dict(timer),
        aarch64_runs=[{**t, "out": Path(t["out"]).name} for t in arm["runs"]],
        images_per_dataset={name: len(paths) for name, paths in images.items()},
        delegate_bytes=Path(delegate).stat().st_size,
        **machine(),
    )
    text = json.dumps(summary, indent=1) + "\n"
    (out / "summary.json").write_text(text)
    if args.results:
        args.results.write_text(text)
    print(text)
    return 0 if all(summary["goal"].values()) else 1


def machine() -> dict:
    from bnnkit.bench.machine import machine_info

    version = subprocess.run(
        ["qemu-aarch64-static", "--version"], capture_output=True, text=True
    ).stdout.split("\n")[0]
    return {"machine": machine_info(), "emulator": f"{version}, -cpu cortex-a72 (chroot)"}


def prepare_x86(data_dir: Path, work: Path):
    """Bundles, images, Lce-only models and every x86 result, in this process."""
    from bnnkit.data import load_dataset

    x86, images = {}, {}
    for name, prefix in DATASETS.items():
        dataset = load_dataset(name, data_dir)
        images[name] = write_images(dataset, data_dir / "samples", prefix, work / "images" / name)
        for kind, bundle in make_bundles(dataset, work / "bundles" / name).items():
            x86[f"{name}/{kind}"] = {
                "bundle": bundle,
                "images": images[name],
                "report": x86_predictions(bundle, images[name]),
            }
            if kind.endswith("int8"):
                np.save(
                    work / "bundles" / name / "tensor-inputs.npy",
                    dataset.normalize(dataset.x_test[20:40]).astype(np.float32),
                )
    return x86, lce_only_models(work), images


def aarch64_jobs(stage: Path, x86: dict, lce_only: dict, out: Path) -> dict:
    inside = Path("/tmp") / stage.name

    def mapped(path: Path) -> str:
        return str(inside / Path(path).relative_to(out))

    (stage / "results").mkdir()
    bundles = [
        {
            "bundle": mapped(entry["bundle"]),
            "images": [mapped(p) for p in entry["images"]],
            "out": str(inside / "results" / f"{key.replace('/', '--')}--{mode}.json"),
            "xnnpack": mode == "xnnpack",
            "key": key,
            "mode": mode,
        }
        for key, entry in x86.items()
        for mode in ("xnnpack", "builtin")
    ]
    raw = [
        {
            "model": mapped(m["tflite"]),
            "input": mapped(m["npy"]),
            "output": str(inside / "results" / f"lce-only-{ending}.out.npy"),
        }
        for ending, m in lce_only.items()
    ]
    tensors = [
        {
            "model": mapped(Path(entry["bundle"]) / "model.tflite"),
            "input": mapped(Path(entry["bundle"]).parent / "tensor-inputs.npy"),
            "output": str(inside / "results" / f"{key.replace('/', '--')}.tensors.npz"),
            "key": key,
        }
        for key, entry in x86.items()
        if key.endswith("int8")
    ]
    return {
        "run_litert": str(inside / "run_litert.py"),
        "delegate": str(inside / "libbnnkit_lce_delegate.so"),
        "bundles": bundles,
        "raw": raw,
        "tensors": tensors,
    }


def first_differences(x86: dict, arm: dict) -> dict[str, int]:
    """Per input row, the first operator (in execution order) whose output differs."""
    counts: dict[str, int] = {}
    for row in sorted({int(key.split(":")[0]) for key in x86}):
        keys = sorted(
            (k for k in x86 if k.split(":")[0] == str(row)), key=lambda k: int(k.split(":")[1])
        )
        first = next((k.split(":")[2] for k in keys if not np.array_equal(x86[k], arm[k])), "none")
        counts[first] = counts.get(first, 0) + 1
    return counts


def int8_diagnosis(stage: Path, jobs: dict, x86_delegate: Path | None) -> dict:
    if x86_delegate is None:
        return {"not_run": "no x86 delegate (bnnkit build-delegate, or --x86-delegate)"}
    out = {}
    for job in jobs["tensors"]:
        bundle = Path(job["model"]).parent
        model = stage / bundle.relative_to(Path("/tmp") / stage.name) / "model.tflite"
        inputs = np.load(model.parent.parent / "tensor-inputs.npy")
        x86 = aarch64_runs.dump_tensors(str(model), str(x86_delegate), inputs)
        arm = dict(np.load(stage / "results" / Path(job["output"]).name))
        out[job["key"]] = {"images": len(inputs), "first_difference": first_differences(x86, arm)}
    return out


def _in_steps(report: dict, steps: int = 256) -> bool:
    """Every probability of a predict report is a multiple of 1/steps (an int8 softmax)."""
    return all(
        abs(c["probability"] * steps - round(c["probability"] * steps)) < 1e-4
        for p in report["predictions"]
        for c in p["top_k"]
    )


def summarize(stage: Path, x86: dict, lce_only: dict, jobs: dict, partitions: dict) -> dict:
    """Per bundle and mode: images, top-1 equal, max abs diff; Lce-only bit-exactness; goal."""
    results = stage / "results"
    bundles = {}
    for job in jobs["bundles"]:
        arm = json.loads((results / Path(job["out"]).name).read_text())
        report = x86[job["key"]]["report"]
        diff = compare_predictions.compare(report, arm, ATOL)
        entry = bundles.setdefault(
            job["key"],
            {
                "x86_runtime": report["runtime"],
                "aarch64_runtime": arm["runtime"],
                "aarch64_xnnpack_partitions": partitions[job["bundle"]],
            },
        )
        entry[job["mode"]] = {k: diff[k] for k in ("images", "same_top1", "max_abs_diff")}
        entry[job["mode"]]["over_atol"] = len(diff["problems"])
        if job["key"].endswith("int8"):
            entry["probabilities_in_steps_of_1/256"] = all(map(_in_steps, (report, arm)))
    exact = {}
    for ending, model in lce_only.items():
        arm = np.load(results / f"lce-only-{ending}.out.npy")
        exact[ending] = {
            "elements": int(arm.size),
            "bit_exact": bool(
                arm.shape == model["x86"].shape and np.array_equal(arm, model["x86"])
            ),
        }
    runs = [entry[mode] for entry in bundles.values() for mode in ("builtin", "xnnpack")]
    lce = [entry["builtin"] for key, entry in bundles.items() if key.endswith("-lce")]
    goal = {
        "lce_only_bit_exact": all(e["bit_exact"] for e in exact.values()),
        "top1_identical": all(r["same_top1"] == r["images"] for r in runs),
        "lce_bundles_builtin_max_abs_diff_le_1e-5": all(r["max_abs_diff"] <= ATOL for r in lce),
    }
    return {
        "atol": ATOL,
        "kinds": [f"{m}-{t}" for m, t in KINDS],
        "bundles": bundles,
        "lce_only": exact,
        "goal": goal,
    }


if __name__ == "__main__":
    sys.exit(main())
