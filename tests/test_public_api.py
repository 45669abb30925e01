"""The public surface of bnnkit and converters: every public module says what it exports in
``__all__``, and every name it exports exists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def public_modules(root: Path = ROOT) -> dict[str, Path]:
    """``{module name: path}`` of every module with no ``_private`` part in its name."""
    found = {}
    for package in ("bnnkit", "converters"):
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if any(p.startswith("_") and p != "__init__" for p in parts):
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def declared_all(path: Path) -> list[str] | None:
    """The names in a module-level ``__all__`` (``[]`` when it is computed), or None when
    there is none."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            try:
                return list(ast.literal_eval(node.value))
            except ValueError:  # e.g. sorted(_EXPORTS): its names are checked on import
                return []
    return None


def test_every_public_module_declares_all():
    missing = [name for name, path in public_modules().items() if declared_all(path) is None]
    assert missing == []


@pytest.mark.parametrize("module", sorted(public_modules()))
def test_every_exported_name_exists(module):
    imported = importlib.import_module(module)
    absent = [name for name in imported.__all__ if not hasattr(imported, name)]
    assert absent == []


def test_a_module_without_all_is_found(tmp_path):
    (tmp_path / "bnnkit").mkdir()
    (tmp_path / "converters").mkdir()
    (tmp_path / "bnnkit" / "open.py").write_text("def f():\n    pass\n")
    (tmp_path / "bnnkit" / "_hidden.py").write_text("def g():\n    pass\n")
    (tmp_path / "converters" / "listed.py").write_text('__all__ = ["h"]\n\n\ndef h():\n    pass\n')
    modules = public_modules(tmp_path)
    assert sorted(modules) == ["bnnkit.open", "converters.listed"]
    assert declared_all(modules["bnnkit.open"]) is None
    assert declared_all(modules["converters.listed"]) == ["h"]
