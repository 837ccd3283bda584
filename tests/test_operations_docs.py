"""docs/operations.md tells the truth: every ``lumiku`` command it shows (and those of the
README's production section) is one the CLI accepts, its doctor table has a row for every
kind of line ``lumiku doctor`` prints, and its alert table names the alerts of
deploy/alerts.yml."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from lumiku.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "operations.md"
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


def _code_commands(text: str) -> list[str]:
    """Return the ``lumiku`` command lines of the fenced ``sh`` blocks of ``text``."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words and _ASSIGNMENT.match(words[0]):
                words.pop(0)  # VARIABLE=value lumiku ...
            if words and words[0] == "lumiku":
                found.append(shlex.join(words))
    return found


def _inline_commands(text: str) -> list[str]:
    """Return the inline ``lumiku ...`` spans, placeholders (``X``, ``<id>``) made words."""
    spans = re.findall(r"`(lumiku [^`]+)`", text)
    return [re.sub(r"<[^>]+>", "x", span) for span in spans]


def _readme_production_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    return _code_commands(section)


COMMANDS = sorted(
    set(_code_commands(GUIDE.read_text()))
    | set(_inline_commands(GUIDE.read_text()))
    | set(_readme_production_commands())
)


def test_the_guide_shows_the_operators_commands() -> None:
    shown = " ".join(COMMANDS)
    for needed in (
        "lumiku doctor",
        "lumiku migrate downgrade --plugin",
        "lumiku credits reconcile",
        "lumiku credits adjust --finding",
        "lumiku worker",
    ):
        assert needed in shown
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shown_is_one_lumiku_accepts(command: str) -> None:
    parser = build_parser()  # with the installed plugins' commands
    try:
        parser.parse_args(shlex.split(command)[1:])
    except SystemExit as exc:
        pytest.fail(f"`{command}` is refused by the CLI (exit {exc.code})")


def test_the_doctor_table_has_a_row_for_every_kind_of_line() -> None:
    source = (ROOT / "core/src/lumiku/cli/doctor.py").read_text()
    table = GUIDE.read_text().split("## `lumiku doctor`", 1)[1]
    heads = set(re.findall(r'line\((?:[^(),]|\([^()]*\))+, f"([^{"]+)', source))
    assert {"settings valid (environment: ", "database reachable (", "queues: "} <= heads
    for head in heads:
        shown = head.replace("Redis at ", "Redis at URL").rstrip()
        assert shown.split(" ")[0] in table
        assert re.sub(r"\s+", " ", shown.split("{")[0]).strip() in table, head
    # And the lines written by other modules' words.
    for words in ("is installed but disabled", "is not installed, but its tables remain"):
        assert words in table
    for mark in ("✅", "⚠️", "❌"):
        assert mark in table


def test_the_alert_table_names_every_alert() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    listed = set(re.findall(r"^\| `(Lumiku\w+)` \|", GUIDE.read_text(), flags=re.M))
    assert listed == names
