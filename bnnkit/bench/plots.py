"""The report's PNG plots: accuracy (mean over seeds, with the std as an error bar) against
model size, and against host latency."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["plot_report"]


def plot_report(data: dict, out_dir: str | os.PathLike) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    label = data["machine"]["label"]
    budget = data["budget"]
    written = []
    for xlabel, filename, getter in (
        (
            ".tflite size (KB, log scale)",
            "accuracy_vs_size.png",
            lambda r: r["tflite_bytes"]["mean"] / 1024,
        ),
        (
            f"latency per image, ms (log scale; {label}, 1 thread)",
            "accuracy_vs_latency.png",
            lambda r: (r.get("latency_ms") or {}).get("median"),
        ),
    ):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for marker, dataset in zip(
            "os^", dict.fromkeys(r["dataset"] for r in data["summary"]), strict=False
        ):
            rows = [r for r in data["summary"] if r["dataset"] == dataset and getter(r)]
            ax.errorbar(
                [getter(r) or 0.0 for r in rows],
                [100 * r["tflite_accuracy"]["mean"] for r in rows],
                yerr=[100 * r["tflite_accuracy"]["std"] for r in rows],
                fmt=marker,
                capsize=2,
                label=dataset,
            )
            for r in rows:
                ax.annotate(
                    r["label"],
                    (getter(r), 100 * r["tflite_accuracy"]["mean"]),
                    fontsize=8,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("TFLite test accuracy (%)")
        ax.set_title(
            f"LeNet, {budget['epochs']} epoch(s), train images: "
            f"{budget['train_limit'] or 'all'}, seeds {budget.get('seeds')}\n"
            f"measured on {label}",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / filename, dpi=110)
        plt.close(fig)
        written.append(filename)
    return written
