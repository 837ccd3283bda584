"""The plugin's settings: Duitku credentials, URLs, limits and the package table.

Read from the variables deployers know from the original product (``DUITKU_*``, named by
``lumiku.setting(env=...)``) or from ``[plugins.payments_duitku]`` in ``lumiku.toml``.
``problems`` lists every rule broken at once. Hosts and callback addresses are Duitku's
published ones (``shared/reference/duitku.md``, "Hosts" and "Rules that matter").
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import attrs

from lumiku import setting
from lumiku_payments_duitku.packages import PackageTable, parse_packages

API_HOSTS = {
    "sandbox": "https://sandbox.duitku.com/webapi/api/merchant",
    "production": "https://passport.duitku.com/webapi/api/merchant",
}
"""The v2 API (inquiry, transactionStatus, getpaymentmethod) of each Duitku environment."""
CALLBACK_SOURCES = {
    "production": (
        "182.23.85.8",
        "182.23.85.9",
        "182.23.85.10",
        "182.23.85.13",
        "182.23.85.14",
        "103.177.101.184",
        "103.177.101.185",
        "103.177.101.186",
        "103.177.101.189",
        "103.177.101.190",
    ),
    "sandbox": ("182.23.85.11", "182.23.85.12", "103.177.101.187", "103.177.101.188"),
}
"""The addresses Duitku publishes for its callbacks, by environment."""
PUBLIC_SAMPLE_CREDENTIALS = frozenset({"D0001", "732B39FC61796845775D2C4FB05332AF"})
"""The credentials of Duitku's public samples: never a production merchant's."""
_PLACEHOLDER = re.compile(
    r"your|xxx|change|example|placeholder|dummy|replace|todo|<|>|\{|\}", re.IGNORECASE
)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}  # noqa: S104 - a name, not a bind
_PAYMENT_METHOD = re.compile(r"^[A-Z0-9]{2}$")
_ORDER_PREFIX = re.compile(r"^[A-Za-z0-9]{1,10}$")


def _url_problems(variable: str, url: str, *, production: bool) -> list[tuple[str, str]]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [(variable, "must be an absolute http(s) URL")]
    if not production:
        return []
    found = []
    if parts.scheme != "https":
        found.append((variable, "must be an https:// URL in production"))
    host = parts.hostname.lower()
    if host in _LOCAL_HOSTS or _PLACEHOLDER.search(url) or host.endswith((".local", ".test")):
        found.append((variable, "looks like a placeholder or a local address; use the real URL"))
    return found


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(raw: str, environment: str) -> tuple[Network, ...]:
    """Return the callback allow-list: ``duitku`` expands to the published addresses."""
    found: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        addresses = CALLBACK_SOURCES.get(environment, ()) if item.lower() == "duitku" else (item,)
        found.extend(ipaddress.ip_network(address, strict=False) for address in addresses)
    return tuple(found)


@attrs.frozen
class DuitkuSettings:
    """What the plugin needs to take payments through Duitku.

    ``merchant_code``/``api_key``: the merchant's credentials (the key is secret: never
    logged, shown or put in an error). ``callback_url``: where Duitku posts results
    (default ``<LUMIKU_PUBLIC_URL>/api/payments/callback``; required in production).
    ``return_url``: where the buyer's browser goes after paying (the web app; required in
    production). ``base_url``: the v2 API, by default that of ``environment`` (``sandbox``
    or ``production``). ``expiry_minutes``: how long a payment can be paid (1-10080).
    ``callback_ips``: comma-separated addresses or networks allowed to post callbacks
    (``duitku`` = the published ones of ``environment``; empty: any, the default).
    ``packages``: the package table (``None``: the defaults). ``payment_method``: the
    channel used when a client names none. Timeouts are seconds; ``poll_every`` is how
    often, in seconds, the poller looks for payments to resolve.
    """

    merchant_code: str = setting("", env="DUITKU_MERCHANT_CODE")
    api_key: str = setting("", env="DUITKU_API_KEY", secret=True)
    callback_url: str = setting("", env="DUITKU_CALLBACK_URL")
    return_url: str = setting("", env="DUITKU_RETURN_URL")
    base_url: str = setting("", env="DUITKU_BASE_URL")
    environment: str = setting("sandbox", env="DUITKU_ENV")
    expiry_minutes: int = setting(60, env="DUITKU_EXPIRY_MINUTES")
    callback_ips: str = setting("", env="DUITKU_CALLBACK_IPS")
    packages: Any = setting(None, env="DUITKU_PACKAGES")
    payment_method: str = setting("VC", env="DUITKU_PAYMENT_METHOD")
    order_prefix: str = setting("LMK", env="DUITKU_ORDER_PREFIX")
    connect_timeout: float = setting(3.0, env="DUITKU_CONNECT_TIMEOUT")
    read_timeout: float = setting(10.0, env="DUITKU_READ_TIMEOUT")
    poll_every: int = setting(60, env="DUITKU_POLL_EVERY")

    @property
    def api_url(self) -> str:
        """Return the v2 API base URL (``base_url``, else the environment's host)."""
        return (self.base_url or API_HOSTS.get(self.environment, API_HOSTS["sandbox"])).rstrip("/")

    def package_table(self) -> PackageTable:
        """Return the packages on sale (``problems`` has checked that they parse)."""
        return parse_packages(self.packages)

    def allowed_sources(self) -> tuple[Network, ...]:
        """Return the networks callbacks may come from (empty: any)."""
        return _networks(self.callback_ips, self.environment)

    def problems(self, *, production: bool) -> list[tuple[str, str]]:
        """Return every rule the values break, as ``(variable, rule)``; production is stricter.

        The unset merchant code and key are reported by the spec's ``config:``
        requirements, so they are not repeated here.
        """
        found: list[tuple[str, str]] = []
        if self.environment not in API_HOSTS:
            found.append(("DUITKU_ENV", f"must be sandbox or production, got {self.environment!r}"))
        elif production and self.environment != "production":
            found.append(
                (
                    "DUITKU_ENV",
                    "is sandbox in production: sandbox payments are not money; set "
                    "DUITKU_ENV=production (or run staging with LUMIKU_ENV=development)",
                )
            )
        if not 1 <= self.expiry_minutes <= 10_080:
            found.append(("DUITKU_EXPIRY_MINUTES", "must be 1-10080 minutes (a week at most)"))
        for variable, value in (
            ("DUITKU_CONNECT_TIMEOUT", self.connect_timeout),
            ("DUITKU_READ_TIMEOUT", self.read_timeout),
        ):
            if not 0 < value <= 120:
                found.append((variable, "must be more than 0 and at most 120 seconds"))
        if not 5 <= self.poll_every <= 3600:
            found.append(("DUITKU_POLL_EVERY", "must be 5-3600 seconds"))
        if not _PAYMENT_METHOD.match(self.payment_method):
            found.append(("DUITKU_PAYMENT_METHOD", "must be a Duitku channel code such as VC"))
        if not _ORDER_PREFIX.match(self.order_prefix):
            found.append(("DUITKU_ORDER_PREFIX", "must be 1-10 letters or digits"))
        try:
            self.package_table()
        except ValueError as exc:
            found.append(("DUITKU_PACKAGES", str(exc)))
        try:
            self.allowed_sources()
        except ValueError as exc:
            found.append(("DUITKU_CALLBACK_IPS", f"{exc}; list addresses, networks or 'duitku'"))
        found += self._url_problems(production)
        if production:
            found += self._credential_problems()
        return found

    def _url_problems(self, production: bool) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for variable, url in (
            ("DUITKU_CALLBACK_URL", self.callback_url),
            ("DUITKU_RETURN_URL", self.return_url),
        ):
            if url:
                found += _url_problems(variable, url, production=production)
            elif production:
                found.append((variable, "is required in production (an https:// URL)"))
        if self.base_url:
            found += _url_problems("DUITKU_BASE_URL", self.base_url, production=production)
        if production and self.environment == "production" and "sandbox" in self.api_url:
            found.append(("DUITKU_BASE_URL", "points at the sandbox while DUITKU_ENV=production"))
        return found

    def _credential_problems(self) -> list[tuple[str, str]]:
        found = []
        for variable, value in (
            ("DUITKU_MERCHANT_CODE", self.merchant_code),
            ("DUITKU_API_KEY", self.api_key),
        ):
            if value and (value in PUBLIC_SAMPLE_CREDENTIALS or _PLACEHOLDER.search(value)):
                found.append((variable, "is a sample or placeholder value; use your merchant's"))
        return found
