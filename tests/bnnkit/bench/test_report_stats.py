"""The report's statistics: mean and std over seeds, and the orderings' verdicts."""

from __future__ import annotations

import statistics

import pytest

from bnnkit.bench.report_stats import compare, mean_std, orderings, summarize


def _cell(label, seed, accuracy, dataset="mnist", **extra):
    return {"dataset": dataset, "label": label, "seed": seed, "method": label.split("-")[0],
            "tflite_accuracy": accuracy, "keras_accuracy": accuracy, "tflite_bytes": 1000,
            **extra}


def test_mean_std_is_the_sample_standard_deviation():
    stat = mean_std([0.9, 0.92, 0.97])
    assert stat["mean"] == pytest.approx(statistics.fmean([0.9, 0.92, 0.97]))
    assert stat["std"] == pytest.approx(statistics.stdev([0.9, 0.92, 0.97]))
    assert mean_std([0.5])["std"] == 0.0 and mean_std([None]) is None


@pytest.mark.parametrize("a,b,verdict", [
    ([0.95, 0.96, 0.97], [0.90, 0.91, 0.92], "holds"),
    ([0.95, 0.90, 0.99], [0.94, 0.91, 0.96], "does not hold"),
    ([0.90, 0.91, 0.92], [0.95, 0.96, 0.97], "does not hold (reversed)"),
])
def test_an_ordering_holds_only_beyond_one_standard_deviation_of_the_difference(a, b, verdict):
    result = compare(mean_std(a), mean_std(b))
    noise = (statistics.stdev(a) ** 2 + statistics.stdev(b) ** 2) ** 0.5
    assert result["margin"] == pytest.approx(statistics.fmean(a) - statistics.fmean(b))
    assert result["noise"] == pytest.approx(noise)
    assert result["verdict"] == verdict


def test_close_holds_when_the_gap_is_within_one_standard_deviation():
    assert compare(mean_std([0.99, 0.98]), mean_std([0.985, 0.99]), "close")["verdict"] == \
        "holds"
    assert compare(mean_std([0.90, 0.91]), mean_std([0.99, 0.98]), "close")["verdict"] == \
        "does not hold"


def test_summary_has_one_row_per_dataset_and_label_and_orderings_use_it():
    cells = [_cell("horq", s, a) for s, a in enumerate([0.95, 0.96, 0.97])]
    cells += [_cell("xnor", s, a) for s, a in enumerate([0.90, 0.91, 0.92])]
    cells += [_cell("xnor", 0, 0.5, dataset="fashion_mnist")]
    summary = summarize(cells)
    assert [(r["dataset"], r["label"], r["seeds"]) for r in summary] == [
        ("mnist", "horq", [0, 1, 2]), ("mnist", "xnor", [0, 1, 2]),
        ("fashion_mnist", "xnor", [0])]
    rows = orderings(summary)
    assert [(r["dataset"], r["id"], r["verdict"]) for r in rows] == [
        ("mnist", "horq>xnor", "holds")]   # the others lack one of their two rows
    assert rows[0]["margin"] == pytest.approx(0.05)


def test_one_seed_is_not_tested_against_a_spread_it_does_not_have():
    assert compare(mean_std([0.99]), mean_std([0.90]))["verdict"] == "not tested (one seed)"


def _finetuned_summary(float_start):
    cells = []
    for seed, (bwn, bwnh) in enumerate([(0.95, 0.93), (0.96, 0.935), (0.955, 0.925)]):
        cells.append(_cell("bwn", seed, bwn, epochs=2, stage_epochs={"train": 2}))
        cells.append(_cell("bwnh", seed, bwnh, epochs=2, float_accuracy=float_start + seed / 1000,
                           stage_epochs={"float": 1, "binarize": 1}))
    summary = summarize(cells)
    row = next(o for o in orderings(summary) if o["id"] == "bwnh>bwn@finetuned")
    return row, summary


def test_a_data_driven_method_behind_bwn_is_explained_by_its_float_start_when_it_is_lower():
    from bnnkit.bench.report_md import _why

    row, summary = _finetuned_summary(0.87)
    assert row["verdict"] == "does not hold (reversed)"
    why = _why(row, summary)
    assert "trained for 1 of the 2 epochs, at 87.10% itself, below BWN's 95.50%" in why


def test_the_float_start_is_no_explanation_when_it_was_above_bwn():
    from bnnkit.bench.report_md import _why

    row, summary = _finetuned_summary(0.97)
    assert _why(row, summary) == (
        "The second is ahead by more than the seed-to-seed spread on this data.")


def test_sbd_behind_bwnh_after_binarization_names_the_layers_it_fits_worse():
    from bnnkit.bench.report_md import _why

    cells = []
    for seed in range(3):
        cells.append(_cell("bwnh", seed, 0.9, binarized_accuracy=0.84 + seed / 100,
                           layer_relative_error={"conv": 0.03, "fc": 0.005}))
        cells.append(_cell("sbd", seed, 0.9, binarized_accuracy=0.80 + seed / 100,
                           layer_relative_error={"conv": 0.06 + seed / 100, "fc": 0.004}))
    summary = summarize(cells)
    sbd = next(r for r in summary if r["label"] == "sbd")
    assert sbd["layer_relative_error"]["conv"]["mean"] == pytest.approx(0.07)
    row = next(o for o in orderings(summary) if o["id"] == "sbd>bwnh@binarized")
    assert row["verdict"] == "does not hold (reversed)"
    why = _why(row, summary)
    assert "conv 7.0% against 3.0%" in why and "fc" not in why.split(":")[-1]


def test_bwn_behind_float_is_explained_by_the_longer_run_only_when_that_run_caught_up():
    from bnnkit.bench.report_md import _why

    cells = []
    for seed in range(3):
        cells.append(_cell("float", seed, 0.865 + seed / 1000))
        cells.append(_cell("bwn", seed, 0.83 + seed / 1000))
    summary = summarize(cells)
    row = next(o for o in orderings(summary) if o["id"] == "bwn~float")
    assert row["verdict"] == "does not hold"

    def ablations(values):
        side = mean_std(values)
        return {"recipe_epochs": 5, "comparisons": [
            {"id": "recipe-bwn", "dataset": "mnist", "field": "tflite_accuracy", "b": side}]}

    why = _why(row, summary, ablations([0.87, 0.871, 0.872]))
    assert why.startswith("BWN is still converging at this budget: trained for 5 epochs "
                          "it reaches 87.10 ± 0.10%")
    assert _why(row, summary, ablations([0.84, 0.85, 0.845])) == (
        "The gap is larger than the seed-to-seed spread.")
