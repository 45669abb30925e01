"""The measured figures in docs/*.md, each rendered from a JSON file committed under results/.

A figure is a block of a doc between two markers::

    <!-- figure NAME (from results/FILE.json; python -m bnnkit.bench.docfigures) -->
    ...generated text...
    <!-- end of figure NAME -->

Each name in :data:`FIGURES` has the JSON file it is rendered from (written by the script
that measured it, e.g. ``python -m bnnkit.bench.bitflips``) and its render function.
``python -m bnnkit.bench.docfigures`` rewrites every block from its JSON;
``tests/bnnkit/bench/test_docfigures.py`` checks that every block equals what its JSON renders
and that every figure appears in a doc, so no measured number in the docs is typed by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
RESULTS = REPO_ROOT / "results"

__all__ = ["FIGURES", "Figure", "blocks", "render", "update_docs"]


@dataclass(frozen=True)
class Figure:
    """A figure: the JSON under results/ it comes from and the function rendering it."""

    result: str
    render: Callable[[dict], str]


def _kernel_options(bench: dict) -> str:
    """The LCE kernel options of the MNIST BNN, from ``bnnkit bench`` (results/bench.json)."""
    latency = bench["latency"]
    default = latency["bnn/lce/default/t1"]["ms"]["median"]
    indirect = latency["bnn/lce/indirect_bgemm/t1"]["ms"]["median"]
    rounds = bench["settings"]["rounds"]
    return (
        f"measured by `bnnkit bench` (results/bench.json, {bench['machine']['label']}, 1 "
        f"thread, median of {rounds} interleaved rounds): {default:.2f} ms/image with the "
        f"default kernels, {indirect:.2f} ms/image with indirect BGEMM, "
        f"{default / indirect:.1f}x faster"
    )


def _markdown_of(module: str) -> Callable[[dict], str]:
    """``bnnkit.bench.<module>.markdown``, imported when the figure is rendered."""

    def render(result: dict) -> str:
        import importlib

        return importlib.import_module(f"bnnkit.bench.{module}").markdown(result)

    return render


FIGURES: dict[str, Figure] = {
    "bitflips": Figure("bitflips.json", _markdown_of("bitflips")),
    "kernel-options": Figure("bench.json", _kernel_options),
    "determinism": Figure("determinism.json", _markdown_of("determinism")),
    "distributed": Figure("distributed.json", _markdown_of("distributed")),
}

_BLOCK = re.compile(
    r"(?P<start><!-- figure (?P<name>[\w-]+) \(from results/(?P<file>[\w.-]+); "
    r"python -m bnnkit\.bench\.docfigures\) -->)"
    r"(?P<body>.*?)(?P<end><!-- end of figure (?P=name) -->)",
    re.S,
)


def render(name: str) -> str:
    """Figure ``name`` rendered from its committed JSON."""
    figure = FIGURES[name]
    return figure.render(json.loads((RESULTS / figure.result).read_text())).strip("\n")


def blocks(text: str) -> list[tuple[str, str, str]]:
    """``(name, JSON file named in the marker, body)`` of every figure block in ``text``."""
    return [(m["name"], m["file"], m["body"].strip("\n")) for m in _BLOCK.finditer(text)]


def update_docs(docs: Path = DOCS) -> list[Path]:
    """Rewrite every figure block of ``docs/*.md`` from its JSON; return the changed docs."""
    from bnnkit.serialization import atomic_write_text

    def rewrite(match: re.Match) -> str:
        if not (RESULTS / FIGURES[match["name"]].result).is_file():
            return match[0]  # not measured yet: left as it is (the test reports it)
        return f"{match['start']}\n{render(match['name'])}\n{match['end']}"

    changed = []
    for doc in sorted(docs.glob("*.md")):
        text = doc.read_text()
        new = _BLOCK.sub(rewrite, text)
        if new != text:
            atomic_write_text(doc, new)
            changed.append(doc)
    return changed


if __name__ == "__main__":
    for path in update_docs():
        print(f"updated {path.relative_to(REPO_ROOT)}")
