"""Hostile and broken input gets a 4xx in the common shape, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from starlette.routing import BaseRoute

from lumiku import Call, PluginContext, PluginSpec, UploadedFile, get, hookimpl, post
from lumiku.db import create_engine
from lumiku.db import migrate as migrations
from lumiku.db.tables import users
from lumiku.errors import Conflict
from lumiku.idempotency import IdempotencyStore, RequestKey, StoredResponse
from lumiku.pages import PageQuery

PASSWORD = "amber-violin-7-quartz"


@attrs.frozen
class UploadForm:
    """Any of these fields."""

    a: str | None = None
    name: str | None = None
    f: UploadedFile | None = None


class FormHooks:
    """A plugin with a form route and a path parameter."""

    @hookimpl
    def register_routes(self, ctx: PluginContext) -> list[BaseRoute]:
        def upload(call: Call[UploadForm, None]) -> dict[str, Any]:
            fields = attrs.asdict(call.body, recurse=False)
            return {"fields": sorted(name for name, value in fields.items() if value is not None)}

        def item(call: Call[None, None]) -> dict[str, Any]:
            return {"id": call.path["item_id"]}

        return [
            post("/upload", upload, form=UploadForm),
            get("/items/{item_id}", item),
        ]


FORMS = PluginSpec(id="forms", hooks=FormHooks())  # type: ignore[arg-type]


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_malformed_multipart_is_400(make_client: Any) -> None:
    client = make_client([FORMS])
    missing_boundary = client.post(
        "/api/apps/forms/upload",
        content=b"--x\r\n",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert missing_boundary.status_code == 400
    assert error_code(missing_boundary) == "INVALID_MULTIPART"
    truncated = client.post(
        "/api/apps/forms/upload",
        content=b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    assert truncated.status_code == 400
    files = {f"f{i}": (f"{i}.png", b"x", "image/png") for i in range(6)}
    undeclared = client.post("/api/apps/forms/upload", files=files)
    assert undeclared.status_code == 422
    assert set(undeclared.json()["error"]["details"]["fields"]) == set(files)
    too_many = client.post(
        "/api/apps/forms/upload", data={"a": ["1"] * 300}, files={"f": ("f", b"x")}
    )
    assert too_many.status_code == 400
    assert error_code(too_many) == "INVALID_MULTIPART"
    fine = client.post("/api/apps/forms/upload", data={"a": "1"}, files={"f": ("f", b"x")})
    assert fine.status_code == 200


def test_nul_characters_are_refused_before_the_database(make_client: Any) -> None:
    client = make_client([FORMS])
    login = client.post("/api/auth/login", json={"email": "a\u0000@x.com", "password": "x"})
    assert login.status_code == 422
    assert client.get("/api/apps/forms/items/a%00b").status_code == 400
    form = client.post(
        "/api/apps/forms/upload", data={"name": "a\u0000b"}, files={"f": ("f", b"x")}
    )
    assert form.status_code == 422
    assert form.json()["error"]["details"]["fields"] == {"name": "must not contain NUL characters"}


def test_deeply_nested_json_is_400(make_client: Any) -> None:
    client = make_client([])
    response = client.post(
        "/api/auth/login", content=b"[" * 16_000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_code(response) == "INVALID_JSON"


def test_forged_history_cursor_is_400(make_client: Any) -> None:
    client = make_client([])
    token = client.post(
        "/api/auth/register", json={"email": "c@example.com", "password": PASSWORD}
    ).json()["token"]
    response = client.get(
        "/api/credits/history",
        params={"cursor": "9" * 30},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert error_code(response) == "INVALID_CURSOR"


def test_an_abandoned_idempotency_reservation_is_taken_over_after_its_lease(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    migrations.upgrade(engine, [migrations.core_source()])
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    store = IdempotencyStore(engine, clock=lambda: now[0], lease=dt.timedelta(seconds=120))
    user = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            users.insert().values(
                id=user,
                email="i@example.com",
                password_hash="x",
                role="user",
                tokens_valid_after=now[0],
                created_at=now[0],
                updated_at=now[0],
            )
        )
    first = store.begin(user, "k", "/route", "hash-1")  # the request that dies
    assert isinstance(first, RequestKey)
    assert first.attempt == 0
    with pytest.raises(Conflict):  # a live reservation blocks a retry
        store.begin(user, "k", "/route", "hash-1")
    now[0] += dt.timedelta(seconds=121)
    taken = store.begin(user, "k", "/route", "hash-1")  # taken over
    assert isinstance(taken, RequestKey)
    assert taken.attempt == 0  # the same attempt: what the dead request charged replays
    store.finish(taken, 200, b"{}")
    replay = store.begin(user, "k", "/route", "hash-1")
    assert isinstance(replay, StoredResponse)
    assert replay.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM idempotent_requests")).scalar() == 1
    engine.dispose()


class KeyedHooks:
    """A plugin with an idempotent create and a list with an optional filter."""

    @hookimpl
    def register_routes(self, ctx: PluginContext) -> list[BaseRoute]:
        def create(call: Call[None, None]) -> dict[str, Any]:
            return {"key": call.idempotency_key}

        def listing(call: Call[None, PageQuery]) -> dict[str, Any]:
            return {"cursor": call.query.cursor, "limit": call.query.limit}

        return [
            post("/things", create, auth="user", idempotent=True),
            get("/things", listing, query=PageQuery),
        ]


KEYED = PluginSpec(id="keyed", hooks=KeyedHooks())  # type: ignore[arg-type]


def test_the_declared_idempotency_key_pattern_is_the_one_the_server_applies(
    make_client: Any,
) -> None:
    # Found by schemathesis over HTTP: the document said ^[!-~]+$ (visible ASCII), the
    # server takes any printable text ("a b", UTF-8 "clé"), as tests/test_input_text.py
    # promises; the document now says what the server refuses: control characters.
    client = make_client([KEYED])
    token = client.post(
        "/api/auth/register", json={"email": "k@example.com", "password": PASSWORD}
    ).json()["token"]
    declared = client.get("/openapi.json").json()["paths"]["/api/apps/keyed/things"]["post"]
    schema = next(p for p in declared["parameters"] if p["name"] == "Idempotency-Key")["schema"]
    pattern = re.compile(schema["pattern"])

    def create(key: bytes) -> int:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        return int(client.post("/api/apps/keyed/things", headers=headers).status_code)

    for key in ("a b", "cl\u00e9-1", "0f1e-2d3c_~!", "x" * 255):
        assert pattern.search(key), key
        assert create(key.encode()) == 200, key
    for key in ("a\tb", "a\x7fb", "x" * 256):
        assert not pattern.search(key) or len(key) > schema["maxLength"], key
        assert create(key.encode()) == 422, key


def test_a_blank_optional_query_value_is_left_out_and_declared_so(make_client: Any) -> None:
    # Found by schemathesis over HTTP: "?cursor=" was answered as the first page while the
    # document said a cursor has at least one character.
    client = make_client([KEYED])

    response = client.get("/api/apps/keyed/things?cursor=&limit=")

    assert response.json() == {"cursor": None, "limit": 20}
    declared = client.get("/openapi.json").json()["paths"]["/api/apps/keyed/things"]["get"]
    assert {p["name"]: p.get("allowEmptyValue") for p in declared["parameters"]} == {
        "cursor": True,
        "limit": True,
    }
