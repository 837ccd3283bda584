"""Settings: every rule broken is reported at once; production refuses http, placeholders,
the sandbox and the public sample credentials; the package table parses strictly."""

from __future__ import annotations

import ipaddress
import re

import attrs
import pytest

from lumiku_payments_duitku.money import parse_rupiah
from lumiku_payments_duitku.packages import DEFAULT_PACKAGES, parse_packages
from lumiku_payments_duitku.settings import API_HOSTS, DuitkuSettings

GOOD_PRODUCTION = DuitkuSettings(
    merchant_code="DS12345",
    api_key="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    callback_url="https://api.lumiku.id/api/payments/callback",
    return_url="https://app.lumiku.id/payments/done",
    environment="production",
)


def variables(settings: DuitkuSettings, *, production: bool) -> list[str]:
    return [variable for variable, _rule in settings.problems(production=production)]


def test_the_defaults_are_fine_outside_production() -> None:
    settings = DuitkuSettings()
    assert settings.problems(production=False) == []
    assert settings.api_url == API_HOSTS["sandbox"]
    assert [p.id for p in settings.package_table()] == [p.id for p in DEFAULT_PACKAGES]
    assert "api_key" not in repr(DuitkuSettings(api_key="secret-value"))


def test_a_good_production_configuration_has_no_problem() -> None:
    assert GOOD_PRODUCTION.problems(production=True) == []
    assert GOOD_PRODUCTION.api_url == API_HOSTS["production"]


def test_production_refuses_http_placeholders_local_urls_sandbox_and_sample_credentials() -> None:
    settings = DuitkuSettings(
        merchant_code="D0001",
        api_key="732B39FC61796845775D2C4FB05332AF",
        callback_url="http://api.lumiku.id/api/payments/callback",
        return_url="https://your-app.example.com/done",
        base_url="https://localhost/webapi/api/merchant",
    )
    problems = settings.problems(production=True)
    assert [variable for variable, _ in problems] == [
        "DUITKU_ENV",
        "DUITKU_CALLBACK_URL",
        "DUITKU_RETURN_URL",
        "DUITKU_BASE_URL",
        "DUITKU_MERCHANT_CODE",
        "DUITKU_API_KEY",
    ]
    assert all("732B39FC" not in rule for _, rule in problems)
    sandbox_host = attrs.evolve(GOOD_PRODUCTION, base_url=API_HOSTS["sandbox"])
    assert variables(sandbox_host, production=True) == ["DUITKU_BASE_URL"]


def test_every_broken_rule_is_reported_together() -> None:
    settings = DuitkuSettings(
        environment="live",
        expiry_minutes=0,
        connect_timeout=0,
        read_timeout=500,
        poll_every=1,
        payment_method="visa",
        order_prefix="LMK-",
        packages="[]",
        callback_ips="10.0.0.0/33",
        callback_url="ftp://x",
    )
    assert variables(settings, production=False) == [
        "DUITKU_ENV",
        "DUITKU_EXPIRY_MINUTES",
        "DUITKU_CONNECT_TIMEOUT",
        "DUITKU_READ_TIMEOUT",
        "DUITKU_POLL_EVERY",
        "DUITKU_PAYMENT_METHOD",
        "DUITKU_ORDER_PREFIX",
        "DUITKU_PACKAGES",
        "DUITKU_CALLBACK_IPS",
        "DUITKU_CALLBACK_URL",
    ]


def test_the_callback_allow_list_expands_duitkus_published_addresses() -> None:
    production = DuitkuSettings(callback_ips="duitku, 10.1.0.0/16", environment="production")
    networks = production.allowed_sources()
    assert ipaddress.ip_network("182.23.85.8/32") in networks
    assert ipaddress.ip_network("103.177.101.190/32") in networks
    assert ipaddress.ip_network("182.23.85.11/32") not in networks  # a sandbox address
    assert ipaddress.ip_network("10.1.0.0/16") in networks
    assert DuitkuSettings().allowed_sources() == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "is not JSON"),
        ("{}", "must be a non-empty list"),
        ('[{"id": "A", "price": 10000, "credits": 1}]', "lowercase letters"),
        ('[{"id": "a", "price": 10000.5, "credits": 1}]', "price (IDR) must be a whole number"),
        ('[{"id": "a", "price": 10, "credits": 1}]', "from 1,000"),
        ('[{"id": "a", "price": 10000, "credits": 0}]', "credits must be"),
        ('[{"id": "a", "price": 10000, "credits": true}]', "credits must be"),
        ('[{"id": "a", "price": 10000, "credits": 5, "bonus": 1}]', "unknown keys"),
        (
            '[{"id": "a", "price": 10000, "credits": 5}, '
            '{"id": "a", "price": 20000, "credits": 9}]',
            "must be unique",
        ),
    ],
)
def test_a_bad_package_table_says_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_packages(raw)


def test_a_package_table_from_lumiku_toml_is_a_list_of_tables() -> None:
    table = parse_packages([{"id": "mini", "name": "Mini", "price": 10_000, "credits": 100}])
    assert [(p.id, p.price, p.credits) for p in table] == [("mini", 10_000, 100)]


@pytest.mark.parametrize(
    ("raw", "rupiah"),
    [
        ("10000", 10_000),
        ("10000.00", 10_000),
        ("10000.0", 10_000),
        (10_000, 10_000),
        ("10000.50", None),
        ("1e4", None),
        ("-10000", None),
        (" 10000", None),
        ("10.000", None),
        (True, None),
        (10000.0, None),
        ("", None),
    ],
)
def test_money_is_whole_rupiah_or_nothing(raw: object, rupiah: int | None) -> None:
    assert parse_rupiah(raw) == rupiah
