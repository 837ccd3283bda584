"""A plugin's settings and credit overrides: every problem at once, each naming where the
value came from and what was expected, never in Python's words; ``lumiku.toml`` of the
wrong shape is a problem, not a crash; the core's settings likewise."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import attrs
import pytest

from lumiku import PluginSpec, hard, setting
from lumiku.errors import ConfigurationError
from lumiku.plugins.configuration import credit_overrides, read_plugin_settings
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginState
from lumiku.settings import Settings, load_settings

SECRET = secrets.token_urlsafe(48)
PYTHON_WORDING = ("invalid literal", "could not convert", "base 10", "Traceback", "object has no")


@attrs.frozen(kw_only=True)
class Typed:
    """One field of each type the settings convert."""

    count: int = setting(3, env="TY_COUNT")
    ratio: float = setting(1.5, env="TY_RATIO")
    flag: bool = setting(False, env="TY_FLAG")
    name: str = setting("x", env="TY_NAME")
    folder: Path = setting(Path("uploads"), env="TY_FOLDER")
    limit: int | None = setting(None, env="TY_LIMIT")
    pin: int = setting(0, env="TY_PIN", secret=True)
    tags: tuple[str, ...] = setting((), env="TY_TAGS")
    needed: str = setting(env="TY_NEEDED")

    def problems(self, *, production: bool) -> list[tuple[str, str]]:
        found = []
        if self.count > 10:
            found.append(("TY_COUNT", "must be at most 10"))
        if self.name == "bad":
            found.append(("TY_NAME", "must not be 'bad'"))
        return found


@pytest.fixture
def settings_with(tmp_path: Path) -> Any:
    config = tmp_path / "lumiku.toml"

    def make(toml: str = "", **env: str) -> Settings:
        config.write_text(toml)
        base = {"LUMIKU_ENV": "test", "JWT_SECRET": SECRET, "LUMIKU_CONFIG": str(config)}
        return load_settings({**base, **env})

    return make


def _problems(call: Any) -> dict[str, str]:
    with pytest.raises(ConfigurationError) as raised:
        call()
    message = raised.value.message
    for words in PYTHON_WORDING:
        assert words not in message
    return {p["variable"]: p["rule"] for p in raised.value.details["problems"]}


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("TY_COUNT", "abc", "expected a whole number, got 'abc'"),
        ("TY_COUNT", "1.5", "expected a whole number, got '1.5'"),
        ("TY_COUNT", "", "expected a whole number, got ''"),
        ("TY_COUNT", "1e3", "expected a whole number, got '1e3'"),
        ("TY_RATIO", "fast", "expected a number, got 'fast'"),
        ("TY_RATIO", "nan", "expected a finite number, got 'nan'"),
        ("TY_RATIO", "inf", "expected a finite number, got 'inf'"),
        ("TY_FLAG", "perhaps", "expected true or false (1/0, yes/no, on/off), got 'perhaps'"),
        ("TY_LIMIT", "lots", "expected a whole number, got 'lots'"),
        ("TY_PIN", "12ab", "expected a whole number (the value is secret: not shown)"),
    ],
)
def test_a_bad_value_names_its_variable_and_what_was_expected(
    settings_with: Any, variable: str, value: str, rule: str
) -> None:
    settings = settings_with(TY_NEEDED="yes", **{variable: value})
    assert _problems(lambda: read_plugin_settings(settings, "ty", Typed)) == {variable: rule}


def test_good_values_convert_from_variables_and_the_file(settings_with: Any) -> None:
    toml = '[plugins.ty]\nratio = 2\nflag = true\nname = 42\nlimit = 7\ntags = ["a", "b"]\n'
    settings = settings_with(toml, TY_NEEDED="yes", TY_COUNT=" 7 ", TY_FLAG="off")
    read = read_plugin_settings(settings, "ty", Typed)
    assert (read.count, read.ratio, read.flag, read.name, read.limit) == (7, 2.0, False, "42", 7)
    assert isinstance(read.ratio, float)
    assert read.tags == ("a", "b")
    # An empty variable unsets an optional setting.
    unset = settings_with(toml, TY_NEEDED="y", TY_LIMIT="")
    assert read_plugin_settings(unset, "ty", Typed).limit is None
    bad = settings_with("[plugins.ty]\ntags = 3\n", TY_NEEDED="y")
    assert _problems(lambda: read_plugin_settings(bad, "ty", Typed)) == {
        "lumiku.toml [plugins.ty] tags": "expected a list of values, got 3"
    }


def test_every_problem_is_reported_together_conversions_and_rules(settings_with: Any) -> None:
    toml = '[plugins.ty]\ncount = 2.5\nflag = "maybe"\n'
    settings = settings_with(toml, TY_RATIO="x", TY_NAME="bad")
    found = _problems(lambda: read_plugin_settings(settings, "ty", Typed))
    # A required field is missing: the class cannot be built, the conversions still count.
    assert found == {
        "TY_NEEDED": "is required (not set)",
        "lumiku.toml [plugins.ty] count": "expected a whole number, got 2.5",
        "TY_RATIO": "expected a number, got 'x'",
        "lumiku.toml [plugins.ty] flag": (
            "expected true or false (1/0, yes/no, on/off), got 'maybe'"
        ),
    }
    # With every required field set, the class's own rules join the conversion problems.
    settings = settings_with(TY_NEEDED="y", TY_RATIO="x", TY_NAME="bad", TY_COUNT="99")
    assert _problems(lambda: read_plugin_settings(settings, "ty", Typed)) == {
        "TY_RATIO": "expected a number, got 'x'",
        "TY_NAME": "must not be 'bad'",
        "TY_COUNT": "must be at most 10",
    }
    # A variable that did not convert is checked with its default, and not reported twice.
    settings = settings_with(TY_NEEDED="y", TY_COUNT="many")
    assert _problems(lambda: read_plugin_settings(settings, "ty", Typed)) == {
        "TY_COUNT": "expected a whole number, got 'many'"
    }


def test_credit_overrides_report_every_bad_one(settings_with: Any) -> None:
    actions = {"generateImage": 10, "upscale": 2, "crop": 1, "share": 0}
    toml = "[credits.ty]\ncrop = 1.5\nshare = true\n"
    settings = settings_with(toml, TY_CREDITS_GENERATE_IMAGE="ten", TY_CREDITS_UPSCALE="-1")
    assert _problems(lambda: credit_overrides(settings, "ty", actions)) == {
        "TY_CREDITS_GENERATE_IMAGE": "expected a whole number of credits, got 'ten'",
        "TY_CREDITS_UPSCALE": "must be 0 or more credits, got -1",
        "lumiku.toml [credits.ty] crop": "expected a whole number of credits, got 1.5",
        "lumiku.toml [credits.ty] share": "expected a whole number of credits, got True",
    }
    fine = settings_with("[credits.ty]\ncrop = 4\n", TY_CREDITS_UPSCALE="0")
    assert credit_overrides(fine, "ty", actions) == {**actions, "crop": 4, "upscale": 0}


@attrs.frozen
class Gateway:
    merchant: str = setting("", env="GW_MERCHANT")
    key: str = setting("", env="GW_KEY", secret=True)
    expiry: int = setting(60, env="GW_EXPIRY")


GATEWAY = PluginSpec(
    id="gw",
    requires=(hard("config:GW_MERCHANT"), hard("config:GW_KEY")),
    settings=Gateway,
    credits={"pay": 1},
)


def test_the_registry_puts_every_problem_of_a_plugin_in_one_reason(settings_with: Any) -> None:
    registry = PluginRegistry(
        settings_with(GW_EXPIRY="an hour", GW_CREDITS_PAY="free"), redis_available=False
    )
    registry.load([GATEWAY])
    record = registry.records["gw"]
    assert record.state is PluginState.DISABLED
    assert record.reason == (
        "GW_MERCHANT and GW_KEY are not set; GW_EXPIRY: expected a whole number, got "
        "'an hour'; GW_CREDITS_PAY: expected a whole number of credits, got 'free'"
    )


@pytest.mark.parametrize(
    ("toml", "where", "rule"),
    [
        ("plugins = 3\n", "lumiku.toml [plugins]", "must be a table (a [section] heading)"),
        ("credits = 3\n", "lumiku.toml [credits]", "must be a table (a [section] heading)"),
        ('[plugins]\nenabled = "gw"\n', "lumiku.toml [plugins] enabled", "must be a list"),
        ("[plugins]\ndisabled = 1\n", "lumiku.toml [plugins] disabled", "must be a list"),
        ('[plugins]\nsafe_mode = "maybe"\n', "lumiku.toml [plugins] safe_mode", "true or false"),
    ],
)
def test_a_config_file_of_the_wrong_shape_is_a_problem_not_a_crash(
    settings_with: Any, toml: str, where: str, rule: str
) -> None:
    found = _problems(lambda: settings_with(toml))
    assert rule in found[where]


def test_a_plugin_table_of_the_wrong_shape_disables_only_that_plugin(
    settings_with: Any,
) -> None:
    settings = settings_with("[plugins]\ngw = 3\n[credits]\ngw = 4\n", GW_MERCHANT="m", GW_KEY="k")
    registry = PluginRegistry(settings, redis_available=False)
    registry.load([GATEWAY, PluginSpec(id="other")])
    assert registry.records["gw"].reason == (
        "lumiku.toml [plugins.gw]: must be a table of values, got 3; "
        "lumiku.toml [credits.gw]: must be a table of values, got 4"
    )
    assert registry.records["other"].state is PluginState.RUNNING


def test_safe_mode_in_the_file_reads_no_as_false(settings_with: Any) -> None:
    assert settings_with('[plugins]\nsafe_mode = "no"\n').plugins.safe_mode is False
    assert settings_with("[plugins]\nsafe_mode = true\n").plugins.safe_mode is True


def test_the_core_settings_report_every_problem_in_words(settings_with: Any) -> None:
    found = _problems(
        lambda: settings_with(
            PORT="80.5",
            LUMIKU_WELCOME_CREDITS="lots",
            HUGGINGFACE_TIMEOUT="-3",
            LOG_LEVEL="verbose",
            REDIS_ENABLED="sometimes",
        )
    )
    assert found == {
        "PORT": "must be a whole number from 1 to 65535, got '80.5'",
        "LUMIKU_WELCOME_CREDITS": "must be a whole number from 0 to 1000000, got 'lots'",
        "HUGGINGFACE_TIMEOUT": "must be a whole number from 1 to 3600, got -3",
        "LOG_LEVEL": "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'VERBOSE'",
        "REDIS_ENABLED": "expected true or false, got 'sometimes'",
    }
    with pytest.raises(ConfigurationError, match=r"^1 setting needs fixing:"):
        settings_with(PORT="x")
    assert settings_with(LOG_LEVEL="debug").log_level == "DEBUG"
