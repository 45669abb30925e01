"""``bnnkit report`` on a tiny budget: it writes the report and plots, states its budget and
machine, and a rerun trains and converts nothing again."""

from __future__ import annotations

import json

import pytest

import bnnkit  # noqa: F401

pytestmark = pytest.mark.slow  # trains and converts two tiny models (~1 min here)


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory, mnist_dir):
    from bnnkit.bench.report import run_report

    out = tmp_path_factory.mktemp("report")
    logs = []
    data = run_report(out, datasets=["mnist"], methods=["float", "bnn"], epochs=1,
                      train_limit=300, test_limit=100, data_dir=str(mnist_dir),
                      latency_rounds=2, latency_invocations=3, log=logs.append)
    return out, data, logs, mnist_dir


def test_report_writes_markdown_plots_and_json_with_budget_and_machine(tiny_report):
    out, data, _, _ = tiny_report
    text = (out / "REPORT.md").read_text()
    assert data["machine"]["label"] in text
    assert "epochs: **1**" in text and "training images: **300**" in text
    assert (out / "accuracy_vs_size.png").stat().st_size > 0
    assert (out / "accuracy_vs_latency.png").stat().st_size > 0
    saved = json.loads((out / "report.json").read_text())
    by_method = {r["method"]: r for r in saved["results"]}
    assert by_method["bnn"]["target"] == "lce" and by_method["float"]["target"] == "float"
    assert by_method["bnn"]["tflite_bytes"] < by_method["float"]["tflite_bytes"]
    assert by_method["bnn"]["binary_fraction"] > 0.9
    assert 0.0 <= by_method["bnn"]["tflite_accuracy"] <= 1.0
    assert by_method["bnn"]["speedup_vs_float"]["n"] == 2
    assert not saved["failures"]


def test_report_rerun_skips_finished_runs_and_conversions(tiny_report):
    from bnnkit.bench.report import run_report

    out, first, _, shared = tiny_report
    model = out / "runs" / "mnist-bnn-e1-n300" / "tflite-lce" / "model.tflite"
    before = model.stat().st_mtime_ns
    logs = []
    second = run_report(out, datasets=["mnist"], methods=["float", "bnn"], epochs=1,
                        train_limit=300, test_limit=100, data_dir=str(shared),
                        latency_rounds=1, latency_invocations=2, plots=False, log=logs.append)
    assert any("trained earlier" in line for line in logs)
    assert any("converted earlier" in line for line in logs)
    assert not any(line.endswith("converting (lce)") for line in logs)
    assert model.stat().st_mtime_ns == before
    assert [r["tflite_accuracy"] for r in second["results"]] == \
        [r["tflite_accuracy"] for r in first["results"]]


def test_report_rejects_unknown_methods(tmp_path):
    from bnnkit.bench.report import run_report
    from bnnkit.errors import UnsupportedModelError

    with pytest.raises(UnsupportedModelError, match="no_such_method"):
        run_report(tmp_path, methods=["no_such_method"])
