"""Identifiers are refused, never folded, when Unicode normalization would change them."""

from __future__ import annotations

import pytest

from lumiku.auth import AuthService
from lumiku.auth.emails import checked_email, identifier_problem, validate_email
from lumiku.errors import Unauthorized, ValidationFailed

PASSWORD = "violet staple orchard kettle"

# Each would become an ASCII address (or another address) under NFKC and case folding.
LOOKALIKES = [
    "quac\u212a@example.com",  # KELVIN SIGN -> k
    "\uff41da@example.com",  # FULLWIDTH LATIN SMALL LETTER A
    "ada@\uff45xample.com",  # fullwidth in the domain
    "\ufb00@example.com",  # LATIN SMALL LIGATURE FF -> ff
    "ada\u0301@example.com",  # a combining acute accent
    "\u0130da@example.com",  # LATIN CAPITAL LETTER I WITH DOT ABOVE
    "\u2160da@example.com",  # ROMAN NUMERAL ONE -> i
    "ada@example.co\u1d0d",  # LATIN LETTER SMALL CAPITAL M (not folded, but not ASCII)
    "\u0131da@example.com",  # LATIN SMALL LETTER DOTLESS I (not folded, but not ASCII)
    "\u00a0ada@example.com",  # NO-BREAK SPACE is not trimmed into the ASCII address
    "ada@example.com\u3000",  # IDEOGRAPHIC SPACE
    "ada\u00df@example.com",  # SHARP S casefolds to "ss"
]


@pytest.mark.parametrize("raw", LOOKALIKES)
def test_lookalikes_are_refused_with_a_reason(raw: str) -> None:
    assert identifier_problem(raw) is not None
    with pytest.raises(ValidationFailed) as caught:
        validate_email(raw)
    assert caught.value.details["fields"]["email"] == identifier_problem(raw)
    with pytest.raises(ValidationFailed):
        checked_email(raw)


def test_the_kelvin_sign_is_named() -> None:
    problem = identifier_problem("quac\u212a@example.com")
    assert problem is not None
    assert "U+212A" in problem
    assert "KELVIN SIGN" in problem
    assert "'k'" in problem


@pytest.mark.parametrize("raw", ["Ada@Example.COM", " ada@example.com\t", "ADA@EXAMPLE.COM"])
def test_ascii_case_and_ascii_spaces_are_still_folded(raw: str) -> None:
    assert identifier_problem(raw) is None
    assert checked_email(raw) == "ada@example.com"


@pytest.mark.parametrize("raw", LOOKALIKES[:6])
def test_register_refuses_and_the_real_account_is_untouched(service: AuthService, raw: str) -> None:
    service.register("quack@example.com", PASSWORD)
    with pytest.raises(ValidationFailed):
        service.register(raw, PASSWORD)
    with pytest.raises(ValidationFailed):
        service.create_user(raw, PASSWORD, "admin")


def test_login_with_a_lookalike_is_refused_not_folded(service: AuthService) -> None:
    service.register("quack@example.com", PASSWORD)
    with pytest.raises(ValidationFailed):
        service.login("quac\u212a@example.com", PASSWORD, "203.0.113.5")
    with pytest.raises(Unauthorized):
        service.login("quack@example.com", "wrong password here!", "203.0.113.5")
    user, _ = service.login("QUACK@example.com", PASSWORD, "203.0.113.5")
    assert user.email == "quack@example.com"


def test_profile_email_change_to_a_lookalike_is_refused(service: AuthService) -> None:
    user, _ = service.register("ada@example.com", PASSWORD)
    with pytest.raises(ValidationFailed) as caught:
        service.update_profile(user.id, email="\u212aada@example.com", current_password=PASSWORD)
    assert "email" in caught.value.details["fields"]
