"""The worked example of docs/plugins.md runs as written.

``docs/examples/postcards.py`` is the plugin the guide's section "The toolkit, worked"
quotes; every ``python`` block of that section must be in the module, and each flow it
shows (a form upload, a paginated list, a charged route, a queued job with partial capture
and progress events) is run here through HTTP.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from lumiku.testing import drain

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "postcards.py"
GUIDE = ROOT / "docs" / "plugins.md"
SECTION = "## The toolkit, worked"
PASSWORD = "violet staple orchard kettle"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("lumiku_docs_postcards", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


postcards = _load()


def test_every_snippet_of_the_guide_is_in_the_example() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide[guide.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    source = EXAMPLE.read_text(encoding="utf-8")
    assert len(blocks) >= 4
    for block in blocks:
        assert block.strip() in source, f"the guide shows code the example lacks:\n{block}"


class Events:
    """A publisher that keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        self.sent.append((namespace, event, dict(data)))


@pytest.fixture
def client(make_client: Any) -> TestClient:
    """A client on an app with the postcards plugin and its tables."""
    client: TestClient = make_client([postcards.spec])
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    postcards.metadata.create_all(runtime.engine)
    return client


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _user(client: TestClient) -> dict[str, str]:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    body = client.post("/api/auth/register", json={"email": email, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['token']}"}


def _balance(client: TestClient, auth: dict[str, str]) -> dict[str, int]:
    return dict(client.get("/api/credits/balance", headers=auth).json())


def _upload(client: TestClient, auth: dict[str, str], message: str) -> str:
    response = client.post(
        "/api/apps/postcards/postcards",
        data={"message": message},
        files={"photo": ("p.png", _photo(), "image/png")},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_form_upload_and_a_paginated_list(client: TestClient) -> None:
    auth = _user(client)
    ids = [_upload(client, auth, f"hello {n}") for n in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/apps/postcards/postcards", params=params, headers=auth).json()
        seen += [card["id"] for card in page["postcards"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    missing = client.post("/api/apps/postcards/postcards", data={"message": "x"}, headers=auth)
    assert missing.status_code == 415  # a form with a file is multipart


def test_a_charged_route_is_refunded_when_its_work_fails(client: TestClient) -> None:
    auth = _user(client)
    card = _upload(client, auth, "wish you were here")
    sent = client.post(f"/api/apps/postcards/postcards/{card}/send", headers=auth)
    assert sent.json() == {"sent": card, "creditsUsed": 3}
    assert _balance(client, auth)["balance"] == 97
    gone = client.post("/api/apps/postcards/postcards/nope/send", headers=auth)
    assert gone.status_code == 404
    assert _balance(client, auth)["balance"] == 97  # charged, then refunded
    kinds = [e["kind"] for e in client.get("/api/credits/history", headers=auth).json()["entries"]]
    assert kinds == ["refund", "spend", "spend", "welcome"]


def test_a_print_run_captures_the_copies_printed_and_reports_progress(
    client: TestClient,
) -> None:
    events = Events()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.publisher.target = events
    auth = _user(client)
    card = _upload(client, auth, "paper jam ahead")
    ordered = client.post(
        f"/api/apps/postcards/postcards/{card}/prints", json={"copies": 3}, headers=auth
    )
    assert ordered.status_code == 202, ordered.text
    assert ordered.json()["held"] == 6
    drain(client)
    run = client.get(ordered.headers["Location"], headers=auth).json()
    assert run == {"status": "partial", "printed": 2, "jammed": 1, "charged": 4}
    assert _balance(client, auth) == {"balance": 96, "held": 0, "available": 96}
    # Only the plugin's namespace: the core also sends credits:balance on /credits.
    sent = [(event, data) for namespace, event, data in events.sent if namespace == "/postcards"]
    names = [event for event, _ in sent]
    assert names == [
        "print:started",
        "print:progress",
        "print:progress",
        "print:progress",
        "print:completed",
    ]
    assert sent[-2][1]["percentage"] == 100
