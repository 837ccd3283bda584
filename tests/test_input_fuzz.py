"""A quick fuzz of every JSON body and query string of the shipped routes: random JSON (lone
surrogates, huge and negative integers, floats, deep nesting, the routes' own field names
with wrong values) and random query text get a 4xx in the common shape or a success, never
a 500. Derandomized, so a failure repeats."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from starlette.testclient import TestClient

from lumiku.http.endpoint import Endpoint
from lumiku.http.naming import to_camel
from lumiku.http.routing import walk_routes
from lumiku.plugins.discovery import discover
from lumiku.testing import serve_in_thread

PASSWORD = "amber-violin-7-quartz"
EXAMPLES = int(os.environ.get("LUMIKU_FUZZ_EXAMPLES", "15"))  # more for a longer hunt
# Any code point, lone surrogates included (escaped as \udxxx by json.dumps).
TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, -1, 0]),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)


@pytest.fixture
def duitku() -> Iterator[dict[str, str]]:
    """Yield the payments plugin's variables, pointed at a Duitku emulator over HTTP."""
    from lumiku_payments_duitku.emulator import API_PATH, DuitkuEmulator

    env = {"DUITKU_MERCHANT_CODE": "D0001", "DUITKU_API_KEY": "fuzz-key"}
    emulator = DuitkuEmulator(env["DUITKU_MERCHANT_CODE"], env["DUITKU_API_KEY"])
    with serve_in_thread(emulator.app) as url:
        yield {**env, "DUITKU_BASE_URL": url + API_PATH, "DUITKU_POLL_EVERY": "3600"}


@pytest.fixture
def client(make_client: Callable[..., TestClient], duitku: dict[str, str]) -> TestClient:
    return make_client(discover(), **duitku)


def _field_names(cls: type | None) -> list[str]:
    if cls is None or not attrs.has(cls):
        return []
    return [to_camel(attribute.name) for attribute in attrs.fields(cls)]


def bodies(spec: Endpoint) -> st.SearchStrategy[Any]:
    """Return random JSON documents, often objects keyed by the body's own fields."""
    keys = st.one_of(st.sampled_from(_field_names(spec.body) or ["x"]), TEXT)
    values = st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=12,
    )
    return st.one_of(st.dictionaries(keys, values, max_size=6), values)


def queries(spec: Endpoint) -> st.SearchStrategy[dict[str, str]]:
    """Return random query parameters: the query class's names with random text."""
    names = st.one_of(st.sampled_from(_field_names(spec.query) or ["x"]), TEXT)
    text = st.one_of(TEXT, st.sampled_from(["2147483648", "１２", "1e3", "-1", "", "9" * 30]))
    return st.dictionaries(names, text, max_size=4)


def declared(client: TestClient) -> list[tuple[str, Endpoint]]:
    found = []
    for path, item in walk_routes(client.app.routes):  # type: ignore[attr-defined]
        spec: Endpoint | None = getattr(item, "endpoint_spec", None)
        if spec is not None and path != "/api/auth/logout":
            found.append((re.sub(r"\{[^}]+\}", "x", path), spec))
    return found


def check(answer: Any, where: str) -> None:
    assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
    if answer.status_code >= 400:
        assert set(answer.json()["error"]) == {"code", "message", "details"}, where


def fuzz(strategy: st.SearchStrategy[Any], send: Callable[[Any], None]) -> None:
    @hypothesis.given(value=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(value: Any) -> None:
        send(value)

    run()


def test_random_json_bodies_never_get_a_500(client: TestClient) -> None:
    auth = client.app.state.runtime.auth  # type: ignore[attr-defined]
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    auth.create_user(email, PASSWORD, "admin")
    _user, token = auth.login(email, PASSWORD, None)
    headers = {"Authorization": f"Bearer {token.token}", "Content-Type": "application/json"}
    routes = [(path, spec) for path, spec in declared(client) if spec.body is not None]
    assert len(routes) >= 10
    for path, spec in routes:

        def send(value: Any, path: str = path, spec: Endpoint = spec) -> None:
            raw = json.dumps(value).encode()  # ensure_ascii: lone surrogates as \udxxx
            check(client.request(spec.method, path, content=raw, headers=headers), path)

        fuzz(bodies(spec), send)


def test_random_query_strings_never_get_a_500(client: TestClient) -> None:
    auth = client.app.state.runtime.auth  # type: ignore[attr-defined]
    email = f"fuzzq-{uuid.uuid4().hex[:8]}@example.com"
    auth.create_user(email, PASSWORD, "user")
    _user, token = auth.login(email, PASSWORD, None)
    headers = {"Authorization": f"Bearer {token.token}"}
    routes = [(path, spec) for path, spec in declared(client) if spec.query is not None]
    assert len(routes) >= 3
    for path, spec in routes:

        def send(params: dict[str, str], path: str = path, spec: Endpoint = spec) -> None:
            # Lone surrogates cannot be sent as UTF-8: percent-encode what can be.
            safe = {
                k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
                for k, v in params.items()
            }
            check(client.request(spec.method, path, params=safe, headers=headers), path)

        fuzz(queries(spec), send)
