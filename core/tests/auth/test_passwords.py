"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import pytest

from lumiku.auth import Argon2Hasher, PasswordPolicy
from lumiku.auth.passwords import MAX_LENGTH, MIN_LENGTH, load_common_passwords
from lumiku.errors import ValidationFailed

EMAIL = "ada.lovelace@example.com"


@pytest.fixture(scope="module")
def policy() -> PasswordPolicy:
    return PasswordPolicy.default()


@pytest.fixture(scope="module")
def cheap() -> Argon2Hasher:
    return Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)


def test_hashes_are_argon2id_salted_and_verify(cheap: Argon2Hasher) -> None:
    first, second = cheap.hash("violet staple orchard"), cheap.hash("violet staple orchard")
    assert first.startswith("$argon2id$")
    assert first != second
    assert cheap.verify(first, "violet staple orchard")
    assert not cheap.verify(first, "violet staple orcharD")


def test_default_parameters_are_the_documented_ones() -> None:
    assert "$m=19456,t=2,p=1$" in Argon2Hasher().hash("violet staple orchard")


def test_verify_treats_garbage_hashes_as_a_mismatch(cheap: Argon2Hasher) -> None:
    assert not cheap.verify("not-a-hash", "whatever")
    assert not cheap.verify("", "whatever")


def test_needs_rehash_when_parameters_change(cheap: Argon2Hasher) -> None:
    old = cheap.hash("violet staple orchard")
    assert not cheap.needs_rehash(old)
    assert Argon2Hasher(time_cost=2, memory_cost=16, parallelism=1).needs_rehash(old)
    assert cheap.needs_rehash("not-a-hash")


def test_unicode_forms_of_one_password_are_the_same_password(cheap: Argon2Hasher) -> None:
    composed, decomposed = (
        "caf\u00e9 au lait, s'il vous pla\u00eet",
        "cafe\u0301 au lait, s'il vous plai\u0302t",
    )
    assert cheap.verify(cheap.hash(composed), decomposed)


def test_common_password_list_is_packaged_and_sizeable() -> None:
    words = load_common_passwords()
    assert len(words) >= 300
    assert all(word == word.casefold() and not word.startswith("#") for word in words)
    assert sum(len(word) >= MIN_LENGTH for word in words) >= 100


@pytest.mark.parametrize(
    "password",
    [
        "orchid tractor lemonade",
        "violet-staple-orchard-kettle",
        "k9#mQ2$vL7@pZ",
        "Tr0ub4dor&3 is not mine",
        "a" * 6 + "b" * 6 + "cdefg",
        "x" * 11 + "é",
    ],
)
def test_accepts_reasonable_passwords(policy: PasswordPolicy, password: str) -> None:
    policy.check(password, email=EMAIL)


def test_accepts_boundary_lengths(policy: PasswordPolicy) -> None:
    policy.check("tulip-gravel", email=EMAIL)  # 12
    policy.check("g7" + "tulip-gravel-" * 9 + "abcdefghi", email=EMAIL)
    assert len("g7" + "tulip-gravel-" * 9 + "abcdefghi") == 128


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short pass1", f"at least {MIN_LENGTH}"),
        ("", f"at least {MIN_LENGTH}"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH}"),
    ],
)
def test_refuses_bad_lengths(policy: PasswordPolicy, password: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.check(password, email=EMAIL)
    assert fragment in caught.value.details["fields"]["password"]


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "PASSWORD1234",
        "Password1234!",
        "P@ssw0rd2024!",
        "!!Password2024",
        "pass word 1234",
        "qwertyuiop123",
        "QwertyUiop123",
        "1qaz2wsx3edc",
        "administrator",
        "iloveyou12345",
        "ILoveYou!!!!!",
        "monkey123456",
        "letmein!!!!!",
        "Lumiku2026!!!",
        "sayang123456",
        "passwordpassword",
        "Correct Horse Battery Staple",
        "monkeymonkey",
        "l0vel0vel0ve",
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "123412341234",
        "123456789012",
        "abcdefghijklm",
        "zyxwvutsrqpo",
        "asdfghjklzxcv",
        "0987654321098",
    ],
)
def test_refuses_common_passwords_and_simple_variations(
    policy: PasswordPolicy, password: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.check(password, email=EMAIL)
    assert "common" in caught.value.details["fields"]["password"]


@pytest.mark.parametrize(
    "password",
    [EMAIL, EMAIL.upper(), " ada.lovelace@example.com", "ada.lovelace", "Ada.Lovelace1990!"],
)
def test_refuses_the_email_or_its_name(policy: PasswordPolicy, password: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.check(password, email=EMAIL)
    assert "email" in caught.value.details["fields"]["password"]


def test_names_the_field_it_was_asked_to(policy: PasswordPolicy) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.check("short", field="newPassword")
    assert set(caught.value.details["fields"]) == {"newPassword"}
    assert caught.value.message.startswith("The password must be at least")


def test_a_custom_list_is_compared_case_insensitively() -> None:
    policy = PasswordPolicy(["Correct Horse Battery"])
    assert policy.problem("correct HORSE battery") is not None
    assert policy.problem("correct horse battery staple") is None
