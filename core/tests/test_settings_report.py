"""Settings problems are reported together, the core's and every plugin's, and keys that
nothing reads are not ignored silently (problems in production, ⚠️ warnings elsewhere,
each naming the closest known key)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lumiku.errors import ConfigurationError
from lumiku.settings import load_settings

PRODUCTION = {
    "LUMIKU_ENV": "production",
    "CORS_ORIGIN": "https://app.example.org",
    "LUMIKU_PUBLIC_URL": "https://api.example.org",
    "REDIS_ENABLED": "false",
    "JWT_SECRET": "Zq8#vN2$wLp5@kRt9^mXy3&bHc7!dFg4",
}
REQUIRED = ', requires=("config:LKT_SHOP_KEY",), required_in_production=True'
PRICED = ', credits={"generateAvatar": 5}'


def test_core_and_plugin_problems_come_in_one_report(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    required = install_plugin(spec_extra=REQUIRED, migrations=False)
    env = {
        **lumiku_env,
        **PRODUCTION,
        "LUMIKU_PLUGINS": required.id,
        "PORT": "abc",
        "LUMIKU_TRUSTED_PROXIES": "foo,10.0.0.0/33",
    }
    for command in ("serve", "worker", "migrate", "plugins"):
        result = run_cli(env, command)
        assert result.code == 2, result.err
        assert result.err.startswith("❌ 3 settings need fixing:\n"), result.err
        assert "  PORT: must be a whole number from 1 to 65535, got 'abc'" in result.err
        assert "'foo' and '10.0.0.0/33' are not IP addresses" in result.err
        assert f"  plugin {required.id}: LKT_SHOP_KEY is not set" in result.err


def test_a_plugin_disabled_for_its_configuration_is_listed_with_the_core_problems(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    optional = install_plugin(spec_extra=', requires=("config:LKT_SHOP_KEY",)', migrations=False)
    env = {**lumiku_env, "LUMIKU_PLUGINS": optional.id, "PORT": "abc"}
    result = run_cli(env, "serve")
    assert result.code == 2
    assert "❌ 1 setting needs fixing:\n  PORT: must be a whole number" in result.err
    assert f"⚠️ plugin {optional.id}: LKT_SHOP_KEY is not set" in result.err


def _write(path: Path, text: str) -> dict[str, str]:
    path.write_text(text)
    return {"LUMIKU_CONFIG": str(path)}


MISTYPED = """
provder = "x"
[plugins]
disabld = ["a"]
[plugins.@ID@]
[credits.@ID@]
generateAvatr = 1
[credits.lkt_not_installed]
generateAvatar = 1
"""


def test_unknown_keys_are_warnings_naming_the_closest_known_key_in_development(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    tmp_path: Path,
) -> None:
    priced = install_plugin(spec_extra=PRICED, migrations=False)
    env = {
        **lumiku_env,
        **_write(tmp_path / "mistyped.toml", MISTYPED.replace("@ID@", priced.id)),
        "LUMIKU_ENV": "development",
        "LUMIKU_PLUGINS": priced.id,
        f"{priced.id.upper()}_CREDITS_GENERATE_AVATR": "1",
    }
    settings = load_settings(env)
    assert "lumiku.toml provder is not a known key: it is ignored" in settings.warnings
    assert (
        "lumiku.toml [plugins] disabld is not a known key (did you mean disabled?): it is ignored"
        in settings.warnings
    )
    doctor = run_cli(env, "doctor").out
    for line in (
        f"⚠️ lumiku.toml [credits.{priced.id}] generateAvatr is not a known key (did you mean "
        "generateAvatar?): it is ignored",
        f"⚠️ {priced.id.upper()}_CREDITS_GENERATE_AVATR is not a known key (did you mean "
        f"{priced.id.upper()}_CREDITS_GENERATE_AVATAR?): it is ignored",
        "⚠️ lumiku.toml [credits.lkt_not_installed] is not an installed plugin",
    ):
        assert line in doctor, doctor


def test_unknown_keys_are_problems_in_production(
    install_plugin: Callable[..., Any],
    make_app: Callable[..., Any],
    lumiku_env: dict[str, str],
    tmp_path: Path,
) -> None:
    priced = install_plugin(spec_extra=PRICED, migrations=False)
    config = _write(tmp_path / "mistyped.toml", "[plugins]\ndisabld = []\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings({**PRODUCTION, **config})
    assert {
        "variable": "lumiku.toml [plugins] disabld",
        "rule": "is not a known key (did you mean disabled?)",
    } in raised.value.details["problems"]
    # A plugin's own mistyped price disables it in production (never the default price).
    env = {
        **PRODUCTION,
        **_write(tmp_path / "price.toml", f"[credits.{priced.id}]\ngenerateAvatr = 1\n"),
        "LUMIKU_PLUGINS": priced.id,
    }
    client = make_app(None, **env)
    record = client.state.runtime.registry.records[priced.id]
    assert (record.state.value, record.reason_code.value) == ("disabled", "missing_config")
    assert record.reason == (
        f"lumiku.toml [credits.{priced.id}] generateAvatr is not a known key (did you mean "
        "generateAvatar?)"
    )


def test_the_example_configuration_has_no_unknown_key() -> None:
    from lumiku.plugins.discovery import discover
    from lumiku.plugins.registry import PluginRegistry

    example = Path(__file__).resolve().parents[2] / "deploy" / "lumiku.toml.example"
    settings = load_settings({"LUMIKU_CONFIG": str(example)})
    assert not [w for w in settings.warnings if "not a known key" in w]
    registry = PluginRegistry(settings, redis_available=False)
    registry.load(discover())
    assert registry.configuration_warnings() == []


def test_the_app_factory_reports_the_plugins_problems_with_the_cores(
    monkeypatch: pytest.MonkeyPatch, lumiku_env: dict[str, str]
) -> None:
    import attrs

    from lumiku import PluginSpec, setting
    from lumiku.app import create_app

    @attrs.frozen
    class ShopSettings:
        key: str = setting(env="LKT_FACTORY_KEY")

    spec = PluginSpec(id="lkt_factory", settings=ShopSettings, required_in_production=True)
    for name, value in {**lumiku_env, **PRODUCTION, "PORT": "abc"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        create_app(plugins=[spec])
    variables = [problem["variable"] for problem in raised.value.details["problems"]]
    assert variables == ["PORT", "plugin lkt_factory"]
