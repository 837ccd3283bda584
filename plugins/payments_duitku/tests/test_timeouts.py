"""Every call to Duitku has a connect and a read timeout (a hung gateway costs seconds)."""

from __future__ import annotations

import httpx

from lumiku_payments_duitku.client import Credentials, DuitkuClient
from lumiku_payments_duitku.settings import DuitkuSettings


def test_the_defaults_are_3_s_to_connect_and_10_s_to_read() -> None:
    fields = {field.name: field.default for field in DuitkuSettings.__attrs_attrs__}
    assert (fields["connect_timeout"], fields["read_timeout"]) == (3.0, 10.0)


def test_the_client_sends_every_call_with_its_timeouts() -> None:
    seen: dict[str, float] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"])
        return httpx.Response(200, json={})

    client = DuitkuClient(
        "https://duitku.test",
        Credentials("D0001", "key"),
        connect_timeout=3.0,
        read_timeout=10.0,
        transport=httpx.MockTransport(handler),
    )
    client._http.get("/ping")
    assert seen == {"connect": 3.0, "read": 10.0, "write": 10.0, "pool": 3.0}
