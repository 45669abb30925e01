"""Bit-flipped copies of a model through ``bnnkit evaluate``: refused, crashed or ran silently?

    python -m bnnkit.bench.bitflips   # results/bitflips.json, and its table in
                                      # docs/reliability.md (bnnkit.bench.docfigures)

For a model with bnnkit's embedded digest and for the same model without it (a model "from
elsewhere": :func:`converters.seal.unseal_model`), :data:`COPIES` copies each get
:data:`FLIPS` random bit flips anywhere in the file (copy ``i`` uses seed ``i``), and each copy
goes through ``bnnkit evaluate COPY --limit 100``, in a worker process that runs the CLI's
``main`` once per copy. A copy that kills the worker (a segfault in an interpreter) is counted
as a crash and the worker is restarted after it. Each outcome is one of:

* refused by the embedded digest, by the structure check, by the trial run, or by another
  check (exit 5 or another bnnkit exit code, one line naming the problem);
* ran silently (exit 0: an accuracy was printed for a corrupted model);
* crashed (the process died from a signal);
* failed with an error that is not bnnkit's (a traceback).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "COPIES",
    "DEMO_MODEL",
    "FLIPS",
    "LIMIT",
    "OUTCOMES",
    "REPO_ROOT",
    "RESULT",
    "classify",
    "evaluate_copies",
    "flip_bits",
    "markdown",
    "measure",
    "write",
]


REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = (
    REPO_ROOT / "android_demo" / "app" / "src" / "main" / "assets" / "bundle" / "model.tflite"
)
RESULT = REPO_ROOT / "results" / "bitflips.json"
COPIES = 40
FLIPS = 8
LIMIT = 100
OUTCOMES = (
    "refused: embedded digest",
    "refused: structure",
    "refused: trial run",
    "refused: other check",
    "ran silently",
    "crashed",
    "unhandled error",
)

_WORKER = r"""
import contextlib, io, json, sys
import bnnkit.cli.main as cli
extra = json.loads(sys.argv[1])
for path in sys.argv[2:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["evaluate", path, *extra])
        except SystemExit as error:
            code = error.code
        except BaseException as error:
            code = "unhandled " + type(error).__name__
    print(json.dumps({"path": path, "exit": code, "stderr": err.getvalue().strip()[-400:],
                      "stdout": out.getvalue().strip()[-400:]}), flush=True)
"""


def flip_bits(data: bytes, seed: int, count: int) -> bytes:
    """``data`` with ``count`` distinct random bits flipped, anywhere in the file."""
    rng = np.random.default_rng(seed)
    flipped = bytearray(data)
    for position in rng.choice(len(data) * 8, size=count, replace=False):
        flipped[int(position) // 8] ^= 1 << (int(position) % 8)
    return bytes(flipped)


def classify(record: dict) -> str:
    """The outcome of one ``bnnkit evaluate`` run (see the module docstring)."""
    code, message = record["exit"], record.get("stderr", "")
    if code == "crashed":
        return "crashed"
    if code == 0:
        return "ran silently"
    if (
        not isinstance(code, int)
        or "Traceback" in message
        or not message.startswith("bnnkit: error:")
    ):
        return "unhandled error"
    if "the digest bnnkit embedded" in message or "damaged bnnkit digest" in message:
        return "refused: embedded digest"
    if "trial run" in message or "crashed the TFLite interpreter" in message:
        return "refused: trial run"
    if code == 5:
        return "refused: structure"
    return "refused: other check"


def evaluate_copies(paths: list[Path], extra: list[str]) -> list[dict]:
    """``bnnkit evaluate`` on each path in worker processes; a crash restarts the worker."""
    records: list[dict] = []
    env = {k: v for k, v in os.environ.items() if k != "BNNKIT_DEBUG"}
    while len(records) < len(paths):
        pending = [str(p) for p in paths[len(records) :]]
        worker = subprocess.run(
            [sys.executable, "-c", _WORKER, json.dumps(extra), *pending],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        done = [json.loads(line) for line in worker.stdout.splitlines() if line.startswith("{")]
        records += done
        if len(done) < len(pending):  # the worker died on the next copy
            if worker.returncode >= 0:
                raise RuntimeError(f"the evaluate worker stopped: {worker.stderr[-2000:]}")
            records.append(
                {"path": pending[len(done)], "exit": "crashed", "signal": -worker.returncode}
            )
    return records


def measure(
    model: Path = DEMO_MODEL,
    *,
    copies: int = COPIES,
    flips: int = FLIPS,
    data_dir: str | None = None,
) -> dict:
    """Flip, evaluate and classify the copies of ``model`` with and without its digest."""
    from bnnkit.data.loaders import BUNDLED_SUBSET
    from converters.seal import seal_model, unseal_model

    original = Path(model).read_bytes()
    variants = {"with digest": seal_model(original), "without digest": unseal_model(original)}
    extra = [
        "--limit",
        str(LIMIT),
        "--dataset",
        "mnist",
        "--data-dir",
        str(data_dir or BUNDLED_SUBSET),
        "--json",
    ]
    result = {
        "model": str(Path(model).resolve().relative_to(REPO_ROOT)),
        "copies": copies,
        "flips_per_copy": flips,
        "seeds": f"0..{copies - 1}",
        "command": f"bnnkit evaluate COPY {' '.join(extra[:4])}",
    }
    rows: dict = {}
    with tempfile.TemporaryDirectory(prefix="bnnkit-bitflips-") as work:
        for number, (name, data) in enumerate(variants.items()):
            paths = []
            for seed in range(copies):
                path = Path(work) / f"variant{number}" / f"copy{seed:02d}.tflite"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(flip_bits(data, seed, flips))
                paths.append(path)
            outcomes = [classify(r) for r in evaluate_copies(paths, extra)]
            rows[name] = {"counts": {o: outcomes.count(o) for o in OUTCOMES}, "outcomes": outcomes}
    return {**result, "rows": rows}


def markdown(result: dict) -> str:
    """The table of docs/reliability.md for ``result``."""
    head = ["model", *OUTCOMES]
    lines = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for name, row in result["rows"].items():
        cells = [str(row["counts"][o]) for o in OUTCOMES]
        lines.append(f"| {result['model'].split('/')[-1]} {name} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def write(result: dict, result_path: Path = RESULT) -> None:
    """The JSON under results/, then every doc figure rendered from it."""
    from bnnkit.bench.docfigures import update_docs
    from bnnkit.serialization import atomic_write_json

    atomic_write_json(result_path, result)
    update_docs()


if __name__ == "__main__":
    write(measure())
