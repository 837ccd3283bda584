"""Roles and the one check that guards admin-only actions.

Roles are stored and compared as the exact lowercase strings ``"user"`` and ``"admin"``;
the original system compared ``'admin'`` with ``'ADMIN'`` and let checks slip, so nothing
here folds case, and an unknown role name is a programming error, not a silent denial.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol, TypeGuard

from lumiku.errors import Forbidden

Role = Literal["user", "admin"]
ROLES: Final[frozenset[str]] = frozenset({"user", "admin"})

# What each role may act as: an admin may do everything a user may.
_GRANTS: Final[dict[str, frozenset[str]]] = {
    "user": frozenset({"user"}),
    "admin": frozenset({"user", "admin"}),
}


class HasRole(Protocol):
    """Anything with a ``role`` (``User``, ``CurrentUser``)."""

    @property
    def role(self) -> Role:
        """The account's role."""
        ...


def is_role(value: object) -> TypeGuard[Role]:
    """Return whether ``value`` is exactly one of the role names (case-sensitive)."""
    return isinstance(value, str) and value in ROLES


def require_role(user: HasRole, role: Role) -> None:
    """Raise ``Forbidden`` unless ``user`` holds ``role`` (an admin holds ``user`` too).

    ``role`` must be ``"user"`` or ``"admin"`` exactly; anything else (``"ADMIN"``) raises
    ``ValueError`` so that a typo fails loudly in tests instead of guarding nothing.
    """
    if not is_role(role):
        raise ValueError(f"unknown role {role!r}; use 'user' or 'admin'")
    if role not in _GRANTS.get(user.role, frozenset()):
        raise Forbidden(
            f"This action needs the {role!r} role; ask an administrator for access.",
            details={"requiredRole": role},
        )
