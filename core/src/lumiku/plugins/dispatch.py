"""Call plugin hooks: one place for arguments, awaitables, failures, logs and metrics.

Every caller names a policy for a hook that raises (or returns something the core cannot
use): mark the plugin ``failed`` with a reason code, or log and go on. Whatever the policy,
the failure is logged once, naming the plugin and the hook, and counted once.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from lumiku.logs import plugin_scope
from lumiku.plugins.state import PluginRecord, PluginState, ReasonCode

if TYPE_CHECKING:
    from lumiku.plugins.registry import PluginRegistry

logger = logging.getLogger("lumiku.plugins")

T = TypeVar("T")
HookErrorListener = Callable[[str, str, BaseException], None]
KwargsFor = Callable[[PluginRecord], dict[str, Any]]


class HookFailed(Exception):
    """A plugin's hook raised or returned something unusable (``cause`` says which)."""

    def __init__(self, plugin_id: str, hook: str, cause: BaseException) -> None:
        shown = cause if isinstance(cause, UnusableResult) else f"{type(cause).__name__}: {cause}"
        super().__init__(f"plugin {plugin_id!r}, hook {hook!r}: {shown}")
        self.plugin_id = plugin_id
        self.hook = hook
        self.cause = cause


class UnusableResult(Exception):
    """A hook returned a value the core refuses; the message says which rule it broke."""


@attrs.frozen
class Policy:
    """What a failing hook does to its plugin: ``failed`` with ``reason_code``, or nothing."""

    reason_code: ReasonCode | None


FAIL_PLUGIN = Policy(ReasonCode.HOOK_ERROR)
"""The plugin cannot work without what the hook gives (routes, actors, schedules, realtime)."""
FAIL_STARTUP = Policy(ReasonCode.STARTUP_ERROR)
"""``startup`` raised: the plugin is ``failed`` and its ``shutdown`` is not called."""
LOG_AND_GO_ON = Policy(None)
"""The plugin keeps its state (shutdown, health checks, commands, image providers)."""


_SYNC_ONLY = (
    "it returned an awaitable; hooks are synchronous and return data "
    "(only startup and shutdown may return an awaitable)"
)


def _nothing(value: Any) -> Any:
    return value


class HookDispatcher:
    """Call the hooks of a registry's plugins under a failure policy.

    A plugin that does not implement a hook is treated as one whose implementation returned
    ``None``. ``accept`` turns a result into what the caller uses; what it raises means the
    plugin returned something unusable, a failure of the hook whose reason is the message
    (the rule broken). A failure is returned as a ``HookFailed`` (never raised), after the
    policy was applied.
    """

    def __init__(self, registry: PluginRegistry, *, on_error: HookErrorListener | None = None):
        self._registry = registry
        self._on_error = on_error

    @overload
    def call(
        self,
        hook: str,
        record: PluginRecord,
        kwargs: Mapping[str, Any],
        *,
        on_failure: Policy,
        accept: Callable[[Any], T],
    ) -> T | HookFailed: ...

    @overload
    def call(
        self, hook: str, record: PluginRecord, kwargs: Mapping[str, Any], *, on_failure: Policy
    ) -> Any: ...

    def call(
        self,
        hook: str,
        record: PluginRecord,
        kwargs: Mapping[str, Any],
        *,
        on_failure: Policy,
        accept: Callable[[Any], Any] = _nothing,
    ) -> Any:
        """Call ``record``'s ``hook`` with ``kwargs``; return the accepted result or the failure."""
        try:
            with plugin_scope(record.id):
                result = self._registry.invoke(hook, record.id, kwargs)
        except Exception as exc:  # noqa: BLE001 - isolation: the policy decides what follows
            return self._failed(hook, record, on_failure, exc)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()  # never awaited: close it so that it does not warn later
            return self._failed(hook, record, on_failure, UnusableResult(_SYNC_ONLY))
        try:
            return accept(result)
        except UnusableResult as exc:
            return self._failed(hook, record, on_failure, exc)
        except Exception as exc:  # noqa: BLE001 - what accept refuses is the plugin's fault
            refused = UnusableResult(str(exc))
            refused.__cause__ = exc
            return self._failed(hook, record, on_failure, refused)

    async def call_async(
        self, hook: str, record: PluginRecord, kwargs: Mapping[str, Any], *, on_failure: Policy
    ) -> Any:
        """Call ``record``'s ``hook``, await its result if awaitable; return it or the failure."""
        try:
            with plugin_scope(record.id):
                result = self._registry.invoke(hook, record.id, kwargs)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:  # noqa: BLE001 - isolation: the policy decides what follows
            return self._failed(hook, record, on_failure, exc)
        return result

    @overload
    def each(
        self,
        hook: str,
        records: Iterable[PluginRecord],
        *,
        on_failure: Policy,
        kwargs_for: KwargsFor | None = None,
        accept: Callable[[Any], T],
    ) -> Iterator[tuple[PluginRecord, T]]: ...

    @overload
    def each(
        self,
        hook: str,
        records: Iterable[PluginRecord],
        *,
        on_failure: Policy,
        kwargs_for: KwargsFor | None = None,
    ) -> Iterator[tuple[PluginRecord, Any]]: ...

    def each(
        self,
        hook: str,
        records: Iterable[PluginRecord],
        *,
        on_failure: Policy,
        kwargs_for: KwargsFor | None = None,
        accept: Callable[[Any], Any] = _nothing,
    ) -> Iterator[tuple[PluginRecord, Any]]:
        """Call ``hook`` on each of ``records`` that implements it; yield the successes."""
        for record in list(records):
            if hook not in record.hooks:
                continue
            kwargs = kwargs_for(record) if kwargs_for is not None else {}
            result = self.call(hook, record, kwargs, on_failure=on_failure, accept=accept)
            if not isinstance(result, HookFailed):
                yield record, result

    def _failed(
        self, hook: str, record: PluginRecord, policy: Policy, exc: Exception
    ) -> HookFailed:
        failure = HookFailed(record.id, hook, exc)
        # A broken rule is explained by its message; a raising hook needs its traceback.
        with plugin_scope(record.id):
            logger.error(
                "❌ %s", failure, exc_info=None if isinstance(exc, UnusableResult) else exc
            )
        if self._on_error is not None:
            self._on_error(record.id, hook, exc)
        if policy.reason_code is not None:
            record.set(PluginState.FAILED, policy.reason_code, str(failure))
        return failure
