"""The layering rules of docs/architecture.md, checked from the imports in the source.

1. No import circle between the modules of ``bnnkit`` and ``converters``.
2. No module of ``bnnkit`` below the top layer (``bnnkit.cli``, ``bnnkit.bench``) imports
   ``converters`` or the top layer; ``bnnkit.bench`` does not import ``bnnkit.cli``.
3. ``converters`` imports only public ``bnnkit`` names (no ``_private`` module or name) and
   never the top layer; the top layer too uses only public names of the layers below.

Every import counts, also the ones inside functions: a lazy import is still a dependency.
Imports under ``if TYPE_CHECKING:`` do not run and are skipped.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bnnkit", "converters")
TOP = ("bnnkit.cli", "bnnkit.bench")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or the package, for a name defined in its __init__)
    names: tuple[str, ...]  # names taken from it (``from target import a, b``)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST):
    """Every node, except what sits under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def collect_imports(root: Path, packages=PACKAGES) -> tuple[set[str], list[Import]]:
    """The modules of ``packages`` under ``root`` and every import they make of one another."""
    files = {module_name(p, root): p for package in packages for p in (root / package).rglob("*.py")}
    modules = set(files)
    imports = []
    for source, path in sorted(files.items()):
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = tuple(alias.name for alias in node.names)
                # ``from pkg import submodule`` imports the submodule itself
                found = [(f"{base}.{n}", ()) for n in names if f"{base}.{n}" in modules]
                rest = tuple(n for n in names if f"{base}.{n}" not in modules)
                if rest or not found:
                    found.append((base, rest))
            else:
                continue
            for target, taken in found:
                if target.split(".")[0] in packages:
                    imports.append(Import(source, target, taken, node.lineno))
    return modules, imports


def import_cycles(modules: set[str], imports: list[Import]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module, or a
    module importing itself), each sorted."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for item in imports:
        target = item.target
        while target not in modules and "." in target:
            target = target.rpartition(".")[0]
        if target in modules:
            graph[item.source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _private(item: Import) -> list[str]:
    return [p for p in item.target.split(".") if p.startswith("_")] + [
        n for n in item.names if n.startswith("_")
    ]


def layer_violations(imports: list[Import]) -> list[str]:
    """Imports that break rules 2 and 3."""
    found = []
    for item in imports:
        where = f"{item.source}:{item.line} imports {item.target}"
        lower = _within(item.target, PACKAGES) and not _within(item.target, TOP)
        if _within(item.source, TOP) and lower and _private(item):
            found.append(f"{where}: private name(s) of a lower layer {', '.join(_private(item))}")
        if item.source.startswith("bnnkit") and not _within(item.source, TOP):
            if _within(item.target, ("converters", *TOP)):
                found.append(f"{where}: the training side imports the deployment or top layer")
        if _within(item.source, ("bnnkit.bench",)) and _within(item.target, ("bnnkit.cli",)):
            found.append(f"{where}: the benchmarks import the CLI")
        if _within(item.source, ("converters",)) and _within(item.target, ("bnnkit",)):
            if _private(item):
                found.append(f"{where}: private bnnkit name(s) {', '.join(_private(item))}")
            if _within(item.target, TOP):
                found.append(f"{where}: converters imports the top layer")
    return found


@pytest.fixture(scope="module")
def project():
    return collect_imports(ROOT)


def test_no_import_circle_in_bnnkit_or_converters(project):
    assert import_cycles(*project) == []


def test_layers_import_only_downward_and_converters_only_public_bnnkit(project):
    assert layer_violations(project[1]) == []


def test_the_scan_sees_lazy_imports_and_the_top_layer(project):
    """The rules are checked on real edges: the CLI imports converters inside functions."""
    modules, imports = project
    assert {"bnnkit.cli.main", "converters.convert", "bnnkit.bench.report"} <= modules
    assert any(i.source.startswith("bnnkit.cli") and i.target.startswith("converters")
               for i in imports)
    assert any(i.source == "converters.rewrites" and i.target == "bnnkit.graph" for i in imports)


def _fake_project(tmp_path: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        path = tmp_path / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_circle_through_a_lazy_import_is_found(tmp_path):
    root = _fake_project(tmp_path, {
        "bnnkit.__init__": "",
        "bnnkit.a": "from bnnkit import b\n",
        "bnnkit.b": "def f():\n    import bnnkit.a\n",
        "bnnkit.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bnnkit.a\n",
        "converters.__init__": "",
    })
    assert import_cycles(*collect_imports(root)) == [["bnnkit.a", "bnnkit.b"]]


def test_upward_and_private_imports_are_found(tmp_path):
    root = _fake_project(tmp_path, {
        "bnnkit.__init__": "",
        "bnnkit._graph": "def rebuild(): pass\n",
        "bnnkit.training": "def f():\n    import converters\n",
        "bnnkit.cli.__init__": "",
        "bnnkit.bench.__init__": "from bnnkit.cli import main\n",
        "bnnkit.cli.main": "import converters\n",
        "converters.__init__": "",
        "converters.rewrites": "from bnnkit._graph import rebuild\nfrom bnnkit import _x\n",
        "converters.report": "import bnnkit.bench\n",
        "bnnkit.cli.convert": "from converters._trial import load\n",
    })
    found = layer_violations(collect_imports(root)[1])
    assert len(found) == 6, found
    assert any("bnnkit.cli.convert" in f and "lower layer" in f for f in found)
    assert any("bnnkit.training" in f and "training side" in f for f in found)
    assert any("bnnkit.bench:1 imports bnnkit.cli.main" in f for f in found)
    assert sum("private bnnkit" in f for f in found) == 2
    assert any("converters.report" in f and "top layer" in f for f in found)
