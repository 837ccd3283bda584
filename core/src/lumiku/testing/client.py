"""Signed-in users of a test app: sign up through the API, then send authenticated requests.

    user = sign_up(client)                      # a new account, 100 welcome credits
    assert user.balance()["balance"] == 100
    api = user.at("/api/apps/my-plugin")        # the same user, paths under the plugin
    created = api.post("/projects", json={"name": "Team"})

The ``api_client`` and ``signed_in_user`` fixtures give one of each on an app with the
plugins of the ``lumiku_plugins`` fixture (override it in your conftest).
"""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import httpx

with warnings.catch_warnings():
    # Starlette 1.x asks for the httpx2 fork in its TestClient; httpx works the same here,
    # and a warning at import would reach every plugin author's test run.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

__all__ = [
    "OPERATOR_HEADERS",
    "OPERATOR_TOKEN",
    "PASSWORD",
    "SignedInUser",
    "TestClient",
    "sign_up",
]

PASSWORD = "violet staple orchard kettle"  # noqa: S105 - the password of test accounts
"""The password of the accounts :func:`sign_up` creates."""

OPERATOR_TOKEN = "test-operator-token-0123456789abcdef"  # noqa: S105 - test apps only
"""The ``LUMIKU_METRICS_TOKEN`` of test apps: it opens ``/metrics``, ``/health/detailed``,
``/api/plugins`` and the checks of a plugin's health report."""

OPERATOR_HEADERS = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
"""The header an operator (or Prometheus) sends to a test app."""


class SignedInUser:
    """A user with a token: requests carry ``Authorization``; paths start at :attr:`prefix`."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        user_id: str,
        email: str,
        token: str,
        password: str = PASSWORD,
        prefix: str = "",
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.email = email
        self.token = token
        self.password = password
        self.prefix = prefix

    @property
    def headers(self) -> dict[str, str]:
        """Return the ``Authorization`` header of this user."""
        return {"Authorization": f"Bearer {self.token}"}

    def at(self, prefix: str) -> SignedInUser:
        """Return this user sending requests to paths under ``prefix`` (a plugin's, say)."""
        return type(self)(
            self.client,
            user_id=self.user_id,
            email=self.email,
            token=self.token,
            password=self.password,
            prefix=prefix,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send ``method`` to :attr:`prefix` + ``path`` with this user's token.

        ``headers`` are added to the token's (and may replace it); other keywords go to
        the client (a ``TestClient``, or any ``httpx.Client`` on a served app).
        """
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response: httpx.Response = self.client.request(
            method, self.prefix + path, headers=headers, **kwargs
        )
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """Send a GET."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """Send a POST."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        """Send a PUT."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        """Send a PATCH."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        """Send a DELETE."""
        return self.request("DELETE", path, **kwargs)

    def balance(self) -> dict[str, int]:
        """Return the user's ``{"balance", "held", "available"}`` credits."""
        response = self.client.get("/api/credits/balance", headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """Return the user's newest ledger entries, newest first."""
        response = self.client.get(f"/api/credits/history?limit={limit}", headers=self.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    def __repr__(self) -> str:
        return f"SignedInUser({self.email!r}, prefix={self.prefix!r})"


def sign_up(
    client: httpx.Client, name: str = "ana", *, prefix: str = "", password: str = PASSWORD
) -> SignedInUser:
    """Register a new account through the API (a unique email) and return it signed in.

    The app counts sign-ups per address (20 an hour): tests that share one app keep under.
    """
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/api/auth/register", json={"email": email, "password": password, "name": name}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return SignedInUser(
        client,
        user_id=body["user"]["id"],
        email=email,
        token=body["token"],
        password=password,
        prefix=prefix,
    )
