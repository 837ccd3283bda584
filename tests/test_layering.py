"""Dependencies point one way: plugins -> the ``lumiku`` facade -> core internals."""

from __future__ import annotations

import ast
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
