"""``PluginSpec`` and ``Requirement``: defaults, validation, and the facade plugins import."""

from __future__ import annotations

import subprocess
import sys

import attrs
import pytest

import lumiku
from lumiku import PluginSpec, Requirement, hard, soft


def test_only_the_id_is_required() -> None:
    spec = PluginSpec(id="photo_booth")
    assert spec.prefix == "/api/apps/photo-booth"
    assert spec.display_title == "Photo Booth"
    assert spec.version is None  # the distribution's version is shown instead
    assert spec.requires == ()
    assert dict(spec.credits) == {}
    assert spec.settings is None
    assert spec.hooks is None


def test_an_explicit_route_prefix_and_title_win() -> None:
    spec = PluginSpec(id="payments", title="Pay", route_prefix="/api/payments")
    assert spec.prefix == "/api/payments"
    assert spec.display_title == "Pay"


@pytest.mark.parametrize("bad", ["", "a", "Photo", "photo-booth", "1photo", "photo booth", "é"])
def test_the_id_must_be_snake_case(bad: str) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        PluginSpec(id=bad)


@pytest.mark.parametrize("bad", ["api/apps/x", "/api/apps/x/", "/"])
def test_the_route_prefix_starts_with_a_slash_and_does_not_end_with_one(bad: str) -> None:
    with pytest.raises(ValueError, match="route_prefix"):
        PluginSpec(id="photo", route_prefix=bad)


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        ({"generate": -1}, "non-negative integer"),
        ({"generate": 1.5}, "non-negative integer"),
        ({"generate": True}, "non-negative integer"),
        ({"generate now": 1}, "identifier"),
    ],
)
def test_credit_costs_are_whole_non_negative_numbers(
    credits: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PluginSpec(id="photo", credits=credits)  # type: ignore[arg-type]


def test_requirements_accept_strings_and_default_to_hard() -> None:
    spec = PluginSpec(id="photo", requires=("database", soft("redis"), "plugin:avatar_creator"))
    assert spec.requires == (
        Requirement("database", "hard"),
        Requirement("redis", "soft"),
        Requirement("plugin:avatar_creator", "hard"),
    )
    assert PluginSpec(id="photo", requires="redis").requires == (hard("redis"),)
    assert hard("config:DUITKU_API_KEY").level == "hard"


@pytest.mark.parametrize("bad", ["postgres", "config:lower", "plugin:Bad", "redis:6379", ""])
def test_unknown_capabilities_are_refused_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ValueError, match=r"database, redis, config:<UPPER_KEY> or plugin:"):
        Requirement(bad)


def test_a_requirement_level_is_hard_or_soft() -> None:
    with pytest.raises(ValueError, match="'hard' or 'soft'"):
        Requirement("redis", "maybe")  # type: ignore[arg-type]


def test_a_spec_is_frozen() -> None:
    spec = PluginSpec(id="photo")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.id = "other"  # type: ignore[misc]


def test_every_name_of_the_facade_resolves() -> None:
    for name in lumiku.__all__:
        assert getattr(lumiku, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = lumiku.nothing_here


def test_importing_a_spec_stays_cheap() -> None:
    # A plugin's entry point is loaded for every listing; it must not drag in the web stack.
    code = (
        "import sys\n"
        "from lumiku import PluginSpec, hookimpl, hard, soft\n"
        "PluginSpec(id='cheap', requires=(hard('database'), soft('redis')))\n"
        "heavy = [m for m in ('starlette', 'sqlalchemy', 'PIL', 'dramatiq', 'socketio')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_importing_the_plugin_context_pulls_in_no_core_service_or_settings() -> None:
    # Hooks modules import PluginContext for their annotations: the services are handed in.
    code = (
        "import sys\n"
        "from lumiku import PluginContext\n"
        "loaded = [m for m in ('lumiku.settings', 'lumiku.metrics', 'lumiku.ratelimit',"
        " 'sqlalchemy', 'limits', 'prometheus_client') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
