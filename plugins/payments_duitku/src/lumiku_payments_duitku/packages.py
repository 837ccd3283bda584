"""The credit packages on sale: the server-side price list clients choose from by id.

Prices are whole rupiah (IDR), credits whole credits; a client never sends either. The
defaults are the original product's price list (``shared/reference/duitku.md``,
"Packages"); ``DUITKU_PACKAGES`` (JSON) or ``[[plugins.payments_duitku.packages]]`` tables
in ``lumiku.toml`` replace them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

MIN_PRICE = 1_000
"""Rupiah: below this no Duitku channel takes a payment."""
MAX_PRICE = 100_000_000
"""Rupiah: a guard against a typo adding zeros."""
MAX_CREDITS = 10_000_000
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@attrs.frozen
class Package:
    """One package: ``price`` rupiah buys ``credits`` credits."""

    id: str
    name: str
    price: int
    credits: int


DEFAULT_PACKAGES: tuple[Package, ...] = (
    Package("topup-1500", "Top-up 1,500 credits", 100_000, 1_500),
    Package("topup-4000", "Top-up 4,000 credits", 250_000, 4_000),
    Package("topup-9000", "Top-up 9,000 credits", 500_000, 9_000),
    Package("pebisnis", "Pebisnis", 99_000, 1_800),
    Package("juragan", "Juragan", 249_000, 4_800),
)


class PackageTable:
    """The packages by id, in the order they are listed."""

    def __init__(self, packages: Iterable[Package]) -> None:
        self._by_id = {package.id: package for package in packages}

    def __iter__(self) -> Iterator[Package]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, package_id: str) -> Package | None:
        """Return the package ``package_id``, or ``None`` when none has that id."""
        return self._by_id.get(package_id)

    @property
    def ids(self) -> list[str]:
        """Return the ids, in order."""
        return list(self._by_id)


def _whole(value: Any, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low:,} to {high:,}, got {value!r}")
    return value


def _package(item: Any, position: int) -> Package:
    where = f"package {position + 1}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be an object with id, name, price and credits")
    unknown = sorted(set(item) - {"id", "name", "price", "credits"})
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}")
    package_id = item.get("id")
    if not isinstance(package_id, str) or not _ID.match(package_id):
        raise ValueError(f"{where}: id must be lowercase letters, digits and dashes")
    name = item.get("name", package_id)
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ValueError(f"{where} ({package_id}): name must be 1-100 characters")
    return Package(
        package_id,
        name.strip(),
        _whole(item.get("price"), MIN_PRICE, MAX_PRICE, f"{where} ({package_id}): price (IDR)"),
        _whole(item.get("credits"), 1, MAX_CREDITS, f"{where} ({package_id}): credits"),
    )


def parse_packages(raw: Any) -> PackageTable:
    """Return the package table from a setting: ``None`` (the defaults), a JSON array, or
    a list of tables (``lumiku.toml``). Raise ``ValueError`` saying what is wrong."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return PackageTable(DEFAULT_PACKAGES)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError('must be a non-empty list: [{"id", "name", "price", "credits"}, ...]')
    packages = [_package(item, position) for position, item in enumerate(raw)]
    ids = [package.id for package in packages]
    duplicates = sorted({package_id for package_id in ids if ids.count(package_id) > 1})
    if duplicates:
        raise ValueError(f"package ids must be unique: {', '.join(duplicates)} repeated")
    return PackageTable(packages)
