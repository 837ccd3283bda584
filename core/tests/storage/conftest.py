"""Fixtures for the storage tests: a storage root with a fixed clock, and a place outside it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lumiku.storage.local import LocalStorage

FOLDERS = ("avatar-creator", "pose-generator", "outputs")
FIXED_NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)

# Keys an attacker might send; every storage operation must refuse them as Forbidden.
HOSTILE = [
    "../../etc/passwd",
    "avatar-creator/../../etc/passwd",
    "avatar-creator/2025/03/../../../outside/secret.png",
    "./avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png",
    "/etc/passwd",
    "//server/share/file.png",
    "~/file.png",
    "avatar-creator\\..\\..\\etc\\passwd",
    "avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png\x00.txt",
    "..%2f..%2fetc%2fpasswd",
    "avatar-creator%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "C:/Windows/win.ini",
    "c:avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png",
    "file:///etc/passwd",
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for ``hostile_key`` once per key in ``HOSTILE``."""
    if "hostile_key" in metafunc.fixturenames:
        metafunc.parametrize("hostile_key", HOSTILE)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Return a directory next to the storage root holding a secret no key may reach."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.png").write_bytes(b"top secret")
    return directory


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    """Return a storage root with the startup layout and a clock stuck at ``FIXED_NOW``."""
    local = LocalStorage(tmp_path / "uploads", clock=lambda: FIXED_NOW)
    local.ensure_layout(FOLDERS)
    return local
