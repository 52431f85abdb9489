"""The package's layers, read from its import statements: no circle, nothing upward.

Every ``import`` of a dcmreport module counts, at the top of a file or inside a
function or ``if TYPE_CHECKING:``: an import deferred into a function is still
an edge, and a circle kept alive only by deferring one is what this forbids.
A failure names the edge (``dcmreport.a -> dcmreport.b``, file and line).

The layers, lowest first (a package may import its own modules and those
of the layers its row lists):

* ``base``: ``dcmreport`` itself, ``errors``, ``frozen``, ``speedups``;
* ``dicom``: DICOM data, no network;
* ``output``: rendering, and the JSON form of every record;
* ``association``: the only package that touches pynetdicom;
* ``listen``: what ``listen`` does with a report;
* ``cli``: the command line (and ``python -m dcmreport``), over everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "dcmreport"
BASE = {"dcmreport", "dcmreport.errors", "dcmreport.frozen", "dcmreport.speedups"}
ALLOWED = {
    "base": {"base"},
    "dicom": {"base", "dicom"},
    "output": {"base", "dicom", "output"},
    "association": {"base", "dicom", "association"},
    "listen": {"base", "dicom", "output", "listen"},
    "cli": {"base", "dicom", "output", "association", "listen", "cli"},
}

Edge = tuple[str, str, str]  # importer, imported, where (file:line)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(known: dict[str, Path]) -> list[Edge]:
    """Every import of one dcmreport module by another, wherever it is in the file."""
    edges = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, package, known):
                if target != name:
                    edges.append(
                        (name, target, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
                    )
    return edges


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> Iterable[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the importer's package
        base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
        base = base.strip(".")
    if base not in known:
        return []
    # ``from dcmreport.dicom import catalog`` imports the module catalog, not the package.
    found = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
    return found or [base]


def layer(module: str) -> str:
    if module in BASE:
        return "base"
    if module == "dcmreport.__main__":  # ``python -m dcmreport``: the command line
        return "cli"
    return module.split(".")[1]


def upward(edges: list[Edge]) -> list[str]:
    """Edges from a layer to one it may not import."""
    return [
        f"{a} -> {b} ({where}): {layer(a)} may import only {', '.join(sorted(ALLOWED[layer(a)]))}"
        for a, b, where in edges
        if layer(b) not in ALLOWED[layer(a)]
    ]


def circles(edges: list[Edge]) -> list[str]:
    """Each circle of imports, as the edges that make it (Tarjan's strongly connected parts)."""
    graph: dict[str, list[tuple[str, str]]] = {}
    for a, b, where in edges:
        graph.setdefault(a, []).append((b, where))
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _ in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                parts.append(part)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [
        "circle: "
        + "; ".join(
            f"{a} -> {b} ({where})" for a in sorted(part) for b, where in graph[a] if b in part
        )
        for part in parts
    ]


def test_the_package_has_no_import_circle_and_no_upward_import() -> None:
    known = modules()
    edges = imports(known)
    assert len(edges) > 100  # the reader sees the package's imports
    problems = circles(edges) + upward(edges)
    assert problems == [], "\n".join(problems)


def test_every_module_is_in_a_layer() -> None:
    assert {layer(m) for m in modules()} <= set(ALLOWED)


def test_a_planted_circle_and_a_planted_upward_import_are_named() -> None:
    """The checks themselves, on edges planted beside the package's own."""
    edges = imports(modules())
    planted = [
        ("dcmreport.association.requestor", "dcmreport.association.commit_scu", "planted:1"),
        ("dcmreport.dicom.catalog", "dcmreport.cli.app", "planted:2"),
    ]
    problems = circles(edges + planted) + upward(edges + planted)
    assert any(
        p.startswith("circle: ")
        and "dcmreport.association.requestor -> dcmreport.association.commit_scu (planted:1)" in p
        for p in problems
    ), problems
    assert any(
        p.startswith("dcmreport.dicom.catalog -> dcmreport.cli.app (planted:2)") for p in problems
    )
