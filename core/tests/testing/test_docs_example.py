"""The "Testing a plugin" example of docs/plugins.md runs as written, in a pytest of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"
# A file of the example: "`path`:" on a line of its own, then a ```python block.
FILE = re.compile(r"^`(?P<path>[\w/.]+\.py)`:\n\n```python\n(?P<code>.*?)^```", re.M | re.S)


def example_files() -> dict[str, str]:
    """Return the files of the "Testing a plugin" section, by path."""
    text = DOCS.read_text()
    section = text[text.index("## Testing a plugin") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return {match["path"]: match["code"] for match in FILE.finditer(section)}


def test_the_example_has_a_plugin_a_conftest_and_tests() -> None:
    assert sorted(example_files()) == [
        "src/pinger/hooks.py",
        "src/pinger/plugin.py",
        "tests/conftest.py",
        "tests/test_pinger.py",
    ]


def test_the_example_tests_pass(pytester: pytest.Pytester) -> None:
    for path, code in example_files().items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    (pytester.path / "src" / "pinger" / "__init__.py").write_text("")
    pytester.syspathinsert(pytester.path / "src")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    result = pytester.runpytest_inprocess("tests", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=4)
