"""``/api/auth``: register, login, profile, logout."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs
from starlette.routing import BaseRoute

from lumiku.auth.models import CurrentUser, User
from lumiku.auth.tokens import IssuedToken
from lumiku.http.declare import get, post, put
from lumiku.http.endpoint import ANONYMOUS_BODY_LIMIT, Call, RateLimit
from lumiku.http.fields import field

if TYPE_CHECKING:
    from lumiku.auth.service import AuthService


@attrs.frozen
class RegisterBody:
    """A new account."""

    email: str = field(max_length=320, example="ana@example.com")
    password: str = field(max_length=1024, description="12-128 characters, not a common password")
    name: str | None = field(default=None, max_length=100)


@attrs.frozen
class LoginBody:
    """Credentials."""

    email: str = field(max_length=320)
    password: str = field(max_length=1024)


@attrs.frozen
class ProfileBody:
    """Profile changes; fields left out stay as they are."""

    name: str | None = field(default=None, max_length=100)
    email: str | None = field(default=None, max_length=320)
    current_password: str | None = field(default=None, max_length=1024)
    new_password: str | None = field(default=None, max_length=1024)


@attrs.frozen
class UserView:
    """An account as its owner sees it."""

    id: str
    email: str
    name: str | None
    role: str
    created_at: dt.datetime | None = None


@attrs.frozen
class TokenView:
    """An access token."""

    token: str
    expires_at: dt.datetime


@attrs.frozen
class SessionResponse:
    """An account and a fresh token (send it as ``Authorization: Bearer <token>``)."""

    user: UserView
    token: str
    expires_at: dt.datetime


@attrs.frozen
class ProfileResponse:
    """The account; ``token`` is set when the password changed (older tokens are dead)."""

    user: UserView
    token: str | None = None


def user_view(user: User | CurrentUser) -> UserView:
    """Return the public view of an account."""
    created = user.created_at if isinstance(user, User) else None
    return UserView(user.id, user.email, user.name, user.role, created)


def _session(user: User, token: IssuedToken) -> SessionResponse:
    return SessionResponse(user_view(user), token.token, token.expires_at)


def auth_routes(auth: AuthService) -> list[BaseRoute]:
    """Return the auth routes."""

    def register(call: Call[RegisterBody, None]) -> SessionResponse:
        """Create an account (with welcome credits) and sign in."""
        body = call.body
        user, token = auth.register(body.email, body.password, body.name, call.client_ip)
        return _session(user, token)

    def login(call: Call[LoginBody, None]) -> SessionResponse:
        """Sign in with email and password."""
        user, token = auth.login(call.body.email, call.body.password, call.client_ip)
        return _session(user, token)

    def profile(call: Call[None, None]) -> ProfileResponse:
        """Return the signed-in account."""
        return ProfileResponse(user_view(auth.get_profile(call.user_id)))

    def update_profile(call: Call[ProfileBody, None]) -> ProfileResponse:
        """Change name, email or password (email and password need the current password)."""
        body = call.body
        user, token = auth.update_profile(
            call.user_id,
            name=body.name,
            email=body.email,
            current_password=body.current_password,
            new_password=body.new_password,
            client_ip=call.client_ip,
        )
        return ProfileResponse(user_view(user), token.token if token else None)

    def logout(call: Call[None, None]) -> None:
        """Revoke the token used for this request."""
        auth.logout(call.user.claims)

    tags = ("auth",)
    return [
        post(
            "/api/auth/register",
            register,
            body=RegisterBody,
            response=SessionResponse,
            status=201,
            tags=tags,
            rate_limits=(RateLimit("20/hour", per="ip"),),
            errors=(409,),
        ),
        post(
            "/api/auth/login",
            login,
            body=LoginBody,
            response=SessionResponse,
            tags=tags,
            errors=(401, 429),  # wrong credentials; the login throttle
        ),
        get(
            "/api/auth/profile",
            profile,
            auth="user",
            response=ProfileResponse,
            tags=tags,
            errors=(404,),  # the account was deleted
        ),
        put(
            "/api/auth/profile",
            update_profile,
            auth="user",
            body=ProfileBody,
            max_body=ANONYMOUS_BODY_LIMIT,  # a few fields: as small as the anonymous routes'
            response=ProfileResponse,
            tags=tags,
            errors=(404, 409, 429),  # account gone; email taken; password guesses throttled
        ),
        post("/api/auth/logout", logout, auth="user", status=204, tags=tags),
    ]
