"""Write the larq-zoo section of docs/converters.md from the committed measurements.

    python tools/zoo_doc.py          # rewrites the block between <!-- zoo:begin/end -->

Inputs: ``results/zoo.json`` (written by ``BNNKIT_ZOO_TABLE=results/zoo.json pytest -m slow
tests/converters/test_zoo.py``) and ``results/zoo_explain.json`` (``tools/zoo_evidence.py``).
``tests/converters/test_zoo_doc.py`` checks that the doc and these files agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "converters.md"
TABLE = ROOT / "results" / "zoo.json"
EVIDENCE = ROOT / "results" / "zoo_explain.json"
BLOCK = re.compile(r"<!-- zoo:begin -->\n.*?<!-- zoo:end -->", re.S)


def _minutes(row: dict) -> str:
    return f"{row['seconds'] / 60:.0f} min"


def _cell(row: dict | None) -> str:
    if row is None:
        return "not measured (no row in `results/zoo.json`)"
    for outcome in ("refused", "failed"):
        if outcome in row:
            code = f", exit {row['exit_code']}" if "exit_code" in row else ""
            label = outcome if outcome == "refused" else "FAILED"
            return f"{label}{code} ({_minutes(row)}): {row[outcome]}"
    tie = row.get("tie_check") or {}
    verdict = "passed" if row["passed"] else "FAILED"
    if row["criterion"] == "elementwise_tie_aware":
        ties = tie["sign_ties"]
        verdict += (
            f" by the layer check (each of {tie['layers_compared']} cuts agrees with "
            f"Keras on its own inputs; {ties['sign_flips']:,} pre-sign values change "
            f"sign along the chain, {ties['tie_flips']:,} of them within the tolerance "
            f"of 0)"
        )
    elif row["criterion"] == "elementwise":
        verdict += f" ({row['fraction_beyond_tolerance']:.2%} of outputs beyond tolerance)"
    return (
        f"{row['size_mb']:.2f} MB, {row['lce_bconv2d']} `LceBconv2d`, "
        f"{row['binary_fraction']:.1%} binary MACs, top-1 vs original "
        f"{row['original_model_top1_agreement']:.1%}; {verdict}; {_minutes(row)}"
    )


def render_table(table: dict) -> list[str]:
    lines = [
        "| model | CLI (`.h5` saved by the user) | Python API (`converters.convert_model`) |",
        "|---|---|---|",
    ]
    for name, rows in table.items():
        lines.append(f"| {name} | {_cell(rows.get('cli'))} | {_cell(rows.get('api'))} |")
    return lines


def render_evidence(evidence: dict) -> list[str]:
    lines = []
    for name, result in evidence.items():
        divergence = result["explain"]["first_divergence"]
        flips = result["flips"]
        lines.append(
            f"- **{name}**: first divergence at `{divergence['layer']}` "
            f"({divergence['class']} -> `{divergence['op']}`), "
            f"{divergence['chained']['fraction_beyond']:.1%} of its elements beyond "
            f"the tolerance, {divergence['local']['fraction_beyond']:.2%} on its own "
            f"inputs. At `{flips['layer']}` (the pre-sign values feeding it, "
            f"{'x'.join(map(str, flips['shape']))}): {flips['sign_flips']:,} sign flips, "
            f"{flips['flips_where_keras_is_exactly_0']:,} where Keras is exactly 0 and "
            f"{flips['flips_where_tflite_is_exactly_0']:,} where the `.tflite` is "
            f"exactly 0; {flips['flips_on_border_pixels']:,} on border pixels; largest "
            f"|value| at a flip: Keras {flips['max_abs_keras_at_flips']:.1e}, "
            f"`.tflite` {flips['max_abs_tflite_at_flips']:.1e}."
        )
    return lines


def render(table: dict | None, evidence: dict) -> str:
    lines = ["<!-- zoo:begin -->"]
    if table:
        lines += [
            "Measured by the slow test (`results/zoo.json`; random init, seed 0, no "
            "dataset, so 64 random images and the elementwise criterion, then the tie "
            "check on 8 of them; minutes on a shared 2-core machine under load):",
            "",
        ]
        lines += render_table(table) + [""]
    lines += [
        (
            "Why XNORNet and BinaryAlexNet differ from their `.tflite` on random images "
            "(`tools/zoo_evidence.py`, `results/zoo_explain.json`, 4 random images):"
        ),
        "",
    ]
    lines += render_evidence(evidence)
    lines.append("<!-- zoo:end -->")
    return "\n".join(lines)


def load() -> tuple[dict | None, dict]:
    """The committed table (None until the slow test has written it) and evidence."""
    table = json.loads(TABLE.read_text()) if TABLE.is_file() else None
    return table, json.loads(EVIDENCE.read_text())


def main() -> None:
    table, evidence = load()
    text = DOC.read_text()
    DOC.write_text(BLOCK.sub(lambda _: render(table, evidence), text))


if __name__ == "__main__":
    main()
