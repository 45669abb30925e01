"""results/REPORT.md is generated from results/report.json, every number of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from bnnkit.bench.report_md import report_markdown

ROOT = Path(__file__).resolve().parents[3]


def _report():
    return json.loads((ROOT / "results" / "report.json").read_text())


def test_committed_report_markdown_is_the_one_generated_from_the_committed_json():
    assert (ROOT / "results" / "REPORT.md").read_text() == report_markdown(_report()), (
        "results/REPORT.md is out of date with results/report.json")


def test_committed_report_has_three_seeds_of_every_row_on_both_datasets():
    report = _report()
    assert report["budget"]["datasets"] == ["mnist", "fashion_mnist"]
    assert not report["failures"]
    rows = {(r["dataset"], r["label"]): r for r in report["summary"]}
    for dataset in ("mnist", "fashion_mnist"):
        for label in report["budget"]["variants"]:
            assert rows[(dataset, label)]["tflite_accuracy"]["n"] == 3, (dataset, label)


def test_the_layer_table_is_kept_in_the_json_and_follows_it():
    report = _report()
    assert report["layers"]
    changed = copy.deepcopy(report)
    changed["layers"][0]["macs"] += 1
    before, after = report_markdown(report), report_markdown(changed)
    assert before != after
    assert f"{changed['layers'][0]['macs']:,}" in after
