"""``PluginRegistry``: loading, validation, ordering, requirements, toggles and isolation.

Each test builds its own registry (and so its own ``pluggy.PluginManager``).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from lumiku import PluginSpec, hard, hookimpl, setting, soft
from lumiku.plugins.discovery import Candidate
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginState, ReasonCode
from lumiku.settings import Settings, load_settings

SECRET = "registry-tests-0123456789-abcdefghijklmnop"


def hooks(**impls: Callable[..., Any]) -> types.SimpleNamespace:
    """Return a hooks namespace holding ``impls`` marked as hook implementations."""
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in impls.items()})


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    config = tmp_path / "lumiku.toml"
    config.write_text("")

    def make(toml: str = "", **env: str) -> Settings:
        config.write_text(toml)
        base = {"LUMIKU_ENV": "test", "JWT_SECRET": SECRET, "LUMIKU_CONFIG": str(config)}
        return load_settings({**base, **env})

    return make


def load(settings: Settings, *sources: Any, redis: bool = False) -> PluginRegistry:
    registry = PluginRegistry(settings, redis_available=redis)
    registry.load(sources)
    return registry


def states(registry: PluginRegistry) -> dict[str, tuple[str, str]]:
    return {r.id: (str(r.state), str(r.reason_code)) for r in registry.sorted_records()}


# -- loading and ordering ----------------------------------------------------------------


def test_plugins_load_in_a_deterministic_order(make_settings: Callable[..., Settings]) -> None:
    specs = [PluginSpec(id=name) for name in ("zeta", "alpha", "mid")]
    first = load(make_settings(), *specs)
    second = load(make_settings(), *reversed(specs))
    assert list(first.records) == ["alpha", "mid", "zeta"]
    assert list(second.records) == list(first.records)
    assert [r.id for r in first.serving()] == ["alpha", "mid", "zeta"]


def test_a_required_plugin_is_evaluated_before_its_dependents(
    make_settings: Callable[..., Settings],
) -> None:
    # "aaa" sorts first but needs "zzz", which is disabled: the dependency decides first.
    registry = load(
        make_settings(LUMIKU_DISABLE_PLUGINS="zzz"),
        PluginSpec(id="aaa", requires=("plugin:zzz",)),
        PluginSpec(id="bbb", requires=(soft("plugin:zzz"),)),
        PluginSpec(id="zzz"),
    )
    assert states(registry) == {
        "aaa": ("disabled", "dependency_unavailable"),
        "bbb": ("degraded", "dependency_unavailable"),
        "zzz": ("disabled", "disabled_by_env"),
    }
    reason = registry.records["aaa"].reason
    assert "zzz" in reason
    assert "disabled (by env)" in reason


def test_a_missing_plugin_dependency_says_it_is_not_installed(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(make_settings(), PluginSpec(id="poses", requires=("plugin:avatars",)))
    record = registry.records["poses"]
    assert record.state is PluginState.DISABLED
    assert record.reason == "needs plugin avatars (not installed)"


def test_a_plugin_whose_import_raises_is_failed_and_the_others_load(
    make_settings: Callable[..., Settings],
) -> None:
    def explode() -> object:
        raise ImportError("No module named 'missing_dependency'")

    registry = load(
        make_settings(), Candidate("broken", "broken-dist", explode), PluginSpec(id="fine")
    )
    broken = registry.records["broken"]
    assert broken.state is PluginState.FAILED
    assert broken.reason_code is ReasonCode.IMPORT_ERROR
    assert broken.reason == "ImportError: No module named 'missing_dependency'"
    assert broken.distribution == "broken-dist"
    assert broken.to_json()["version"] == "?"
    assert registry.records["fine"].state is PluginState.RUNNING


def test_a_plugin_turned_off_by_the_deployer_is_never_imported(
    make_settings: Callable[..., Settings],
) -> None:
    imported: list[str] = []

    def load_spec(name: str) -> Callable[[], object]:
        def load() -> object:
            imported.append(name)
            raise ImportError(f"{name} is broken")

        return load

    registry = load(
        make_settings(LUMIKU_DISABLE_PLUGINS="by_env", LUMIKU_SAFE_MODE="1"),
        Candidate("by_env", "by-env-dist", load_spec("by_env"), "3.1.4"),
        Candidate("third_party", "third-party-dist", load_spec("third_party"), "1.0"),
        Candidate("shipped", "shipped-dist", load_spec("shipped"), "0.1", bundled=True),
    )
    assert imported == ["shipped"]
    assert states(registry) == {
        "by_env": ("disabled", "disabled_by_env"),
        "shipped": ("failed", "import_error"),
        "third_party": ("disabled", "safe_mode"),
    }
    assert registry.records["by_env"].version == "3.1.4"
    assert registry.records["by_env"].describe() == "disabled (by env)"


def test_the_version_comes_from_the_spec_else_from_the_distribution(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(
        make_settings(),
        Candidate("unversioned", "unversioned-dist", lambda: PluginSpec(id="unversioned"), "2.5.0"),
        Candidate("pinned", "pinned-dist", lambda: PluginSpec(id="pinned", version="9.9"), "1.0"),
        PluginSpec(id="in_memory"),
    )
    versions = {record.id: record.to_json()["version"] for record in registry.sorted_records()}
    assert versions == {"in_memory": "?", "pinned": "9.9", "unversioned": "2.5.0"}


def test_an_entry_point_must_point_at_a_plugin_spec(make_settings: Callable[..., Settings]) -> None:
    registry = load(make_settings(), Candidate("odd", "odd-dist", lambda: {"id": "odd"}))
    record = registry.records["odd"]
    assert (record.state, record.reason_code) == (PluginState.FAILED, ReasonCode.INVALID_SPEC)
    assert "lumiku.PluginSpec" in record.reason
    assert "dict" in record.reason


def test_the_entry_point_name_must_match_the_spec_id(
    make_settings: Callable[..., Settings],
) -> None:
    spec = PluginSpec(id="real_id")
    registry = load(make_settings(), Candidate("other_name", "dist", lambda: spec))
    record = registry.records["real_id"]
    assert record.state is PluginState.FAILED
    assert "'other_name'" in record.reason
    assert "'real_id'" in record.reason


def test_a_duplicate_id_fails_the_second_plugin(make_settings: Callable[..., Settings]) -> None:
    spec = PluginSpec(id="twin")
    registry = load(
        make_settings(),
        Candidate("twin", "first-dist", lambda: spec),
        Candidate("twin", "second-dist", lambda: PluginSpec(id="twin")),
    )
    assert registry.records["twin"].state is PluginState.RUNNING
    duplicate = registry.records["twin@second-dist"]
    assert duplicate.reason_code is ReasonCode.DUPLICATE_ID
    assert duplicate.state is PluginState.FAILED


# -- hook validation ---------------------------------------------------------------------


def test_a_hooks_module_that_cannot_be_imported_fails_its_plugin(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lkt_exploding_hooks.py").write_text("raise RuntimeError('kaboom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load(
        make_settings(),
        PluginSpec(id="exploding", hooks="lkt_exploding_hooks"),
        PluginSpec(id="absent", hooks="lkt_no_such_module_anywhere"),
        PluginSpec(id="fine", hooks=hooks(startup=lambda ctx: None)),  # type: ignore[arg-type]
    )
    monkeypatch.delitem(sys.modules, "lkt_exploding_hooks", raising=False)
    assert states(registry) == {
        "absent": ("failed", "import_error"),
        "exploding": ("failed", "import_error"),
        "fine": ("running", "ok"),
    }
    assert registry.records["exploding"].reason == "RuntimeError: kaboom at import"
    assert "lkt_no_such_module_anywhere" in registry.records["absent"].reason
    assert registry.records["fine"].hooks == ["startup"]


def test_a_hookimpl_with_an_unknown_argument_is_failed_naming_plugin_hook_and_argument(
    make_settings: Callable[..., Settings],
) -> None:
    def register_routes(ctx: Any, request: Any) -> list[Any]:
        return []

    registry = load(
        make_settings(),
        PluginSpec(id="typo", hooks=hooks(register_routes=register_routes)),  # type: ignore[arg-type]
        PluginSpec(id="fine", hooks=hooks(register_routes=lambda ctx: [])),  # type: ignore[arg-type]
    )
    record = registry.records["typo"]
    assert (record.state, record.reason_code) == (PluginState.FAILED, ReasonCode.INVALID_HOOK)
    assert "'typo'" in record.reason
    assert "register_routes" in record.reason
    assert "request" in record.reason
    assert not registry.implements("typo", "register_routes")
    assert registry.records["fine"].state is PluginState.RUNNING
    assert registry.implements("fine", "register_routes")


def test_a_hookimpl_for_an_unknown_hook_is_failed_naming_plugin_and_hook(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(
        make_settings(),
        PluginSpec(id="typo", hooks=hooks(register_route=lambda ctx: [])),  # type: ignore[arg-type]
        PluginSpec(id="fine", hooks=hooks(startup=lambda: None)),  # type: ignore[arg-type]
    )
    record = registry.records["typo"]
    assert (record.state, record.reason_code) == (PluginState.FAILED, ReasonCode.INVALID_HOOK)
    assert "'typo'" in record.reason
    assert "register_route" in record.reason
    assert registry.records["fine"].state is PluginState.RUNNING
    assert registry.records["fine"].hooks == ["startup"]


# -- requirements ------------------------------------------------------------------------


def test_redis_requirements_without_redis(make_settings: Callable[..., Settings]) -> None:
    registry = load(
        make_settings(),
        PluginSpec(id="soft_one", requires=(soft("redis"),)),
        PluginSpec(id="hard_one", requires=(hard("redis"),)),
        PluginSpec(id="db_only", requires=("database",)),
        redis=False,
    )
    assert states(registry) == {
        "db_only": ("running", "ok"),
        "hard_one": ("disabled", "redis_unavailable"),
        "soft_one": ("degraded", "redis_unavailable"),
    }
    assert "Redis" in registry.records["soft_one"].reason
    assert registry.records["soft_one"].missing_soft == ["redis"]
    with_redis = load(
        make_settings(), PluginSpec(id="hard_one", requires=(hard("redis"),)), redis=True
    )
    assert states(with_redis) == {"hard_one": ("running", "ok")}


def test_config_requirements_read_the_environment(make_settings: Callable[..., Settings]) -> None:
    specs = (
        PluginSpec(id="needs_key", requires=("config:ACME_API_KEY",)),
        PluginSpec(id="likes_key", requires=(soft("config:ACME_API_KEY"),)),
    )
    without = load(make_settings(), *specs)
    assert states(without) == {
        "likes_key": ("degraded", "missing_config"),
        "needs_key": ("disabled", "missing_config"),
    }
    assert without.records["needs_key"].reason == "ACME_API_KEY is not set"
    with_key = load(make_settings(ACME_API_KEY="k"), *specs)
    assert states(with_key) == {"likes_key": ("running", "ok"), "needs_key": ("running", "ok")}


def test_redis_going_away_and_coming_back_flips_only_the_plugins_that_need_it(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(
        make_settings(LUMIKU_DISABLE_PLUGINS="off_by_env"),
        PluginSpec(id="soft_one", requires=(soft("redis"),)),
        PluginSpec(id="hard_one", requires=(hard("redis"),)),
        PluginSpec(id="twice_soft", requires=(soft("redis"), soft("plugin:absent"))),
        PluginSpec(id="off_by_env", requires=(hard("redis"),)),
        PluginSpec(id="plain"),
        redis=True,
    )
    assert states(registry)["twice_soft"] == ("degraded", "dependency_unavailable")
    changed = registry.set_redis_available(False)
    assert sorted(changed) == ["hard_one", "soft_one"]
    assert states(registry) == {
        "hard_one": ("disabled", "redis_unavailable"),
        "off_by_env": ("disabled", "disabled_by_env"),
        "plain": ("running", "ok"),
        "soft_one": ("degraded", "redis_unavailable"),
        "twice_soft": ("degraded", "redis_unavailable"),
    }
    assert registry.set_redis_available(False) == []
    changed = registry.set_redis_available(True)
    assert sorted(changed) == ["hard_one", "soft_one"]
    assert states(registry)["soft_one"] == ("running", "ok")
    assert states(registry)["hard_one"] == ("running", "ok")
    assert states(registry)["off_by_env"] == ("disabled", "disabled_by_env")
    # Still missing its other soft requirement.
    assert registry.records["twice_soft"].state is PluginState.DEGRADED


def views(registry: PluginRegistry) -> dict[str, tuple[str, str, str]]:
    return {r.id: (str(r.state), str(r.reason_code), r.reason) for r in registry.sorted_records()}


def test_after_a_redis_flap_states_are_those_of_a_boot_in_the_same_conditions(
    make_settings: Callable[..., Settings],
) -> None:
    specs = (
        PluginSpec(id="studio", requires=(soft("redis"), soft("config:STUDIO_API_KEY"))),
        PluginSpec(id="keyed_first", requires=(soft("config:STUDIO_API_KEY"), soft("redis"))),
        PluginSpec(id="queue", requires=(hard("redis"), soft("config:STUDIO_API_KEY"))),
        PluginSpec(id="plain", requires=(soft("redis"),)),
    )
    settings = make_settings()
    booted_up, booted_down = load(settings, *specs, redis=True), load(settings, *specs)
    assert views(booted_up) == {
        "keyed_first": ("degraded", "missing_config", "STUDIO_API_KEY is not set"),
        "plain": ("running", "ok", ""),
        "queue": ("degraded", "missing_config", "STUDIO_API_KEY is not set"),
        "studio": ("degraded", "missing_config", "STUDIO_API_KEY is not set"),
    }
    off = "Redis is not configured: no REDIS_URL or REDIS_HOST"
    assert views(booted_down) == {
        "keyed_first": (
            "degraded",
            "missing_config",
            "STUDIO_API_KEY is not set; Redis is not configured: no REDIS_URL or REDIS_HOST",
        ),
        "plain": ("degraded", "redis_unavailable", off),
        "queue": ("disabled", "redis_unavailable", off),
        "studio": (
            "degraded",
            "redis_unavailable",
            "Redis is not configured: no REDIS_URL or REDIS_HOST; STUDIO_API_KEY is not set",
        ),
    }
    registry = load(settings, *specs, redis=True)
    for _ in range(2):
        assert sorted(registry.set_redis_available(False)) == ["plain", "queue"]
        assert views(registry) == views(booted_down)
        assert registry.records["studio"].missing_soft == ["redis", "config:STUDIO_API_KEY"]
        assert sorted(registry.set_redis_available(True)) == ["plain", "queue"]
        assert views(registry) == views(booted_up)
        assert registry.records["studio"].missing_soft == ["config:STUDIO_API_KEY"]
    with_key = load(make_settings(STUDIO_API_KEY="k"), *specs)
    with_key.set_redis_available(True)
    assert {state for state, _, _ in views(with_key).values()} == {"running"}


def test_a_plugin_disabled_for_want_of_redis_keeps_its_hooks(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(
        make_settings(),
        PluginSpec(
            id="hard_one",
            requires=(hard("redis"),),
            hooks=hooks(startup=lambda: None),  # type: ignore[arg-type]
        ),
        PluginSpec(
            id="by_env",
            hooks=hooks(startup=lambda: None),  # type: ignore[arg-type]
        ),
    )
    registry_env = load(
        make_settings(LUMIKU_DISABLE_PLUGINS="by_env"),
        PluginSpec(id="by_env", hooks=hooks(startup=lambda: None)),  # type: ignore[arg-type]
    )
    assert registry.records["hard_one"].loaded
    assert [r.id for r in registry.loaded()] == ["by_env", "hard_one"]
    assert not registry_env.records["by_env"].loaded
    assert registry_env.loaded() == []


# -- toggles -----------------------------------------------------------------------------

# "shipped" comes from a distribution that lists it in the ``lumiku.bundled`` group.
SHIPPED = Candidate("shipped", "shipped-dist", lambda: PluginSpec(id="shipped"), bundled=True)
SPECS = (SHIPPED, PluginSpec(id="third_party"), PluginSpec(id="other"))


@pytest.mark.parametrize(
    ("env", "toml", "expected"),
    [
        (
            {"LUMIKU_DISABLE_PLUGINS": "third_party, other"},
            "",
            {
                "shipped": ("running", "ok"),
                "other": ("disabled", "disabled_by_env"),
                "third_party": ("disabled", "disabled_by_env"),
            },
        ),
        (
            {},
            '[plugins]\ndisabled = ["other"]\n',
            {
                "shipped": ("running", "ok"),
                "other": ("disabled", "disabled_by_config"),
                "third_party": ("running", "ok"),
            },
        ),
        (
            {"LUMIKU_PLUGINS": "other"},
            '[plugins]\nenabled = ["third_party"]\n',
            {
                "shipped": ("disabled", "not_in_allowlist"),
                "other": ("running", "ok"),
                "third_party": ("disabled", "not_in_allowlist"),
            },
        ),
        (
            {},
            '[plugins]\nenabled = ["third_party"]\n',
            {
                "shipped": ("disabled", "not_in_allowlist"),
                "other": ("disabled", "not_in_allowlist"),
                "third_party": ("running", "ok"),
            },
        ),
        (
            {"LUMIKU_PLUGINS": ""},
            "",
            {
                "shipped": ("disabled", "not_in_allowlist"),
                "other": ("disabled", "not_in_allowlist"),
                "third_party": ("disabled", "not_in_allowlist"),
            },
        ),
        (
            {"LUMIKU_SAFE_MODE": "1"},
            "",
            {
                "shipped": ("running", "ok"),
                "other": ("disabled", "safe_mode"),
                "third_party": ("disabled", "safe_mode"),
            },
        ),
        (
            {},
            "[plugins]\nsafe_mode = true\n",
            {
                "shipped": ("running", "ok"),
                "other": ("disabled", "safe_mode"),
                "third_party": ("disabled", "safe_mode"),
            },
        ),
        (
            {"LUMIKU_SAFE_MODE": "false"},
            "[plugins]\nsafe_mode = true\n",
            {
                "shipped": ("running", "ok"),
                "other": ("running", "ok"),
                "third_party": ("running", "ok"),
            },
        ),
        (
            {"LUMIKU_DISABLE_PLUGINS": "other"},
            '[plugins]\ndisabled = ["other", "third_party"]\n',
            {
                "shipped": ("running", "ok"),
                "other": ("disabled", "disabled_by_env"),
                "third_party": ("disabled", "disabled_by_config"),
            },
        ),
    ],
    ids=[
        "disable-env",
        "disable-toml",
        "allowlist-env-wins",
        "allowlist-toml",
        "allowlist-empty",
        "safe-mode-env",
        "safe-mode-toml",
        "safe-mode-env-wins",
        "disable-both",
    ],
)
def test_toggles(
    make_settings: Callable[..., Settings],
    env: dict[str, str],
    toml: str,
    expected: dict[str, tuple[str, str]],
) -> None:
    assert states(load(make_settings(toml, **env), *SPECS)) == expected


def test_toggle_reasons_are_readable(make_settings: Callable[..., Settings]) -> None:
    registry = load(
        make_settings('[plugins]\ndisabled = ["other"]\n', LUMIKU_DISABLE_PLUGINS="third_party"),
        *SPECS,
    )
    assert registry.records["third_party"].describe() == "disabled (by env)"
    assert registry.records["other"].describe() == "disabled (by config)"
    safe = load(make_settings(LUMIKU_SAFE_MODE="yes"), *SPECS)
    assert "safe mode" in safe.records["other"].reason
    allow = load(make_settings(LUMIKU_PLUGINS="other"), *SPECS)
    assert "LUMIKU_PLUGINS" in allow.records["third_party"].reason


# -- plugin settings and credit overrides --------------------------------------------------


@attrs.frozen
class StudioSettings:
    """Settings of a test plugin."""

    api_base: str
    max_images: int = 4
    watermark: bool = False


STUDIO = PluginSpec(
    id="photo_studio",
    settings=StudioSettings,
    credits={"generateImage": 10, "upscale": 2},
)


def test_plugin_settings_come_from_toml_and_env_with_env_winning(
    make_settings: Callable[..., Settings],
) -> None:
    toml = (
        '[plugins.photo_studio]\napi_base = "https://toml.example"\nmax_images = 6\n\n'
        "[credits.photo_studio]\ngenerateImage = 12\nupscale = 3\n"
    )
    registry = load(
        make_settings(
            toml,
            PHOTO_STUDIO_MAX_IMAGES="8",
            PHOTO_STUDIO_WATERMARK="yes",
            PHOTO_STUDIO_CREDITS_UPSCALE="0",
        ),
        STUDIO,
    )
    record = registry.records["photo_studio"]
    assert record.state is PluginState.RUNNING
    assert record.settings == StudioSettings("https://toml.example", 8, True)
    assert record.credits == {"generateImage": 12, "upscale": 0}
    assert dict(STUDIO.credits) == {"generateImage": 10, "upscale": 2}


def test_credit_overrides_use_upper_snake_case_variables(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(
        make_settings(PHOTO_STUDIO_API_BASE="x", PHOTO_STUDIO_CREDITS_GENERATE_IMAGE="25"), STUDIO
    )
    assert registry.records["photo_studio"].credits == {"generateImage": 25, "upscale": 2}


@pytest.mark.parametrize(
    ("env", "variables"),
    [
        ({}, ["PHOTO_STUDIO_API_BASE"]),
        (
            {"PHOTO_STUDIO_API_BASE": "x", "PHOTO_STUDIO_MAX_IMAGES": "many"},
            ["PHOTO_STUDIO_MAX_IMAGES"],
        ),
        (
            {"PHOTO_STUDIO_MAX_IMAGES": "many", "PHOTO_STUDIO_WATERMARK": "perhaps"},
            ["PHOTO_STUDIO_API_BASE", "PHOTO_STUDIO_MAX_IMAGES", "PHOTO_STUDIO_WATERMARK"],
        ),
        (
            {"PHOTO_STUDIO_API_BASE": "x", "PHOTO_STUDIO_CREDITS_UPSCALE": "-1"},
            ["PHOTO_STUDIO_CREDITS_UPSCALE"],
        ),
        (
            {"PHOTO_STUDIO_API_BASE": "x", "PHOTO_STUDIO_CREDITS_UPSCALE": "cheap"},
            ["PHOTO_STUDIO_CREDITS_UPSCALE"],
        ),
        (
            {"PHOTO_STUDIO_API_BASE": "x", "PHOTO_STUDIO_CREDITS_UPSCALE": "1000000001"},
            ["PHOTO_STUDIO_CREDITS_UPSCALE"],
        ),
        (
            {"PHOTO_STUDIO_API_BASE": "x", "PHOTO_STUDIO_CREDITS_UPSCALE": "\uff11\uff12"},
            ["PHOTO_STUDIO_CREDITS_UPSCALE"],
        ),
    ],
    ids=[
        "missing",
        "not-an-int",
        "all-at-once",
        "negative-credits",
        "bad-credits",
        "credits-over-max-amount",
        "fullwidth-credits",
    ],
)
def test_bad_plugin_settings_disable_the_plugin_naming_each_variable(
    make_settings: Callable[..., Settings], env: dict[str, str], variables: list[str]
) -> None:
    registry = load(make_settings(**env), STUDIO, PluginSpec(id="fine"))
    record = registry.records["photo_studio"]
    assert (record.state, record.reason_code) == (PluginState.DISABLED, ReasonCode.MISSING_CONFIG)
    for variable in variables:
        assert variable in record.reason
    assert registry.records["fine"].state is PluginState.RUNNING


def test_the_public_view_of_a_record_never_holds_settings(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(make_settings(PHOTO_STUDIO_API_BASE="https://private.example/tok3n"), STUDIO)
    view = registry.records["photo_studio"].to_json()
    assert "tok3n" not in repr(view)
    assert set(view) == {
        "id",
        "title",
        "version",
        "distribution",
        "state",
        "reason",
        "reasonCode",
        "routePrefix",
        "hooks",
        "routes",
        "credits",
    }


# -- settings with their own variable names, checks, and production -----------------------


@attrs.frozen
class GatewaySettings:
    """Settings of a test payment gateway: documented variable names, a secret, rules."""

    merchant: str = setting("", env="ACME_MERCHANT")
    api_key: str = setting("", env="ACME_API_KEY", secret=True)
    pin: int = setting(0, env="ACME_PIN", secret=True)
    callback_url: str = setting("", env="ACME_CALLBACK_URL")
    timeout: int = 10

    def problems(self, *, production: bool) -> list[tuple[str, str]]:
        found = []
        if production and not self.callback_url.startswith("https://"):
            found.append(("ACME_CALLBACK_URL", "must be an https:// URL in production"))
        if self.api_key == "changeme":
            found.append(("ACME_API_KEY", "looks like a placeholder"))
        return found


GATEWAY = PluginSpec(
    id="acme_gateway",
    requires=(hard("config:ACME_MERCHANT"), hard("config:ACME_API_KEY"), soft("redis")),
    settings=GatewaySettings,
    required_in_production=True,
)


def test_a_setting_is_read_from_the_variable_it_names(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(
        make_settings(
            ACME_MERCHANT="M1",
            ACME_API_KEY="k-123",
            ACME_GATEWAY_API_KEY="ignored",
            ACME_GATEWAY_TIMEOUT="30",
        ),
        GATEWAY,
        redis=True,
    )
    record = registry.records["acme_gateway"]
    assert record.state is PluginState.RUNNING
    assert (record.settings.merchant, record.settings.api_key) == ("M1", "k-123")
    assert record.settings.timeout == 30
    assert "k-123" not in repr(record.settings)


def test_every_configuration_problem_is_named_in_one_reason(
    make_settings: Callable[..., Settings],
) -> None:
    registry = load(make_settings(ACME_PIN="12ab34", ACME_GATEWAY_TIMEOUT="soon"), GATEWAY)
    record = registry.records["acme_gateway"]
    assert (record.state, record.reason_code) == (PluginState.DISABLED, ReasonCode.MISSING_CONFIG)
    assert record.reason.startswith("ACME_MERCHANT and ACME_API_KEY are not set; ")
    assert "ACME_GATEWAY_TIMEOUT" in record.reason
    assert "ACME_PIN: expected a whole number (the value is secret: not shown)" in record.reason
    assert "12ab34" not in record.reason  # a secret's value is never shown
    assert registry.configuration_errors() == []  # not production: the host starts


def test_a_settings_class_checks_its_values_with_the_environment(
    make_settings: Callable[..., Settings],
) -> None:
    keyed = {"ACME_MERCHANT": "M1", "ACME_API_KEY": "changeme", "ACME_CALLBACK_URL": "http://x"}
    record = load(make_settings(**keyed), GATEWAY, redis=True).records["acme_gateway"]
    assert record.reason == "ACME_API_KEY: looks like a placeholder"

    production = make_settings(
        LUMIKU_ENV="production",
        CORS_ORIGIN="https://app.example.org",
        LUMIKU_PUBLIC_URL="https://api.example.org",
        REDIS_ENABLED="false",
        JWT_SECRET="Zq8#vN2$wLp5@kRt9^mXy3&bHc7!dFg4",
        **{**keyed, "ACME_API_KEY": "k-123"},
    )
    registry = load(production, GATEWAY, PluginSpec(id="optional", requires=("config:NOPE",)))
    record = registry.records["acme_gateway"]
    assert record.reason == "ACME_CALLBACK_URL: must be an https:// URL in production"
    assert registry.configuration_errors() == [f"plugin acme_gateway: {record.reason}"]

    turned_off = make_settings(
        LUMIKU_ENV="production",
        CORS_ORIGIN="https://app.example.org",
        LUMIKU_PUBLIC_URL="https://api.example.org",
        REDIS_ENABLED="false",
        JWT_SECRET="Zq8#vN2$wLp5@kRt9^mXy3&bHc7!dFg4",
        LUMIKU_DISABLE_PLUGINS="acme_gateway",
    )
    assert load(turned_off, GATEWAY).configuration_errors() == []  # the deployer's choice


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, "Redis is not configured: no REDIS_URL or REDIS_HOST"),
        ({"REDIS_ENABLED": "false"}, "Redis is disabled by REDIS_ENABLED=false"),
    ],
)
def test_a_plugin_degraded_for_redis_off_says_why_in_one_pair_of_parentheses(
    make_settings: Callable[..., Settings], env: dict[str, str], reason: str
) -> None:
    registry = load(make_settings(**env), PluginSpec(id="plain", requires=(soft("redis"),)))
    record = registry.records["plain"]
    assert record.describe() == f"degraded ({reason})"
    assert record.describe().count("(") == 1
