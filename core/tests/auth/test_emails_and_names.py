"""Email normalization and validation; display names."""

from __future__ import annotations

import pytest

from lumiku.auth import normalize_email, validate_email
from lumiku.auth.names import clean_name
from lumiku.errors import ValidationFailed


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com\t", "ada@example.com"),
        ("ada+lumiku@mail.example.co.id", "ada+lumiku@mail.example.co.id"),
        ("o'brien@xn--bcher-kva.example", "o'brien@xn--bcher-kva.example"),
    ],
)
def test_accepts_and_normalizes(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized
    assert validate_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada@exa mple.com",
        "ada @example.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@example..com",
        "ada@example.123",
        ".ada@example.com",
        "ada.@example.com",
        "a..da@example.com",
        "adä@example.com",
        "ada@exämple.com",
        "ada\x00@example.com",
        "a" * 65 + "@example.com",
        "ada@" + "a" * 64 + ".com",
        "ada@" + ("a" * 60 + ".") * 6 + "com",
    ],
)
def test_refuses_implausible_addresses(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_email(raw)
    assert list(caught.value.details["fields"]) == ["email"]


def test_names_the_field_it_was_asked_to() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_email("nope", field="newEmail")
    assert list(caught.value.details["fields"]) == ["newEmail"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("  Ada  ", "Ada"),
        ("Siti Nurhaliza", "Siti Nurhaliza"),
    ],
)
def test_names_are_trimmed(raw: str | None, clean: str | None) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["n" * 101, "tab\there", "zero\u200bwidth", "bidi\u202eeman"])
def test_refuses_bad_names(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        clean_name(raw)
