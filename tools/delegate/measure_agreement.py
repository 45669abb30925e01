"""Measure how ai-edge-litert + the LCE-kernel delegate agrees with LCE's interpreter on x86.

    .venv/bin/python tools/delegate/measure_agreement.py [--delegate SO] [--data-dir DIR]
        [--images 2000] [--out results/delegate_agreement.json]

For each binary method (BNN, XNOR, HORQ order 2, Bi-Real) as an ``lce`` model and XNOR as an
``int8`` model: a LeNet (width 0.25) trained for one epoch on 2,000 real MNIST images
(tools/qemu/make_test_bundle.py), converted, then run on the first ``--images`` MNIST test
images by LCE's interpreter (indirect BGEMM, no XNNPACK, as bnnkit runs it) and by runtime
``litert-lce`` with and without XNNPACK. Records top-1 agreement, the max abs difference of the
softmax outputs, and how many images differ by more than 1e-5.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bnnkit  # noqa: E402,F401  (Keras 2 before TensorFlow)

KINDS = (("bnn", "lce"), ("xnor", "lce"), ("horq", "lce"), ("bireal", "lce"), ("xnor", "int8"))
ATOL = 1e-5


def _make_test_bundle():
    spec = importlib.util.spec_from_file_location(
        "make_test_bundle", REPO / "tools" / "qemu" / "make_test_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def agreement(expected: np.ndarray, got: np.ndarray) -> dict:
    diffs = np.abs(expected - got).max(axis=1)
    return {"top1_agreement": float(np.mean(expected.argmax(1) == got.argmax(1))),
            "max_abs_diff": float(diffs.max()), "images_over_1e-5": int((diffs > ATOL).sum())}


def measure(kind: tuple[str, str], dataset, x: np.ndarray, delegate: str) -> dict:
    from converters.runtime import open_runner
    from converters.targets import TARGETS, ConverterInputs

    method, target = kind
    model = _make_test_bundle().train_lenet(dataset, method=method, train=2000, epochs=1,
                                            width=0.25)
    calibration = dataset.normalize(dataset.x_test[:500])
    data = TARGETS.get(target).convert(model, ConverterInputs(calibration)).data
    expected = open_runner(data, runtime="lce", trial=False).predict(x)
    row = {}
    for name, xnnpack in (("builtin", False), ("xnnpack", True)):
        runner = open_runner(data, runtime="litert-lce", trial=False,
                             kernel_options={"delegate": delegate, "xnnpack": xnnpack})
        row[name] = agreement(expected, runner.predict(x))
    return row


def markdown(result: dict) -> str:
    """The table delegate/README.md quotes (a test keeps the two in step)."""
    lines = ["| model | top-1 agreement, builtin / XNNPACK | max abs diff, builtin | "
             "max abs diff, XNNPACK (images over 1e-5) |", "|---|---|---|---|"]
    for name, row in result["models"].items():
        builtin, xnnpack = row["builtin"], row["xnnpack"]
        lines.append(f"| `{name}` | {builtin['top1_agreement']:.2%} / "
                     f"{xnnpack['top1_agreement']:.2%} | {builtin['max_abs_diff']:.2g} | "
                     f"{xnnpack['max_abs_diff']:.2g} ({xnnpack['images_over_1e-5']}) |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from bnnkit.bench.machine import machine_info
    from bnnkit.data import load_dataset
    from converters.delegate import find_delegate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delegate", default=None, help="default: the built one")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--out", default=str(REPO / "results" / "delegate_agreement.json"))
    args = parser.parse_args(argv)
    delegate = args.delegate or find_delegate()
    if delegate is None:
        parser.error("no delegate built: run `bnnkit build-delegate` or pass --delegate")
    mnist = load_dataset("mnist", args.data_dir)
    x = mnist.normalize(mnist.x_test[:args.images])
    result = {"script": "tools/delegate/measure_agreement.py", "machine": machine_info(),
              "images": len(x), "reference": "LCE interpreter (indirect BGEMM, no XNNPACK)",
              "models": {f"{m}-{t}": measure((m, t), mnist, x, str(delegate)) for m, t in KINDS}}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
