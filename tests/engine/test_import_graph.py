"""The packages of `featherbox` import each other without cycles, never through another package's
private names, and the engine steps never import the source kits (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import featherbox

ROOT = Path(featherbox.__file__).parent
ENGINE = ("config", "graph", "plan", "execute", "state")
SOURCE_KITS = ("file_sources", "database_sources")


def _unit(module: str) -> str:
    """featherbox.execute.lake -> featherbox.execute (a package, or a top-level module)."""
    return ".".join(module.split(".")[:2])


def _runtime_imports(tree: ast.AST):
    """Every `featherbox...` import, with the names it takes, outside `if TYPE_CHECKING:` blocks."""
    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from (i for stmt in child.orelse for i in walk_stmt(stmt))
                continue
            yield from walk_stmt(child)

    def walk_stmt(node):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "featherbox":
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "featherbox":
                    yield alias.name, []
        yield from walk(node)

    yield from walk(tree)


def import_graph(root: Path = ROOT) -> tuple[dict[str, dict[str, str]], list[str]]:
    """(package -> imported package -> a file that imports it, cross-package imports of private names)."""
    edges: dict[str, dict[str, str]] = defaultdict(dict)
    private = []
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        source = _unit(module)
        for imported, names in _runtime_imports(ast.parse(file.read_text(encoding="utf-8"))):
            target = _unit(imported)
            if target == source or target == "featherbox":
                if target == "featherbox" and source != "featherbox":  # `from featherbox import clock`
                    for name in names:
                        if (ROOT / f"{name}.py").exists() or (ROOT / name).is_dir():
                            edges[source].setdefault(f"featherbox.{name}", str(relative))
                continue
            edges[source].setdefault(target, str(relative))
            private += [f"{relative}: from {imported} import {n}" for n in names if n.startswith("_") and not n.startswith("__")]
    return edges, private


def cycles(edges: dict[str, dict[str, str]]) -> list[list[str]]:
    import networkx as nx

    graph = nx.DiGraph([(a, b) for a, targets in edges.items() for b in targets])
    return [sorted(c) for c in nx.simple_cycles(graph)]


def test_packages_import_each_other_without_cycles():
    edges, _ = import_graph()
    found = cycles(edges)
    described = [" -> ".join(c) + "  (" + ", ".join(edges[a][b] for a, b in zip(c, c[1:] + c[:1]) if b in edges[a]) + ")" for c in found]
    assert not found, "import cycles between featherbox packages:\n" + "\n".join(described)


def test_no_package_imports_another_packages_private_names():
    _, private = import_graph()
    assert not private, "\n".join(private)


def test_the_engine_never_imports_the_source_kits():
    edges, _ = import_graph()
    wrong = [
        f"featherbox.{step} imports featherbox.{kit} ({edges[f'featherbox.{step}'][f'featherbox.{kit}']})"
        for step in ENGINE for kit in SOURCE_KITS if f"featherbox.{kit}" in edges.get(f"featherbox.{step}", {})
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_cycle_and_a_private_import(tmp_path):
    """The checks above can fail: a throw-away package with both faults."""
    pkg = tmp_path / "featherbox"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("from featherbox.b import _helper\n")
    (pkg / "b" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from featherbox.c import C\nimport featherbox.a\n"
    )
    (pkg / "c.py").write_text("from featherbox.a import x\n")
    edges, private = import_graph(pkg)
    assert cycles(edges) == [["featherbox.a", "featherbox.b"]]
    assert private == ["featherbox/a/__init__: from featherbox.b import _helper"]
