"""The package's import graph has no cycle, counting every import: module level and inside functions alike.

A function-level import that closes a cycle still ties two modules together (each needs the other to work); it
only moves the failure from import time to call time. The graph is read from the source with ``ast``, so an
import that is never executed still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ser_zoo"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in module ``current``."""
    if level == 0:
        return target or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def enclosing_packages(target: str, importer: str) -> set[str]:
    """The packages whose ``__init__`` importing ``target`` runs: its ancestors, less the importer's own
    (those are already importing when the importer runs, so they cannot start a cycle at run time)."""
    parts = target.split(".")
    ancestors = {".".join(parts[:i]) for i in range(1, len(parts))}
    own = importer.split(".")
    return ancestors - {".".join(own[:i]) for i in range(1, len(own) + 1)}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module ``name`` imports, anywhere in its source (a name imported from a package that is
    itself a submodule counts as that submodule), with the packages whose ``__init__`` that import runs."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = resolve(name, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif base in modules:
                    found.add(base)
    for target in list(found):
        found |= enclosing_packages(target, name) & set(modules)
    found.discard(name)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    modules = package_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path):
    pkg = tmp_path / "ser_zoo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "a.py").write_text("from ..b import g\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from .sub import a\n    return a\n")
    (pkg / "c.py").write_text("from . import b\nfrom .sub.a import f\n")
    graph = import_graph(pkg)
    assert graph["ser_zoo.c"] == {"ser_zoo.b", "ser_zoo.sub", "ser_zoo.sub.a"}  # sub/__init__ runs too
    assert graph["ser_zoo.sub.a"] == {"ser_zoo.b"}  # its own package's __init__ is already running
    assert find_cycles(graph) == [["ser_zoo.b", "ser_zoo.sub", "ser_zoo.sub.a"]]


def test_importing_a_module_of_another_package_runs_that_package_init(tmp_path):
    pkg = tmp_path / "ser_zoo"
    (pkg / "zoo").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "zoo" / "__init__.py").write_text("from .load import load\n")
    (pkg / "zoo" / "load.py").write_text("from ..module import Module\n")
    (pkg / "zoo" / "finetune.py").write_text("")
    (pkg / "module.py").write_text("def init():\n    from .zoo.finetune import start\n")
    assert find_cycles(import_graph(pkg)) == [["ser_zoo.module", "ser_zoo.zoo", "ser_zoo.zoo.load"]]


def test_ser_zoo_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    if cycles:
        pytest.fail(
            "import cycles (every import counted, function-level too):\n"
            + "\n".join(" <-> ".join(c) for c in cycles)
        )
