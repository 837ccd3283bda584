"""require_role: exact, lowercase role names; admins may act as users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lumiku.auth import User, require_role
from lumiku.errors import Forbidden
from lumiku.roles import is_role

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def user_with(role: Any) -> User:
    return User(
        id="u1", email="u@example.com", name=None, role=role, created_at=NOW, updated_at=NOW
    )


def test_admins_pass_admin_and_user_checks() -> None:
    require_role(user_with("admin"), "admin")
    require_role(user_with("admin"), "user")


def test_users_pass_user_checks_only() -> None:
    require_role(user_with("user"), "user")
    with pytest.raises(Forbidden) as caught:
        require_role(user_with("user"), "admin")
    assert caught.value.details == {"requiredRole": "admin"}


@pytest.mark.parametrize("stored", ["ADMIN", "Admin", " admin", "admin ", "", "root", None])
def test_case_variants_of_admin_are_not_admin(stored: Any) -> None:
    with pytest.raises(Forbidden):
        require_role(user_with(stored), "admin")
    with pytest.raises(Forbidden):
        require_role(user_with(stored), "user")


@pytest.mark.parametrize("required", ["ADMIN", "Admin", "USER", "superuser", ""])
def test_an_unknown_required_role_is_a_programming_error(required: Any) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        require_role(user_with("admin"), required)


def test_is_role_is_exact() -> None:
    assert is_role("user")
    assert is_role("admin")
    assert not any(is_role(value) for value in ("User", "ADMIN", b"admin", None, 1))
