"""Run inside the arm64 root under qemu: the Pi runner on bundles, and raw models, in one process.

    python3.11 aarch64_runs.py JOBS.json

``JOBS.json`` (written by tools/qemu/lce_check.py, paths inside the root)::

    {"run_litert": "/stage/run_litert.py", "delegate": "/stage/libbnnkit_lce_delegate.so",
     "bundles": [{"bundle": DIR, "images": [PNG...], "out": JSON, "xnnpack": true}, ...],
     "raw": [{"model": TFLITE, "input": NPY, "output": NPY}, ...],
     "tensors": [{"model": TFLITE, "input": NPY, "output": NPZ}, ...]}

Each bundle entry is ``pi/run_litert.py BUNDLE IMAGES --json --top-k 10 --delegate SO``
(``--no-xnnpack`` when ``xnnpack`` is false), its JSON written to ``out``; each raw entry runs a
model on every row of ``input`` (one image per invoke) with ai-edge-litert + the delegate and
without XNNPACK, and saves the outputs; each tensors entry does the same keeping every
intermediate tensor (:func:`dump_tensors`, also run on x86 to find where two machines first
differ). One process, so Python and the runtime start once
under the emulator. Needs only what a Pi has: numpy, Pillow, ai-edge-litert, bnnkit (no deps).

Prints one JSON line: each bundle run's exit status and seconds, and for each bundle the
number of XNNPACK partitions ai-edge-litert made next to the delegate's (its default delegate
is applied as on a Pi: setup.sh gives the chroot a Cortex-A72's /proc/cpuinfo).
"""

from __future__ import annotations

import contextlib
import json
import runpy
import sys
import time

import numpy as np


def run_bundles(jobs: dict) -> list[dict]:
    runner = runpy.run_path(jobs["run_litert"], run_name="run_litert")
    timings = []
    for job in jobs["bundles"]:
        argv = [
            job["bundle"],
            *job["images"],
            "--json",
            "--top-k",
            "10",
            "--delegate",
            jobs["delegate"],
        ]
        if not job["xnnpack"]:
            argv.append("--no-xnnpack")
        start = time.perf_counter()
        with open(job["out"], "w") as out, contextlib.redirect_stdout(out):
            code = runner["main"](argv)
        timings.append(
            {"out": job["out"], "exit": code, "seconds": round(time.perf_counter() - start, 2)}
        )
    return timings


def xnnpack_partitions(model: str, delegate: str) -> int:
    """Delegate nodes that are not the LCE-kernel delegate's one node per Lce op."""
    from ai_edge_litert.interpreter import Interpreter, load_delegate

    interpreter = Interpreter(model_path=model, experimental_delegates=[load_delegate(delegate)])
    interpreter.allocate_tensors()
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    return ops.count("DELEGATE") - sum(op.startswith("Lce") for op in ops)


def _builtin_interpreter(model: str, delegate: str, keep_tensors: bool = False):
    """ai-edge-litert + the delegate, float/int8 ops on TFLite's builtin kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType, load_delegate

    interpreter = Interpreter(
        model_path=model,
        experimental_delegates=[load_delegate(delegate)],
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=keep_tensors,
    )
    interpreter.allocate_tensors()
    return interpreter


def dump_tensors(model: str, delegate: str, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Every operator's outputs for each input row: ``"row:op index:op name:tensor" -> array``."""
    interpreter = _builtin_interpreter(model, delegate, keep_tensors=True)
    source = interpreter.get_input_details()[0]["index"]
    ops = [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
    tensors = {}
    for row, x in enumerate(inputs):
        interpreter.set_tensor(source, x[None])
        interpreter.invoke()
        for op in ops:
            for index in op["outputs"]:
                tensors[f"{row}:{op['index']}:{op['op_name']}:{index}"] = np.array(
                    interpreter.get_tensor(index)
                )
    return tensors


def run_raw(jobs: dict) -> None:
    for job in jobs.get("tensors", []):
        np.savez(
            job["output"], **dump_tensors(job["model"], jobs["delegate"], np.load(job["input"]))
        )
    for job in jobs["raw"]:
        interpreter = _builtin_interpreter(job["model"], jobs["delegate"])
        source = interpreter.get_input_details()[0]["index"]
        target = interpreter.get_output_details()[0]["index"]
        outputs = []
        for row in np.load(job["input"]):
            interpreter.set_tensor(source, row[None])
            interpreter.invoke()
            outputs.append(np.array(interpreter.get_tensor(target)))
        np.save(job["output"], np.concatenate(outputs))


def main(path: str) -> int:
    with open(path) as handle:
        jobs = json.load(handle)
    run_raw(jobs)
    timings = run_bundles(jobs)
    models = {job["bundle"]: f"{job['bundle']}/model.tflite" for job in jobs["bundles"]}
    partitions = {
        bundle: xnnpack_partitions(model, jobs["delegate"]) for bundle, model in models.items()
    }
    print(json.dumps({"runs": timings, "xnnpack_partitions": partitions}))
    return 0 if all(t["exit"] == 0 for t in timings) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
