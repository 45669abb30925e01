"""``bnnkit report`` on a tiny budget with two seeds: it writes the report and plots, states
its budget and machine, aggregates the seeds, and a rerun trains and converts nothing again."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

import bnnkit  # noqa: F401

pytestmark = pytest.mark.slow  # trains and converts two tiny models (~1 min here)


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory, mnist_dir):
    from bnnkit.bench.report import run_report

    out = tmp_path_factory.mktemp("report")
    logs = []
    data = run_report(out, datasets=["mnist"], methods=["float", "bnn"], epochs=1,
                      train_limit=300, test_limit=100, data_dir=str(mnist_dir), seeds=2,
                      latency_rounds=2, latency_invocations=3, log=logs.append)
    return out, data, logs, mnist_dir


def test_report_writes_markdown_plots_and_json_with_budget_and_machine(tiny_report):
    out, data, _, _ = tiny_report
    text = (out / "REPORT.md").read_text()
    assert data["machine"]["label"] in text
    assert ", ".join(data["machine"]["simd"]) in text  # read from the CPU, not typed
    assert "**1 epochs in total per method" in text and "training images: **300**" in text
    assert (out / "accuracy_vs_size.png").stat().st_size > 0
    assert (out / "accuracy_vs_latency.png").stat().st_size > 0
    saved = json.loads((out / "report.json").read_text())
    assert sorted((r["method"], r["seed"]) for r in saved["results"]) == [
        ("bnn", 0), ("bnn", 1), ("float", 0), ("float", 1)]
    summary = {r["label"]: r for r in saved["summary"]}
    assert summary["bnn"]["target"] == "lce" and summary["float"]["target"] == "float"
    assert summary["bnn"]["tflite_bytes"]["mean"] < summary["float"]["tflite_bytes"]["mean"]
    assert summary["bnn"]["binary_fraction"] > 0.9
    for label, row in summary.items():
        cells = [r for r in saved["results"] if r["label"] == label]
        values = [r["tflite_accuracy"] for r in cells]
        assert row["tflite_accuracy"]["values"] == values
        assert row["tflite_accuracy"]["mean"] == pytest.approx(statistics.fmean(values))
        assert row["tflite_accuracy"]["std"] == pytest.approx(statistics.stdev(values))
        for cell in cells:  # each cell's accuracy is its own evaluation of its .tflite
            evaluation = json.loads((Path(cell["tflite_path"]).parent /
                                     "evaluation.json").read_text())
            assert cell["tflite_accuracy"] == evaluation["tflite_accuracy"]
            assert cell["images_seen"] == 2 * 128 and cell["epochs"] == 1
    assert f"{100 * summary['float']['tflite_accuracy']['mean']:.2f} ± " in text
    first_seed = [r for r in saved["results"] if r["seed"] == 0]
    assert all(r["speedup_vs_float"] is None or r["speedup_vs_float"]["n"] == 2
               for r in first_seed)
    assert not saved["failures"]


def test_report_rerun_skips_finished_runs_and_conversions(tiny_report):
    from bnnkit.bench.report import run_report

    out, first, _, shared = tiny_report
    model = next((out / "runs").glob("mnist-bnn-e1-n300-budget-s1-*")) / "tflite-lce" / \
        "model.tflite"
    before = model.stat().st_mtime_ns
    logs = []
    second = run_report(out, datasets=["mnist"], methods=["float", "bnn"], epochs=1,
                        train_limit=300, test_limit=100, data_dir=str(shared), seeds=2,
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
