"""No import cycle anywhere in ``iii_core``, module by module (the import-linter contracts in
``pyproject.toml`` check packages; this checks every module), and no private OpenTelemetry
name imported by the library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parent.parent / "src" / "iii_core"

# OpenTelemetry's logs signal lives only in these underscore-named modules (the logs API and
# SDK and their OTLP encoder/exporter are published there while the signal is in development):
# the public way to reach it, not a private name.
OTEL_LOGS_MODULES = frozenset({"_logs", "_log_exporter", "_log_encoder"})


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & graph.modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recursed = False
            for next_position in range(position, len(edges[node])):
                child = edges[node][next_position]
                if child not in index:
                    work.append((node, next_position + 1))
                    work.append((child, 0))
                    recursed = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if recursed:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_import_cycle_in_iii_core() -> None:
    graph = grimp.build_graph("iii_core", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    package = tmp_path / "cyclepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclepkg import b\n")
    (package / "b.py").write_text("def f():\n    from cyclepkg import c\n")
    (package / "c.py").write_text("import cyclepkg.a\n")
    (package / "d.py").write_text("import cyclepkg.a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("cyclepkg", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(graph) == [["cyclepkg.a", "cyclepkg.b", "cyclepkg.c"]]


def _private_otel_imports(source: str) -> list[str]:
    """Underscore names taken from OpenTelemetry: in an import, or as an attribute of a name
    an import bound (``metrics._Gauge``)."""
    tree = ast.parse(source)
    found: list[str] = []
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("opentelemetry"):
            module = node.module or ""
            for part in module.split("."):
                if part.startswith("_") and part not in OTEL_LOGS_MODULES:
                    found.append(f"{module}: {part}")
            for alias in node.names:
                bound.add(alias.asname or alias.name)
                if alias.name.startswith("_") and alias.name not in OTEL_LOGS_MODULES:
                    found.append(f"{module}: {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.name.startswith("opentelemetry"):
                    continue
                bound.add(alias.asname or alias.name.partition(".")[0])
                for part in alias.name.split("."):
                    if part.startswith("_") and part not in OTEL_LOGS_MODULES:
                        found.append(f"{alias.name}: {part}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and node.attr.startswith("_")
            and node.attr not in OTEL_LOGS_MODULES
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_private_opentelemetry_name_is_imported() -> None:
    offenders = {
        str(path.relative_to(SRC)): found
        for path in SRC.rglob("*.py")
        if (found := _private_otel_imports(path.read_text()))
    }
    assert offenders == {}


def test_private_opentelemetry_names_are_noticed() -> None:
    assert _private_otel_imports("from opentelemetry.metrics import _Gauge") == [
        "opentelemetry.metrics: _Gauge"
    ]
    assert _private_otel_imports("from opentelemetry.sdk.metrics._internal import x") != []
    assert _private_otel_imports("import opentelemetry.trace._x") != []
    assert _private_otel_imports("from opentelemetry import metrics\nmetrics._Gauge") == [
        "metrics._Gauge"
    ]
    assert _private_otel_imports("import socket\nsocket._GLOBAL_DEFAULT_TIMEOUT") == []
    assert _private_otel_imports("from opentelemetry import _logs, trace") == []
    assert _private_otel_imports("from opentelemetry.sdk._logs import LoggerProvider") == []
