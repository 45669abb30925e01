"""The larq-zoo architectures as a test bed: every one converts, through the CLI and the API,
or is refused with the reason.

Random initialization only (no downloads). Needs larq-zoo, which cannot be resolved against
the pinned stack; install it with ``pip install --no-deps -r requirements-zoo.txt``. Slow
(each model is converted twice, and verified on random images, then cut where values are
rounded and compared layer by layer, because sign ties make the outputs differ; 20-60 minutes
per model on a busy 2-core machine): ``pytest -m slow tests/converters/test_zoo.py``.

For each architecture: the user saves the model as ``.h5`` and runs ``bnnkit convert`` on it
in a fresh process (larq-zoo's custom objects must be known without ``--custom-objects``),
and the same model goes through :func:`converters.convert_model`. Both must pass the
verification; size, ``LceBconv2d`` count and executed binary-MAC fraction must match the
values measured when the zoo was first tried (:data:`EXPECTED`). DoReFaNet (2-bit
activations) breaks LCE 0.16.0's native converter (a C++ "cannot create std::vector larger
than max_size()" error, a segfault or a SIGKILL; which one varies between runs): both paths must
refuse it with the converter's failure named, the CLI with its exit code and the error as its
last stderr line (lines before it are larq's own warnings when the model is loaded), and
survive it.
Set ``BNNKIT_ZOO_TABLE=path.json`` to write the measured table; a path that fails is recorded
with its error before the test fails (``tools/zoo_doc.py`` turns ``results/zoo.json`` into the
table of docs/converters.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
lqz = pytest.importorskip("larq_zoo", reason="larq-zoo is not installed: "
                                             "pip install --no-deps -r requirements-zoo.txt")

import bnnkit  # noqa: E402,F401

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE_TOLERANCE = 0.03
FRACTION_TOLERANCE = 0.005
CLI_TIMEOUT_SECONDS = 4 * 3600

#: size (MB), LceBconv2d ops, binary-MAC fraction (results/zoo.json); None: not applicable.
EXPECTED = {
    "QuickNet": (4.35, 16, 0.984),
    "XNORNet": (23.89, 9, 0.90),
    "BinaryAlexNet": (7.89, 10, 0.913),
    "DoReFaNet": (None, None, None),
    "BiRealNet": (4.18, 16, 0.924),
    "BinaryResNetE18": (4.17, 16, 0.924),
}
MAX_SIZE_MB = {"XNORNet": 25.0}
#: Models LCE 0.16.0's native converter breaks on (a segfault or a C++ error; see
#: docs/converters.md): refused by both paths, with the failure named.
LCE_CONVERTER_CRASHES = {"DoReFaNet"}
REFUSED = "the lce converter could not convert this model: its SavedModel "
CONVERTER_FAILURE = ("crashed LCE's converter (", "failed: cannot create std::vector")


def _build(name: str):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    module = lqz.sota if hasattr(lqz.sota, name) else lqz.literature
    return getattr(module, name)(weights=None, input_shape=(224, 224, 3))


def _row(report: dict) -> dict:
    checks = report["verification"]
    return {"size_mb": round(report["size"]["tflite_bytes"] / 1e6, 2),
            "lce_bconv2d": report["op_histogram"].get("LceBconv2d", 0),
            "binary_fraction": round(report["macs"]["binary_fraction"], 4),
            "passed": checks["passed"], "criterion": checks["criterion"],
            "original_model_top1_agreement": checks["original_model_top1_agreement"],
            "fraction_beyond_tolerance": checks["fraction_beyond_tolerance"],
            "tie_check": checks.get("tie_check"),
            "float_layers": [layer["layer"] for layer in report["float_layers"]],
            "seconds": report["seconds"]}


def _check(name: str, row: dict, report: dict) -> None:
    size, count, fraction = EXPECTED[name]
    if size is not None:
        assert row["size_mb"] == pytest.approx(size, rel=SIZE_TOLERANCE)
    if count is not None:
        assert row["lce_bconv2d"] == count
    if fraction is not None:
        assert row["binary_fraction"] == pytest.approx(fraction, abs=FRACTION_TOLERANCE)
    if name in MAX_SIZE_MB:
        assert row["size_mb"] <= MAX_SIZE_MB[name]
    assert row["passed"], report["verification"]


def _cli_convert(model_file: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "bnnkit.cli.main", "convert",
                           str(model_file), "-o", str(out), "--json"],
                          capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def table():
    """The measured rows, written to ``$BNNKIT_ZOO_TABLE`` after each architecture and path
    (so a later failure keeps the rows measured before it)."""
    destination = os.environ.get("BNNKIT_ZOO_TABLE")
    rows: dict = json.loads(Path(destination).read_text()) \
        if destination and Path(destination).is_file() else {}

    def record(name: str, path: str, row: dict) -> None:
        rows.setdefault(name, {})[path] = row
        rows[name] = {key: rows[name][key] for key in ("cli", "api") if key in rows[name]}
        if destination:
            Path(destination).write_text(json.dumps(rows, indent=2) + "\n")

    return record


def _api(name: str, model, out: Path, table) -> None:
    from bnnkit.errors import UnsupportedModelError
    from converters.convert import convert_model

    started = time.perf_counter()
    if name in LCE_CONVERTER_CRASHES:  # refused, and this process lives on
        with pytest.raises(UnsupportedModelError) as raised:
            convert_model(model, out, compare_float=False)
        table(name, "api", {"refused": str(raised.value),
                            "seconds": round(time.perf_counter() - started, 1)})
        message = str(raised.value)
        assert message.startswith(REFUSED) and not out.exists()
        assert any(failure in message for failure in CONVERTER_FAILURE), message
        return
    try:
        report = convert_model(model, out, compare_float=False)  # no data: random images
    except Exception as error:  # recorded with the reason, then the test fails
        table(name, "api", {"failed": f"{type(error).__name__}: {error}"[:600],
                            "seconds": round(time.perf_counter() - started, 1)})
        raise
    table(name, "api", _row(report))
    _check(name, _row(report), report)


def _cli(name: str, model_file: Path, out: Path, table) -> None:
    from bnnkit.errors import UnsupportedModelError

    started = time.perf_counter()
    result = _cli_convert(model_file, out)
    errors = result.stderr.strip().splitlines()
    if name in LCE_CONVERTER_CRASHES:
        table(name, "cli", {"refused": errors[-1] if errors else "",
                            "exit_code": result.returncode,
                            "seconds": round(time.perf_counter() - started, 1)})
        assert result.returncode == UnsupportedModelError.exit_code
        assert errors[-1].startswith(f"bnnkit: error: {REFUSED}"), errors
        assert any(failure in errors[-1] for failure in CONVERTER_FAILURE), errors[-1]
        assert [line for line in errors if line.startswith("bnnkit:")] == errors[-1:], errors
        assert not out.exists()
        return
    if result.returncode != 0:
        table(name, "cli", {"failed": errors[-1][:600] if errors else "",
                            "exit_code": result.returncode,
                            "seconds": round(time.perf_counter() - started, 1)})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "conversion.json").read_text())
    table(name, "cli", _row(report))
    _check(name, _row(report), report)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_zoo_architecture_converts_and_verifies_through_cli_and_api(name, tmp_path, table):
    model = _build(name)
    model.save(tmp_path / f"{name}.h5")  # as a user would, before handing it to the CLI
    _api(name, model, tmp_path / "api", table)
    _cli(name, tmp_path / f"{name}.h5", tmp_path / "cli", table)
