"""``lumiku users create|list|set-role``: a password that cannot be read is one ``❌`` line
and exit 1 (never a traceback); accounts are listed and their role changed by email."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest

PASSWORD = "amber-violin-7-quartz"


def _one_failure(result: Any) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("❌ "), lines
    assert "Traceback" not in result.out + result.err
    return str(lines[0])


def test_a_password_env_naming_an_unset_variable_is_one_line(
    run_cli: Any, lumiku_env: dict[str, str]
) -> None:
    assert run_cli(lumiku_env, "migrate").code == 0
    result = run_cli(
        lumiku_env, "users", "create", "a@example.com", "--password-env", "NOT_SET_ANYWHERE"
    )
    assert result.code == 1
    assert "NOT_SET_ANYWHERE, which is not set" in _one_failure(result)
    # Set but empty is the same mistake.
    empty = run_cli(
        {**lumiku_env, "LUMIKU_EMPTY": ""},
        "users",
        "create",
        "a@example.com",
        "--password-env",
        "LUMIKU_EMPTY",
    )
    assert empty.code == 1
    assert "LUMIKU_EMPTY, which is not set" in _one_failure(empty)


def test_without_a_terminal_and_without_a_variable_it_is_one_line(
    run_cli: Any, lumiku_env: dict[str, str]
) -> None:
    result = run_cli(lumiku_env, "users", "create", "a@example.com")  # pytest's stdin: no tty
    assert result.code == 1
    assert "no terminal to ask for the password: set LUMIKU_NEW_PASSWORD" in _one_failure(result)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_password_is_asked_twice(
    run_cli: Any, lumiku_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(lumiku_env, "migrate").code == 0
    monkeypatch.setattr(sys, "stdin", _Terminal())
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    differ = run_cli(lumiku_env, "users", "create", "t@example.com")
    assert differ.code == 1
    assert "the two passwords differ" in _one_failure(differ)

    def interrupted(prompt: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", interrupted)
    assert "no password given" in _one_failure(run_cli(lumiku_env, "users", "create", "t@x.io"))

    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORD)
    created = run_cli(lumiku_env, "users", "create", "t@example.com")
    assert created.code == 0, created.err
    assert created.out.startswith("✅ created user t@example.com (")


def test_list_and_set_role(run_cli: Any, lumiku_env: dict[str, str]) -> None:
    env = {**lumiku_env, "LUMIKU_NEW_PASSWORD": PASSWORD}
    assert run_cli(env, "migrate").code == 0
    empty = run_cli(env, "users", "list")
    assert (empty.code, empty.out.split()) == (0, ["ID", "EMAIL", "ROLE", "CREATED"])
    assert run_cli(env, "users", "create", "first@example.com").code == 0
    assert run_cli(env, "users", "create", "boss@example.com", "--admin").code == 0

    listed = run_cli(env, "users", "list")
    lines = listed.out.splitlines()
    assert lines[0].split() == ["ID", "EMAIL", "ROLE", "CREATED"]
    rows = [line.split() for line in lines[1:]]
    assert [(row[1], row[2]) for row in rows] == [
        ("first@example.com", "user"),
        ("boss@example.com", "admin"),
    ]
    assert all(row[5] == "UTC" for row in rows)
    as_json = json.loads(run_cli(env, "users", "list", "--json").out)
    assert [item["email"] for item in as_json] == ["first@example.com", "boss@example.com"]
    assert set(as_json[0]) == {"id", "email", "role", "created"}

    promoted = run_cli(env, "users", "set-role", "First@Example.com", "admin")
    assert (promoted.code, promoted.out.strip()) == (
        0,
        "✅ first@example.com is now admin (was user)",
    )
    again = run_cli(env, "users", "set-role", "first@example.com", "admin")
    assert again.out.strip() == "✅ first@example.com already has the admin role"
    roles = {
        item["email"]: item["role"]
        for item in json.loads(run_cli(env, "users", "list", "--json").out)
    }
    assert roles == {"first@example.com": "admin", "boss@example.com": "admin"}

    unknown = run_cli(env, "users", "set-role", "nobody@example.com", "user")
    assert unknown.code == 1
    assert "No account has the email 'nobody@example.com'" in _one_failure(unknown)
    wrong_role = run_cli(env, "users", "set-role", "first@example.com", "ADMIN")
    assert wrong_role.code == 2  # argparse: the role is one of the choices
    assert "invalid choice: 'ADMIN'" in wrong_role.err


def test_users_create_in_a_subprocess_without_a_terminal(
    lumiku_env: dict[str, str], database_url: str
) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **lumiku_env}
    for argv in (
        ["users", "create", "s@example.com"],
        ["users", "create", "s@example.com", "--password-env", "LUMIKU_NOT_SET"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "lumiku.cli.main", *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("❌ "), result.stderr


def test_an_unmigrated_database_is_one_line_not_a_traceback(
    run_cli: Any, lumiku_env: dict[str, str]
) -> None:
    env = {**lumiku_env, "LUMIKU_NEW_PASSWORD": PASSWORD}
    for argv in (
        ("users", "list"),
        ("users", "set-role", "a@example.com", "admin"),
        ("users", "create", "a@example.com"),
        ("credits", "grant", "a@example.com", "5"),
    ):
        result = run_cli(env, *argv)
        assert result.code == 1, argv
        line = _one_failure(result)
        assert line.startswith("❌ the database refused the command ("), line
        assert "lumiku migrate" in line


@pytest.mark.parametrize("command", ["create", "set-role"])
def test_a_lookalike_email_is_refused_in_one_line_not_folded(
    run_cli: Any, lumiku_env: dict[str, str], command: str
) -> None:
    env = {**lumiku_env, "LUMIKU_NEW_PASSWORD": PASSWORD}
    assert run_cli(env, "migrate").code == 0
    assert run_cli(env, "users", "create", "quack@example.com").code == 0
    argv = ["quac\u212a@example.com", *(["admin"] if command == "set-role" else [])]
    result = run_cli(env, "users", command, *argv)
    assert result.code == 1
    assert "U+212A" in _one_failure(result)
    listed = json.loads(run_cli(env, "users", "list", "--json").out)
    assert [(row["email"], row["role"]) for row in listed] == [("quack@example.com", "user")]
