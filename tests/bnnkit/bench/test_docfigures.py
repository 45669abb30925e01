"""Every measured figure in docs/*.md is what its committed JSON under results/ renders."""

from __future__ import annotations

import pytest

from bnnkit.bench import docfigures

DOC_BLOCKS = [(doc.name, *block) for doc in sorted(docfigures.DOCS.glob("*.md"))
              for block in docfigures.blocks(doc.read_text())]


@pytest.mark.parametrize("doc,name,result,body", DOC_BLOCKS,
                         ids=[f"{doc}:{name}" for doc, name, *_ in DOC_BLOCKS])
def test_each_figure_in_the_docs_equals_its_json_rendered(doc, name, result, body):
    assert name in docfigures.FIGURES, f"{doc}: unknown figure {name!r}"
    assert result == docfigures.FIGURES[name].result, f"{doc}: {name} names the wrong JSON"
    assert body == docfigures.render(name), (
        f"{doc}: figure {name} differs from results/{result}; run "
        "python -m bnnkit.bench.docfigures")


def test_every_figure_is_shown_in_a_doc():
    shown = {name for _, name, _, _ in DOC_BLOCKS}
    assert set(docfigures.FIGURES) <= shown


def test_a_stale_block_is_rewritten_from_its_json(tmp_path):
    doc = tmp_path / "x.md"
    marker = ("<!-- figure kernel-options (from results/bench.json; "
              "python -m bnnkit.bench.docfigures) -->")
    doc.write_text(f"before\n{marker}\nold numbers\n<!-- end of figure kernel-options -->\nafter\n")
    assert docfigures.update_docs(tmp_path) == [doc]
    assert docfigures.blocks(doc.read_text()) == [
        ("kernel-options", "bench.json", docfigures.render("kernel-options"))]
    assert doc.read_text().startswith("before\n") and doc.read_text().endswith("\nafter\n")
    assert docfigures.update_docs(tmp_path) == []
