"""The import graph of ``src/grader``, read from the source with ``ast`` (nothing is imported).

    .venv/bin/python tests/import_graph.py     # prints every import cycle, or "no import cycle"

An edge ``a -> b`` means module ``a`` imports module ``b``, at module level or
inside a function (a lazy import still ties the two modules together).  Imports
under ``if TYPE_CHECKING:`` are left out: they never run.  ``from pkg import
name`` points at ``pkg.name`` when that is a module, else at ``pkg``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "grader"

Graph = dict[str, set[str]]


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (``if TYPE_CHECKING:`` bodies skipped)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _base(node: ast.ImportFrom, name: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    anchor = package[: len(package) - node.level + 1]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _known(target: str, known: Collection[str]) -> str | None:
    """The module itself, or its nearest enclosing package, when it is ours."""
    parts = target.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def imported(name: str, path: Path, known: Collection[str] = ()) -> set[str]:
    """Every dotted name the module imports (ours and third-party); ``from pkg import
    name`` gives ``pkg.name`` when that is one of the ``known`` modules, else ``pkg``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    targets: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
            continue
        base = _base(node, name, path)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            targets.add(sub if sub in known else base)
    return targets


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package that ``name`` imports."""
    found = {_known(t, known) for t in imported(name, path, known)}
    return {t for t in found if t is not None and t != name}


def build(src: Path = SRC) -> Graph:
    found = modules(src)
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def _components(graph: Graph) -> list[list[str]]:
    """Strongly connected components (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    out.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def _path(graph: Graph, start: str, members: set[str]) -> list[str]:
    """One cycle through ``start`` inside its component (breadth-first, shortest)."""
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return [start]


def cycles(graph: Graph) -> list[list[str]]:
    """One example cycle per group of modules that import each other."""
    return [_path(graph, group[0], set(group)) for group in _components(graph) if len(group) > 1]


def main() -> int:
    found = cycles(build())
    for cycle in found:
        print(" -> ".join(cycle))
    print(f"{len(found)} import cycle(s)" if found else "no import cycle")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
