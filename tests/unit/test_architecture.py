"""The layering import-linter cannot say: no import cycles at all, and the composition
root imported only by the entry points.

Every import counts, wherever it sits: at the top, inside a function, or under
``TYPE_CHECKING`` (a cycle hidden in a function is still a cycle an import sorter can
break by moving it). The contracts in pyproject.toml (``lint-imports``) enforce the layers
and keep SQL in the store.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "warta"
#: Who may build the program: the API's app (its lifespan), and the CLI's runners.
ENTRY_POINTS = {"warta.api.app", "warta.cli.common", "warta.cli.server"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in PACKAGE.rglob("*.py")
    if "migrations" not in path.parts  # Alembic loads these by path, not by import
}


def _imports(name: str) -> Iterator[str]:
    """The warta modules ``name`` imports, resolved to modules that exist."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            # ``from warta.services import citizens`` imports the module warta.services.citizens
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("warta") and target != name:
                yield target


GRAPH = {name: set(_imports(name)) for name in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    assert _cycles(GRAPH) == []


def test_only_entry_points_import_the_composition_root() -> None:
    importers = {name for name, imported in GRAPH.items() if "warta.bootstrap" in imported}
    assert importers == ENTRY_POINTS


def test_the_graph_sees_imports_inside_functions_and_type_checking() -> None:
    # bootstrap loads the SMPP channel inside a function (smpp34 starts a runtime when
    # loaded); the graph must still see it, or a cycle could hide there.
    assert "warta.channels.sms_smpp" in GRAPH["warta.bootstrap"]
    assert "warta.devpeers.running" in GRAPH["warta.deps"]  # under TYPE_CHECKING
