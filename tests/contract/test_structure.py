"""The code's structure as a contract: no import circles, one owner per concept, one reset of layer state.

These tests read the source (``ast``), so they fail on the change that breaks a rule, not later on a
behaviour that happens to depend on it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
PACKAGE = LAYER / "comprehend_al"
SOURCES = (PACKAGE, ROOT / "functions", ROOT / "local")
MAX_MODULE_LINES = 300
LONG_MODULE_REASON = "Why this module is long:"


def module_name(path: Path) -> str:
    base = LAYER if path.is_relative_to(LAYER) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files() -> Iterator[Path]:
    for source in SOURCES:
        yield from (p for p in sorted(source.rglob("*.py")) if "__pycache__" not in p.parts)


def string_constants(tree: ast.AST) -> Iterator[ast.Constant]:
    """Every string literal except docstrings."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


MODULES = {module_name(p): p for p in project_files()}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def imports_of(name: str) -> set[str]:
    """The project modules ``name`` imports (at the top or inside functions)."""
    found: set[str] = set()
    is_package = MODULES[name].name == "__init__.py"
    for node in ast.walk(TREES[name]):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` imports the module; ``from module import name`` the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph = {name: imports_of(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def test_the_import_graph_of_the_project_has_no_cycle() -> None:
    """Given every module of the layer, the functions and the offline stack
    When their imports (top-level and lazy) are followed
    Then no module reaches itself again."""
    assert cycles() == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: two modules importing each other are reported."""
    fake = {"a": Path("a.py"), "b": Path("b.py")}
    monkeypatch.setattr(__import__(__name__), "MODULES", fake, raising=False)
    monkeypatch.setitem(globals(), "MODULES", fake)
    monkeypatch.setitem(globals(), "TREES", {"a": ast.parse("import b"), "b": ast.parse("from a import x")})
    assert cycles() == [["a", "b"]]


@pytest.mark.parametrize("spelling", ["active-endpoint-arn", "active-model-arn"])
def test_the_active_pointer_keys_are_spelt_in_one_module(spelling: str) -> None:
    """The SSM keys of the active model are written in code only by ``comprehend_al.pointers``."""
    owners = {
        name for name, tree in TREES.items() for node in string_constants(tree) if spelling in node.value
    }
    assert owners == {"comprehend_al.pointers"}


@pytest.mark.parametrize(
    "variable",
    [
        "REGISTRY_TABLE",
        "PREDICTIONS_TABLE",
        "LABEL_BUFFER_TABLE",
        "ANALYSIS_RESULTS_TABLE",
        "DATA_BUCKET",
        "PARAMETER_PREFIX",
    ],
)
def test_table_names_and_settings_are_read_in_one_module(variable: str) -> None:
    """Every environment variable of the functions is read by ``comprehend_al.settings`` alone."""
    readers = {
        name
        for name, tree in TREES.items()
        if name.startswith(("comprehend_al", "functions"))
        for node in string_constants(tree)
        if node.value == variable
    }
    assert readers == {"comprehend_al.settings"}


def test_only_settings_reads_the_environment_in_deployed_code() -> None:
    readers = {
        name
        for name, tree in TREES.items()
        if name.startswith(("comprehend_al", "functions"))
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "environ"
    }
    assert readers == {"comprehend_al.settings"}


def test_layer_state_is_cached_and_reset_in_one_module() -> None:
    """``lru_cache`` and ``cache_clear`` live in ``comprehend_al.wiring``; everything else calls ``reset``."""
    users = {
        name
        for name, tree in TREES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute)
        and (getattr(node, "id", None) or getattr(node, "attr", None)) in {"lru_cache", "cache_clear"}
        and not name.startswith("local.comprehend")  # the local service's own caches, not the layer's
    }
    assert users == {"comprehend_al.wiring"}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("comprehend_al")))
def test_layer_modules_are_short_or_say_why_not(name: str) -> None:
    source = MODULES[name].read_text()
    lines = source.count("\n")
    docstring = ast.get_docstring(TREES[name]) or ""
    assert lines <= MAX_MODULE_LINES or LONG_MODULE_REASON in docstring, f"{name}: {lines} lines"
