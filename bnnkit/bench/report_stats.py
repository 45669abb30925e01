"""The report's statistics over seeds, and the papers' orderings tested against them.

:func:`summarize` turns the report's cells (one per dataset, variant and seed) into one
row per dataset and variant: the mean and the sample standard deviation over the seeds of
every accuracy, and the budget (epochs of all stages, images seen, training seconds).

:func:`orderings` tests each ranking the papers claim. For "A > B" the margin is
\\(\\bar a - \\bar b\\) and the noise \\(s = \\sqrt{s_a^2 + s_b^2}\\) (the standard deviation of
the difference of two independent seeds' results): it **holds** when the margin exceeds
\\(s\\), and otherwise **does not hold** beyond one standard deviation (``reversed`` when
B is ahead by more than \\(s\\)). "A close to B" holds when \\(|\\bar a - \\bar b| \\le s\\).
With one seed there is no spread to test against, and the verdict says so.
"""

from __future__ import annotations

import math
import statistics

__all__ = ["ORDERINGS", "compare", "mean_std", "orderings", "summarize"]

#: Cell fields averaged over seeds.
AVERAGED = (
    "keras_accuracy",
    "tflite_accuracy",
    "agreement",
    "train_seconds",
    "float_accuracy",
    "binarized_accuracy",
    "bwn_binarized_accuracy",
    "flipped_bits",
    "flipped_fraction",
    "tflite_bytes",
)
#: Cell fields that are the same for every seed (taken from the first).
CONSTANT = (
    "note",
    "method",
    "options",
    "role",
    "title",
    "reference",
    "target",
    "recipe",
    "epochs",
    "stage_epochs",
    "images_seen",
    "train_images",
    "test_images",
    "parameters",
    "float_tflite_bytes",
    "binary_fraction",
    "binary_weights",
    "predicted_speedup",
    "latency_ms",
    "speedup_vs_float",
    "latency_runtime",
)


def mean_std(values) -> dict | None:
    """``{"mean", "std", "n", "values"}`` (sample std, 0 for one value); None if empty."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": std, "n": len(values), "values": values}


def summarize(results: list[dict]) -> list[dict]:
    """One row per (dataset, label), in the order the cells came, with mean/std fields."""
    rows: dict = {}
    for cell in results:
        rows.setdefault((cell["dataset"], cell["label"]), []).append(cell)
    summary = []
    for (dataset, label), cells in rows.items():
        cells = sorted(cells, key=lambda c: c["seed"])
        row = {"dataset": dataset, "label": label, "seeds": [c["seed"] for c in cells]}
        row.update({key: cells[0].get(key) for key in CONSTANT})
        row.update({key: mean_std(c.get(key) for c in cells) for key in AVERAGED})
        layers = dict.fromkeys(k for c in cells for k in c.get("layer_relative_error") or {})
        if layers:  # data-driven rows: each binarized layer's relative output error
            row["layer_relative_error"] = {
                layer: mean_std((c.get("layer_relative_error") or {}).get(layer) for c in cells)
                for layer in layers
            }
        summary.append(row)
    return summary


def _stat(summary, dataset, label, key):
    row = next((r for r in summary if r["dataset"] == dataset and r["label"] == label), None)
    return (row or {}).get(key)


def compare(a: dict | None, b: dict | None, kind: str = "greater") -> dict | None:
    """The verdict for "a > b" (``kind="greater"``) or "a close to b" (``"close"``)."""
    if not a or not b:
        return None
    margin = a["mean"] - b["mean"]
    noise = math.sqrt(a["std"] ** 2 + b["std"] ** 2)
    if min(a["n"], b["n"]) < 2:
        verdict = "not tested (one seed)"
    elif kind == "close":
        verdict = "holds" if abs(margin) <= noise else "does not hold"
    elif margin > noise:
        verdict = "holds"
    else:
        verdict = "does not hold (reversed)" if -margin > noise else "does not hold"
    return {
        "margin": margin,
        "noise": noise,
        "verdict": verdict,
        "a": a["mean"],
        "b": b["mean"],
        "n": min(a["n"], b["n"]),
    }


#: The papers' orderings: (id, claim, (label, field), (label, field), kind, source).
#: "Right after binarization" compares the binarizations of one float network (each
#: data-driven run also measures BWN's sign/mean|W| binarization of its float network);
#: "after fine-tuning" compares with BWN trained from scratch on the same total budget.
ORDERINGS = (
    (
        "horq>xnor",
        "HORQ-2 (beta map) > XNOR-Net",
        ("horq", "tflite_accuracy"),
        ("xnor", "tflite_accuracy"),
        "greater",
        "HORQ, ICCV 2017 (MNIST, CIFAR-10 tables)",
    ),
    (
        "horq-sample>xnor",
        "HORQ-2 (beta per sample) > XNOR-Net",
        ("horq-sample", "tflite_accuracy"),
        ("xnor", "tflite_accuracy"),
        "greater",
        "HORQ, ICCV 2017",
    ),
    (
        "bwnh>bwn@binarized",
        "BWNH > BWN, right after binarization",
        ("bwnh", "binarized_accuracy"),
        ("bwnh", "bwn_binarized_accuracy"),
        "greater",
        "BWNH, AAAI 2018",
    ),
    (
        "sbd>bwn@binarized",
        "SBD (same bit budget) > BWN, right after binarization",
        ("sbd", "binarized_accuracy"),
        ("sbd", "bwn_binarized_accuracy"),
        "greater",
        "SBD, ECCV 2018",
    ),
    (
        "sbd>bwnh@binarized",
        "SBD > BWNH at the same bit budget, right after binarization",
        ("sbd", "binarized_accuracy"),
        ("bwnh", "binarized_accuracy"),
        "greater",
        "SBD, ECCV 2018",
    ),
    (
        "bwnh>bwn@finetuned",
        "BWNH > BWN, after fine-tuning",
        ("bwnh", "tflite_accuracy"),
        ("bwn", "tflite_accuracy"),
        "greater",
        "BWNH, AAAI 2018",
    ),
    (
        "sbd>bwn@finetuned",
        "SBD (same bit budget) > BWN, after fine-tuning",
        ("sbd", "tflite_accuracy"),
        ("bwn", "tflite_accuracy"),
        "greater",
        "SBD, ECCV 2018",
    ),
    (
        "sbd>bwnh@finetuned",
        "SBD > BWNH at the same bit budget, after fine-tuning",
        ("sbd", "tflite_accuracy"),
        ("bwnh", "tflite_accuracy"),
        "greater",
        "SBD, ECCV 2018",
    ),
    (
        "bireal>xnor",
        "Bi-Real > XNOR-Net",
        ("bireal", "tflite_accuracy"),
        ("xnor", "tflite_accuracy"),
        "greater",
        "Bi-Real, ECCV 2018",
    ),
    (
        "bwn~float",
        "BWN close to float",
        ("bwn", "tflite_accuracy"),
        ("float", "tflite_accuracy"),
        "close",
        "XNOR-Net, ECCV 2016 (AlexNet: 56.8 vs 56.6)",
    ),
)


def orderings(summary: list[dict]) -> list[dict]:
    """Every ordering of :data:`ORDERINGS` on every dataset of ``summary``."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in summary):
        for key, claim, (la, fa), (lb, fb), kind, source in ORDERINGS:
            verdict = compare(
                _stat(summary, dataset, la, fa), _stat(summary, dataset, lb, fb), kind
            )
            if verdict is not None:
                out.append(
                    {
                        "dataset": dataset,
                        "id": key,
                        "claim": claim,
                        "source": source,
                        "a": f"{la}.{fa}",
                        "b": f"{lb}.{fb}",
                        "kind": kind,
                        **verdict,
                    }
                )
    return out
