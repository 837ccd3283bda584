"""Dependencies point one way: plugins -> the ``lumiku`` facade -> core internals."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_PACKAGES = ("lumiku_avatar_creator", "lumiku_pose_generator", "lumiku_payments_duitku")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_plugins_import_only_the_facade() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.startswith("lumiku.")
        )
        for path in ROOT.glob("plugins/*/src/**/*.py")
    }
    assert len(offenders) > 10  # the glob found the plugins' modules
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_core_never_imports_a_plugin() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in PLUGIN_PACKAGES
        )
        for path in ROOT.glob("core/src/**/*.py")
    }
    assert len(offenders) > 50
    assert {path: mods for path, mods in offenders.items() if mods} == {}


# -- inside the core -----------------------------------------------------------------------

CORE = ROOT / "core" / "src" / "lumiku"
COMPOSITION_ROOTS = {"lumiku.app", "lumiku.worker_main", "lumiku.testing"}
"""The units that may import ``lumiku.bootstrap``: the web app, the worker process and the
test kit, which build runtimes. Everything below them gets the services it uses."""


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Return the modules imported when the module runs (``if TYPE_CHECKING:`` left out),
    function-level imports included: they run too, only later."""
    found: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                found += _runtime_imports(ast.Module(body=[branch], type_ignores=[]))
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lumiku":  # ``from lumiku import errors`` names a submodule
                found += [
                    f"lumiku.{alias.name}"
                    if (CORE / f"{alias.name}.py").exists() or (CORE / alias.name).is_dir()
                    else "lumiku"
                    for alias in node.names
                ]
            else:
                found.append(node.module)
        found += _runtime_imports(node)
    return found


def _unit(module: str) -> str | None:
    """Return the core unit of ``module``: ``lumiku.<subpackage or top-level module>``."""
    parts = module.split(".")
    if parts[0] != "lumiku":
        return None
    return ".".join(parts[:2])


def core_import_graph() -> dict[str, dict[str, list[str]]]:
    """Return ``{unit: {imported unit: [where]}}`` for the units of ``lumiku``."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(CORE.parent).with_suffix("").parts
        source = _unit(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        assert source is not None
        for module in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = _unit(module)
            if target is not None and target != source:
                where = f"{path.relative_to(ROOT)} imports {module}"
                graph.setdefault(source, {}).setdefault(target, []).append(where)
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Return one cycle (as a path that comes back to its start) per strongly connected set."""
    cycles: list[list[str]] = []
    seen: set[str] = set()

    def path_back(start: str) -> list[str] | None:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        visited: set[str] = set()
        while stack:
            node, path = stack.pop()
            for target in sorted(graph.get(node, {})):
                if target == start:
                    return [*path, start]
                if target not in visited:
                    visited.add(target)
                    stack.append((target, [*path, target]))
        return None

    for unit in sorted(graph):
        if unit in seen:
            continue
        cycle = path_back(unit)
        if cycle is not None:
            seen.update(cycle)
            cycles.append(cycle)
    return cycles


def test_the_import_graph_helpers_find_a_cycle() -> None:
    graph = {"a": {"b": ["a.py"]}, "b": {"c": ["b.py"]}, "c": {"a": ["c.py"]}, "d": {"a": []}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nimport lumiku.db\nif TYPE_CHECKING:\n"
        "    import lumiku.app\nelse:\n    import lumiku.http\n"
        "def f():\n    from lumiku.jobs import broker\n"
    )
    assert _runtime_imports(tree) == ["typing", "lumiku.db", "lumiku.http", "lumiku.jobs"]


def test_core_packages_import_each_other_without_cycles() -> None:
    graph = core_import_graph()
    assert {"lumiku.http", "lumiku.plugins", "lumiku.auth", "lumiku.app"} <= set(graph)
    explained = [
        " -> ".join(cycle)
        + "".join(f"\n    {where}" for a, b in itertools.pairwise(cycle) for where in graph[a][b])
        for cycle in _cycles(graph)
    ]
    assert not explained, "import cycles between core packages:\n" + "\n".join(explained)


def test_only_the_composition_roots_import_bootstrap() -> None:
    graph = core_import_graph()
    importers = {unit for unit, targets in graph.items() if "lumiku.bootstrap" in targets}
    assert importers <= COMPOSITION_ROOTS
    # Not even for types: route builders and watches get the services they use.
    for path in CORE.rglob("*.py"):
        unit = _unit(".".join(path.relative_to(CORE.parent).with_suffix("").parts))
        if unit not in COMPOSITION_ROOTS | {"lumiku.bootstrap"}:
            assert "lumiku.bootstrap" not in imported_modules(path), path.relative_to(ROOT)


SHIPPED_NAMES = ("avatar_creator", "avatar-creator", "pose_generator", "pose-generator", "duitku")


def test_core_code_names_no_plugin() -> None:
    """No plugin id or folder in the core's code (docstrings may use them as examples)."""
    found = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and any(name in node.value.lower() for name in SHIPPED_NAMES)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []
