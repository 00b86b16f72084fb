"""The shape of the tree, kept by tests rather than by good intentions.

- No module outside ``tests/`` passes 400 lines (we aim for about 300; past 400 a module has
  two jobs and should be split along its seam).
- The import graph of ``bot``, ``sources`` and ``storage`` has no circle, counting every
  import: module level, inside functions and under ``TYPE_CHECKING``. A circle means two
  modules each need something of the other, which belongs in a third.
- Transports stay apart: the core never imports a transport, operations or the CLI, and
  one platform's package never imports another's.
(The platform-library check for the core, ``sources/`` and ``storage/`` is
``tests/core/test_platform_free.py``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "sources", "storage")
MAX_LINES = 400
SKIPPED_DIRS = {".venv", ".git", "tests", "build", "node_modules"}


def project_modules() -> list[Path]:
    """Every Python file of ours outside ``tests/`` (bench and scripts included)."""
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
        and not path.relative_to(ROOT).parts[0].endswith(".egg-info")
    )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in project_modules()
        if path.relative_to(ROOT).parts[0] in PACKAGES
        and "migrations" not in path.relative_to(ROOT).parts
    }


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports, anywhere in its file."""

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # ``from pkg import mod`` imports the submodule when there is one
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                for alias in node.names
            ]
        else:
            continue
        found.update(r for r in map(resolve, targets) if r and r != name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = package_modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
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
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def test_no_module_outside_tests_passes_four_hundred_lines():
    modules = project_modules()
    assert len(modules) > 50  # the walk found the tree
    too_long = {
        str(path.relative_to(ROOT)): count
        for path in modules
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_the_import_graph_has_no_circle():
    graph = import_graph()
    assert {"bot.core.commands", "bot.telegram.lifecycle", "sources.http"} <= set(graph)
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    """The check above could not fail if this could not."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    ("importers", "forbidden"),
    [
        ("bot.core", ("bot.telegram", "bot.slack", "bot.console", "bot.ops", "bot.cli")),
        ("bot.delivery", ("bot.telegram", "bot.slack", "bot.console", "bot.ops", "bot.cli")),
        ("sources", ("bot.telegram", "bot.slack", "bot.ops", "bot.cli", "bot.app")),
        ("storage", ("bot.telegram", "bot.slack", "bot.ops", "bot.cli", "bot.app")),
        ("bot.telegram", ("bot.slack", "bot.cli")),
        ("bot.slack", ("bot.telegram", "bot.cli")),
        (
            "bot.runtime",
            ("bot.ops.metrics", "bot.ops.health", "bot.cli", "bot.telegram", "bot.slack"),
        ),
        ("bot.ops", ("bot.cli", "bot.telegram", "bot.slack")),
    ],
)
def test_rooms_import_only_what_they_may(importers: str, forbidden: tuple[str, ...]):
    graph = import_graph()
    mine = {m: deps for m, deps in graph.items() if m == importers or m.startswith(importers + ".")}
    assert mine
    offenders = {
        module: sorted(dep for dep in deps if dep.startswith(forbidden))
        for module, deps in mine.items()
        if any(dep.startswith(forbidden) for dep in deps)
    }
    assert offenders == {}
