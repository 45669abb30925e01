"""The larq-zoo section of docs/converters.md is generated from the committed measurements."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("zoo_doc", REPO_ROOT / "tools" / "zoo_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_zoo_section_of_the_doc_matches_the_committed_results():
    tool = _tool()
    table, evidence = tool.load()
    block = tool.BLOCK.search(tool.DOC.read_text())
    assert block is not None, "docs/converters.md has no <!-- zoo:begin/end --> block"
    assert block.group(0) == tool.render(table, evidence)


def test_zoo_evidence_shows_sign_ties_for_xnornet_and_binary_alexnet():
    _, evidence = _tool().load()
    for name in ("XNORNet", "BinaryAlexNet"):
        divergence = evidence[name]["explain"]["first_divergence"]
        assert divergence["verdict"].startswith("sign ties")
        assert divergence["local"]["fraction_beyond"] == 0.0
    xnor, alex = evidence["XNORNet"]["flips"], evidence["BinaryAlexNet"]["flips"]
    assert xnor["keras_exact_zeros"] == 0 and xnor["flips_where_tflite_is_exactly_0"] > 0
    assert alex["flips_on_border_pixels"] == alex["sign_flips"] > 0
    assert alex["flips_where_keras_is_exactly_0"] == alex["sign_flips"]
