"""Fixtures of the Avatar Creator tests."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore Alembic's deprecation of the separator option lumiku.db.migrate still sets."""
    for item in items:
        item.add_marker(
            pytest.mark.filterwarnings(
                "ignore:The version_path_separator:DeprecationWarning"
            )
        )
