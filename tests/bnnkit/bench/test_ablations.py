"""The ablations: which runs each comparison reads, and the committed results in step."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bnnkit.bench import ablations
from bnnkit.bench.ablations import COMPARISONS, FINETUNE_EPOCHS, RECIPE_EPOCHS, markdown

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "results"


def _committed():
    return json.loads((RESULTS / "ablations.json").read_text())


def test_committed_markdown_is_the_one_generated_from_the_committed_json():
    assert (RESULTS / "ABLATIONS.md").read_text() == markdown(_committed()), (
        "results/ABLATIONS.md is out of date with results/ablations.json")


def test_committed_results_hold_every_comparison_on_both_datasets_with_three_seeds():
    data = _committed()
    assert data["datasets"] == ["mnist", "fashion_mnist"]
    assert data["seeds"] == [0, 1, 2]
    assert not data["skipped"]
    measured = {(c["id"], c["dataset"], c["field"]): c for c in data["comparisons"]}
    for comparison in COMPARISONS:
        for dataset in data["datasets"]:
            for field in comparison.fields:
                row = measured[(comparison.id, dataset, field)]
                assert row["a"]["n"] == row["b"]["n"] == 3, (comparison.id, dataset, field)
                assert row["verdict"] in ("first ahead", "within 1 std", "second ahead")


def test_default_sbd_latents_flip_bits_in_every_committed_run_and_the_clip_limit_none():
    rows = {(c["dataset"], c["id"], c["field"]): c for c in _committed()["comparisons"]}
    for dataset in ("mnist", "fashion_mnist"):
        latent = rows[(dataset, "sbd-latent", "flipped_bits")]
        assert latent["a"]["mean"] > 0 and latent["b"]["mean"] == 0


def test_every_number_of_the_markdown_follows_the_json():
    data = _committed()
    changed = copy.deepcopy(data)
    row = next(c for c in changed["comparisons"] if c["field"] == "tflite_accuracy")
    row["a"]["mean"] += 0.0123
    assert markdown(changed) != markdown(data)
    assert f"{100 * row['a']['mean']:,.2f}" in markdown(changed)


def test_recipe_sides_train_for_the_recipe_epochs_and_read_nothing_from_the_report(tmp_path):
    comparison = next(c for c in COMPARISONS if c.id == "recipe-bireal")
    paper = ablations._spec(comparison.a, "mnist", 1, tmp_path, 2, (5000, 2000))
    budget = ablations._spec(comparison.b, "mnist", 1, tmp_path, 2, (5000, 2000))
    assert (paper.epochs, paper.recipe) == (RECIPE_EPOCHS, "paper")
    assert (budget.epochs, budget.recipe) == (RECIPE_EPOCHS, "budget")
    assert not comparison.a.in_report and not comparison.b.in_report
    assert paper.run_dir != budget.run_dir


def test_fine_tuning_sides_start_from_the_reports_float_model_or_wait_for_it(tmp_path):
    from bnnkit.bench.report import RunSpec, Variant

    side = next(c for c in COMPARISONS if c.id == "sbd-latent").a
    assert ablations._spec(side, "mnist", 0, tmp_path, 2, (5000, 2000)) is None
    float_dir = RunSpec("mnist", Variant("float", "float"), 0, tmp_path, 2, 5000, 2000).run_dir
    float_dir.mkdir(parents=True)
    (float_dir / "metrics.json").write_text("{}")
    spec = ablations._spec(side, "mnist", 0, tmp_path, 2, (5000, 2000))
    assert spec.epochs == FINETUNE_EPOCHS
    assert spec.variant.options["float_model"] == str(float_dir / "model.keras")


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [
        ([0.96, 0.97, 0.98], [0.90, 0.91, 0.92], "first ahead"),
        ([0.90, 0.95, 0.99], [0.91, 0.93, 0.95], "within 1 std"),
        ([0.90, 0.91, 0.92], [0.96, 0.97, 0.98], "second ahead"),
    ],
)
def test_summarize_gives_the_verdict_beyond_one_standard_deviation(tmp_path, a, b, verdict):
    comparison = next(c for c in COMPARISONS if c.id == "recipe-xnor")
    cells = []
    for side, values in ((comparison.a, a), (comparison.b, b)):
        for seed, value in enumerate(values):
            spec = ablations._spec(side, "mnist", seed, tmp_path, 2)
            cells.append({"run_dir": str(spec.run_dir), "tflite_accuracy": value})
    (row,) = ablations.summarize([comparison], cells, tmp_path, ["mnist"], 3, 2, (None, None))
    assert row["verdict"] == verdict
    assert row["a"]["n"] == row["b"]["n"] == 3


def test_bwn_keeps_the_papers_gradient_unless_the_exact_one_measured_better():
    from bnnkit.methods import get_method

    rows = [c for c in _committed()["comparisons"] if c["id"] == "bwn-gradient"]
    assert len(rows) == 2
    exact_better = all(row["verdict"] == "first ahead" for row in rows)
    assert get_method("bwn").options["gradient"] == ("exact" if exact_better else "paper")


def test_the_stated_command_parses_to_what_the_committed_results_ran(monkeypatch):
    data = _committed()
    stated = ablations.command(data)
    assert f"`{stated}`" in (RESULTS / "ABLATIONS.md").read_text()
    seen = {}
    monkeypatch.setattr(ablations, "run_ablations", lambda out, **kw: seen.update(kw))
    ablations.main(stated.split()[3:])
    assert seen["datasets"] == data["datasets"]
    assert (seen["seeds"], seen["epochs"]) == (len(data["seeds"]), data["epochs"])
    assert (seen["train_limit"], seen["test_limit"]) == (data["train_limit"], data["test_limit"])
