"""The client address behind trusted proxies: X-Forwarded-For only from a trusted peer, the
right-most untrusted hop, and the same address for the limits, the throttle and the logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import Call, PluginSpec, get, hookimpl
from lumiku.client_address import (
    LOOPBACK,
    ClientAddressMiddleware,
    client_address,
    parse_trusted_proxies,
)
from lumiku.errors import ConfigurationError
from lumiku.settings import load_settings

PROXIES = parse_trusted_proxies("10.0.0.0/8, 192.168.1.1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.2", [], "10.0.0.2"),  # a trusted peer without the header
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # forged left part ignored
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.0.0.7"], "198.51.100.1"),  # two headers
        ("10.0.0.2", ["10.0.0.9, 192.168.1.1"], "10.0.0.9"),  # every hop trusted: left-most
        ("10.0.0.2", ["not-an-ip, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["198.51.100.1, garbage"], "10.0.0.2"),  # a trusted hop wrote junk
        ("10.0.0.2", ["198.51.100.1:5555"], "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.2", ["::ffff:198.51.100.1"], "198.51.100.1"),
        ("::ffff:10.0.0.2", ["198.51.100.1"], "198.51.100.1"),  # a mapped trusted peer
    ],
)
def test_the_right_most_untrusted_hop_is_the_client(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, LOOPBACK),
        ("", LOOPBACK),
        ("none", ()),
        ("10.0.0.0/8", (ipaddress.ip_network("10.0.0.0/8"),)),
        ("10.1.2.3/8, ::1", (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))),
    ],
)
def test_the_setting_is_parsed(raw: str | None, expected: tuple[Any, ...]) -> None:
    assert parse_trusted_proxies(raw) == expected


@pytest.mark.parametrize("raw", ["10.0.0.0/33", "proxy.internal", "10.0.0.0/8, *"])
def test_a_bad_setting_is_reported_by_name(raw: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LUMIKU_TRUSTED_PROXIES": raw, "LUMIKU_CONFIG": "/nonexistent"})
    assert "LUMIKU_TRUSTED_PROXIES" in {p["variable"] for p in caught.value.details["problems"]}


def test_every_bad_entry_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LUMIKU_TRUSTED_PROXIES": "foo,10.0.0.0/33"})
    assert caught.value.details["problems"] == [
        {
            "variable": "LUMIKU_TRUSTED_PROXIES",
            "rule": "'foo' and '10.0.0.0/33' are not IP addresses or CIDR blocks such as "
            "10.0.0.0/8",
        }
    ]


def test_loopback_is_trusted_by_default() -> None:
    settings = load_settings({})
    assert settings.trusted_proxies == LOOPBACK


def _echo_plugin() -> PluginSpec:
    def routes(ctx: Any) -> list[Any]:
        def whoami(call: Call[None, None]) -> dict[str, str]:
            """Echo the client address."""
            return {"ip": call.client_ip, "scheme": call.request.url.scheme}

        return [get("/whoami", whoami)]

    hooks = type("EchoHooks", (), {"register_routes": staticmethod(hookimpl(routes))})
    return PluginSpec(id="lkt_echo", hooks=hooks)  # type: ignore[arg-type]


def _client(make_app: Callable[..., Any], peer: str, **env: str) -> TestClient:
    app = ClientAddressMiddleware(make_app([_echo_plugin()], **env), LOOPBACK)
    return TestClient(app, client=(peer, 50000))


def test_the_app_honours_a_trusted_proxy_only(make_app: Callable[..., Any]) -> None:
    forwarded = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "https"}
    with _client(make_app, "127.0.0.1") as client:
        echoed = client.get("/api/apps/lkt-echo/whoami", headers=forwarded).json()
        assert echoed == {"ip": "198.51.100.7", "scheme": "https"}
    with _client(make_app, "203.0.113.9") as client:
        echoed = client.get("/api/apps/lkt-echo/whoami", headers=forwarded).json()
        assert echoed == {"ip": "203.0.113.9", "scheme": "http"}
    # The app's own middleware alone, with no proxy trusted: the peer, whatever it says.
    app = make_app([_echo_plugin()], LUMIKU_TRUSTED_PROXIES="none")
    with TestClient(app, client=("127.0.0.1", 5)) as client:
        echoed = client.get("/api/apps/lkt-echo/whoami", headers=forwarded).json()
        assert echoed["ip"] == "127.0.0.1"


def test_rate_limits_count_the_forwarded_client(make_app: Callable[..., Any]) -> None:
    app = make_app([], LUMIKU_TRUSTED_PROXIES="10.0.0.0/8")
    body = {"email": "x@example.com", "password": "short"}
    with TestClient(app, client=("10.0.0.5", 5)) as client:
        # Register is limited to 20 an hour per address: 20 from one forwarded client...
        for _ in range(20):
            answer = client.post(
                "/api/auth/register", json=body, headers={"X-Forwarded-For": "198.51.100.1"}
            )
            assert answer.status_code == 422
        limited = client.post(
            "/api/auth/register", json=body, headers={"X-Forwarded-For": "198.51.100.1"}
        )
        assert limited.status_code == 429
        # ...do not limit another client behind the same proxy.
        other = client.post(
            "/api/auth/register", json=body, headers={"X-Forwarded-For": "198.51.100.2"}
        )
        assert other.status_code == 422
