"""The report's PNG plots: accuracy against model size, and against host latency."""

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
            lambda r: r["tflite_bytes"] / 1024,
        ),
        (
            f"latency per image, ms (log scale; {label}, 1 thread)",
            "accuracy_vs_latency.png",
            lambda r: (r.get("latency_ms") or {}).get("median"),
        ),
    ):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for marker, dataset in zip(
            "os^", dict.fromkeys(r["dataset"] for r in data["results"]), strict=False
        ):
            points = [
                (value, 100 * r["tflite_accuracy"], r["method"])
                for r in data["results"]
                if r["dataset"] == dataset and (value := getter(r))
            ]
            ax.scatter(
                [x for x, _, _ in points],
                [y for _, y, _ in points],
                marker=marker,
                label=dataset,
            )
            for x, y, method in points:
                ax.annotate(
                    method,
                    (x, y),
                    fontsize=8,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("TFLite test accuracy (%)")
        ax.set_title(
            f"LeNet, {budget['epochs']} epoch(s), train images: "
            f"{budget['train_limit'] or 'all'}\nmeasured on {label}",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / filename, dpi=110)
        plt.close(fig)
        written.append(filename)
    return written
