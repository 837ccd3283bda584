"""``HookDispatcher``: arguments, awaitables, the failure policies, logs and the metric.

Each test builds its own registry and dispatcher.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lumiku import PluginSpec, hookimpl
from lumiku.plugins.dispatch import (
    FAIL_PLUGIN,
    FAIL_STARTUP,
    LOG_AND_GO_ON,
    HookDispatcher,
    HookFailed,
    UnusableResult,
)
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginState, ReasonCode
from lumiku.settings import load_settings

SECRET = "dispatch-tests-0123456789-abcdefghijklmnop"
Errors = list[tuple[str, str, str]]


def plugin(plugin_id: str, **impls: Callable[..., Any]) -> PluginSpec:
    namespace = types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in impls.items()})
    return PluginSpec(id=plugin_id, hooks=namespace)  # type: ignore[arg-type]


@pytest.fixture
def errors() -> Errors:
    return []


@pytest.fixture
def make(tmp_path: Path, errors: Errors) -> Callable[..., tuple[PluginRegistry, HookDispatcher]]:
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    settings = load_settings(
        {"LUMIKU_ENV": "test", "JWT_SECRET": SECRET, "LUMIKU_CONFIG": str(config)}
    )

    def make(*specs: PluginSpec) -> tuple[PluginRegistry, HookDispatcher]:
        registry = PluginRegistry(settings, redis_available=False)
        registry.load(specs)
        dispatcher = HookDispatcher(
            registry, on_error=lambda plugin, hook, exc: errors.append((plugin, hook, str(exc)))
        )
        return registry, dispatcher

    return make


def test_an_implementation_receives_only_the_arguments_it_declares(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]],
) -> None:
    seen: list[object] = []
    registry, hooks = make(plugin("lean", register_actors=lambda broker: seen.append(broker)))
    record = registry.records["lean"]
    hooks.call(
        "register_actors",
        record,
        {"ctx": "the context", "broker": "the broker"},
        on_failure=FAIL_PLUGIN,
    )
    assert seen == ["the broker"]


def test_a_plugin_without_the_hook_is_called_as_if_it_returned_none(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]],
) -> None:
    registry, hooks = make(plugin("quiet", startup=lambda: None))
    record = registry.records["quiet"]
    routes = hooks.call(
        "register_routes", record, {"ctx": None}, on_failure=FAIL_PLUGIN, accept=list_of
    )
    assert routes == []
    assert list(hooks.each("register_routes", [record], on_failure=FAIL_PLUGIN)) == []


def list_of(value: Any) -> list[Any]:
    return list(value or [])


def test_log_and_go_on_skips_a_raising_hook_and_calls_the_others(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]],
    errors: Errors,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("provider table is broken")

    registry, hooks = make(
        plugin("aaa", register_image_providers=boom),
        plugin("bbb", register_image_providers=lambda: {"b": 1}),
    )
    results = list(
        hooks.each("register_image_providers", registry.serving(), on_failure=LOG_AND_GO_ON)
    )
    assert [(record.id, result) for record, result in results] == [("bbb", {"b": 1})]
    assert errors == [("aaa", "register_image_providers", "provider table is broken")]
    assert "plugin 'aaa', hook 'register_image_providers'" in caplog.text
    assert registry.records["aaa"].state is PluginState.RUNNING

    failure = hooks.call(
        "register_image_providers", registry.records["aaa"], {}, on_failure=LOG_AND_GO_ON
    )
    assert isinstance(failure, HookFailed)
    assert str(failure) == (
        "plugin 'aaa', hook 'register_image_providers': RuntimeError: provider table is broken"
    )
    assert (failure.plugin_id, failure.hook) == ("aaa", "register_image_providers")
    assert isinstance(failure.cause, RuntimeError)


def test_fail_plugin_marks_the_plugin_failed_naming_plugin_and_hook(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]], errors: Errors
) -> None:
    def register_routes(ctx: Any) -> list[Any]:
        raise KeyError("table")

    registry, hooks = make(plugin("broken", register_routes=register_routes))
    record = registry.records["broken"]
    result = hooks.call("register_routes", record, {"ctx": None}, on_failure=FAIL_PLUGIN)
    assert isinstance(result, HookFailed)
    assert (record.state, record.reason_code) == (PluginState.FAILED, ReasonCode.HOOK_ERROR)
    assert record.reason == "plugin 'broken', hook 'register_routes': KeyError: 'table'"
    assert errors == [("broken", "register_routes", "'table'")]


def test_an_unusable_result_fails_like_a_raise_with_the_rule_as_reason(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]],
    errors: Errors,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(result: Any) -> list[Any]:
        raise UnusableResult(f"namespace {result[0]!r} must start with '/'")

    registry, hooks = make(plugin("odd", register_realtime=lambda: ["chat"]))
    record = registry.records["odd"]
    hooks.call("register_realtime", record, {}, on_failure=FAIL_PLUGIN, accept=refuse)
    assert record.state is PluginState.FAILED
    assert (
        record.reason
        == "plugin 'odd', hook 'register_realtime': namespace 'chat' must start with '/'"
    )
    assert errors == [("odd", "register_realtime", "namespace 'chat' must start with '/'")]
    assert "Traceback" not in caplog.text  # a broken rule is explained by its message


def test_an_awaitable_result_is_awaited_and_its_failure_follows_the_policy(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]], errors: Errors
) -> None:
    events: list[str] = []

    async def warm_up() -> str:
        events.append("warmed")
        return "ready"

    async def refuse() -> None:
        raise ConnectionError("warm-up failed")

    registry, hooks = make(
        plugin("good", startup=lambda: warm_up()),
        plugin("sync", startup=lambda: events.append("sync") and None),
        plugin("bad", startup=lambda: refuse()),
    )

    async def start_all() -> list[Any]:
        return [
            await hooks.call_async("startup", record, {"ctx": None}, on_failure=FAIL_STARTUP)
            for record in registry.serving()
        ]

    results = asyncio.run(start_all())
    assert results[1:] == ["ready", None]
    assert isinstance(results[0], HookFailed)
    assert events == ["warmed", "sync"]
    bad = registry.records["bad"]
    assert (bad.state, bad.reason_code) == (PluginState.FAILED, ReasonCode.STARTUP_ERROR)
    assert bad.reason == "plugin 'bad', hook 'startup': ConnectionError: warm-up failed"
    assert errors == [("bad", "startup", "warm-up failed")]  # counted once


def test_an_awaitable_from_a_data_hook_is_refused_with_the_rule(
    make: Callable[..., tuple[PluginRegistry, HookDispatcher]],
) -> None:
    async def register_routes(ctx: Any) -> list[Any]:
        return []

    registry, hooks = make(plugin("eager", register_routes=register_routes))
    record = registry.records["eager"]
    result = hooks.call("register_routes", record, {"ctx": None}, on_failure=FAIL_PLUGIN)
    assert isinstance(result, HookFailed)
    assert record.reason == (
        "plugin 'eager', hook 'register_routes': it returned an awaitable; hooks are "
        "synchronous and return data (only startup and shutdown may return an awaitable)"
    )
