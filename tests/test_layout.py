"""The package's shape, read from the source with ``ast``: no import circle among dapr_nb modules; core reads no clock.

What counts as an import: every ``import`` / ``from … import`` statement that can run — at module level and
inside functions (lazy imports included: a lazy import back up the layers is still a circle). Skipped: blocks
under ``if TYPE_CHECKING:`` (they never run) and the imports of the root ``dapr_nb/__init__.py``, the lazy
facade whose functions import the public entry points on demand.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dapr_nb

ROOT = Path(dapr_nb.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """Return ``{dotted name: (path, is package)}`` for every module of dapr_nb."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def _imported(node: ast.Import | ast.ImportFrom, name: str, package: bool, known: set[str]) -> set[str]:
    """Return the dapr_nb modules one import statement loads (a submodule, else the package it names)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    base = name.split(".") if package else name.split(".")[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    subs = {f"{target}.{alias.name}" for alias in node.names}
    return (subs & known) or ({target} & known)


def _imports(tree: ast.AST, name: str, package: bool, known: set[str]) -> set[str]:
    """Return the dapr_nb modules a module imports anywhere, except under ``if TYPE_CHECKING:``."""
    edges: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            edges |= _imported(node, name, package, known)
        stack.extend(ast.iter_child_nodes(node))
    return edges - {name}


def import_graph() -> dict[str, set[str]]:
    """Return each dapr_nb module's imports of other dapr_nb modules."""
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, (path, package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = set() if name == "dapr_nb" else _imports(tree, name, package, known)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one import path that comes back to its start, per module on a circle (depth-first search)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            found.append(path[path.index(name) :] + [name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return found


def test_the_graph_sees_lazy_imports_and_skips_type_only_ones() -> None:
    graph = import_graph()
    assert "dapr_nb.core.ops" in graph["dapr_nb.core.state"]  # module level, relative
    assert "dapr_nb.frames" in graph["dapr_nb.magics.state"]  # inside a function
    assert "dapr_nb.client" not in graph["dapr_nb.frames"]  # only under TYPE_CHECKING
    fake = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(fake) == [["a", "b", "c", "a"]]


def test_no_import_circle_among_dapr_nb_modules() -> None:
    assert circles(import_graph()) == []


def test_core_reads_no_clock_and_knows_no_drivers() -> None:
    forbidden = {"time", "asyncio", "threading", "grpc", "pandas", "IPython", "ipywidgets"}
    upward = ("dapr_nb.transport", "dapr_nb.client", "dapr_nb.frames", "dapr_nb.magics", "dapr_nb.widgets")
    graph = import_graph()
    for path in sorted((ROOT / "core").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & forbidden, f"{path.name} imports {sorted(names & forbidden)}"
        module = "dapr_nb.core" if path.stem == "__init__" else f"dapr_nb.core.{path.stem}"
        assert not [m for m in graph[module] if m.startswith(upward)], f"{path.name} imports upward"
