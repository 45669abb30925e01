"""The README's "which method to pick" section is generated from results/report.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bnnkit.bench.readme import END, START, render, which_method_section
from bnnkit.bench.report_md import report_command
from bnnkit.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[3]


def _report():
    return json.loads((ROOT / "results" / "report.json").read_text())


def test_readme_section_is_the_one_generated_from_the_committed_report():
    readme = (ROOT / "README.md").read_text()
    assert readme == render(readme, _report()), (
        "README.md is out of date with results/report.json: run "
        "`python -m bnnkit.bench.readme`")
    section = readme.split(START, 1)[1].split(END, 1)[0]
    assert "| row | variant |" in section


def test_every_number_of_the_section_follows_the_report():
    report = _report()
    before = which_method_section(report)
    changed = copy.deepcopy(report)
    row = next(r for r in changed["summary"] if r["label"] == "float")
    row["tflite_accuracy"]["mean"] -= 0.0123
    after = which_method_section(changed)
    assert after != before
    assert f"{100 * row['tflite_accuracy']['mean']:.2f}" in after


def test_render_refuses_a_readme_without_markers():
    with pytest.raises(ValueError, match="markers"):
        render("# no section here\n", _report())


def test_the_stated_command_parses_to_the_budget_the_report_ran():
    budget = _report()["budget"]
    command = report_command(budget)
    assert command in (ROOT / "README.md").read_text()
    assert command in (ROOT / "results" / "REPORT.md").read_text()
    args = build_parser().parse_args(command.split()[1:])
    assert args.datasets == budget["datasets"]
    assert (args.epochs, args.recipe) == (budget["epochs"], budget["recipe"])
    assert (args.train_limit, args.test_limit) == (budget["train_limit"], budget["test_limit"])
    assert list(range(args.seed, args.seed + args.seeds)) == budget["seeds"]
