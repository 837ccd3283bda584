"""The plugin registry: load specs, decide each plugin's state, register its hooks.

Every failure is contained to its plugin: an import error, a bad spec or an invalid hook
marks that plugin ``failed`` and the host goes on. Hooks are called through
``lumiku.plugins.dispatch.HookDispatcher``. Each registry owns its own
``pluggy.PluginManager``; there is no global one.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pluggy

from lumiku.errors import ConfigurationError
from lumiku.hookspecs import HOOK_NAMES, PROJECT, LumikuHooks
from lumiku.plugins.configuration import credit_overrides, read_plugin_settings
from lumiku.plugins.discovery import Candidate
from lumiku.plugins.spec import PluginSpec
from lumiku.plugins.state import PluginRecord, PluginState, ReasonCode
from lumiku.plugins.unknown_keys import plugin_key_findings, unknown_plugin_findings
from lumiku.settings import Settings

logger = logging.getLogger("lumiku.plugins")

PluginSource = Candidate | PluginSpec


def _invalid_hook_reason(plugin_id: str, exc: pluggy.PluginValidationError) -> str:
    """Name the plugin and the hook; pluggy's own message shows the namespace's repr."""
    unknown = re.match(r"unknown hook '([^']+)'", str(exc))
    if unknown:
        return (
            f"plugin {plugin_id!r}: unknown hook {unknown.group(1)!r}; "
            f"the hooks are {', '.join(HOOK_NAMES)}"
        )
    return " ".join(str(exc).split())


def _candidate_for(source: PluginSource) -> Candidate:
    if isinstance(source, Candidate):
        return source
    return Candidate(source.id, None, lambda: source)


class PluginRegistry:
    """Hold the plugins of one app, their states and their hook implementations."""

    def __init__(
        self,
        settings: Settings,
        *,
        redis_available: bool,
    ) -> None:
        self.settings = settings
        self.redis_available = redis_available
        # What follows "Redis " in the reasons while it is away (``set_redis_available``).
        self.redis_problem = "is not answering"
        self.records: dict[str, PluginRecord] = {}
        # Plugin id -> reason, for plugins whose migrations are not at head (see
        # ``set_migrations_pending``); unknown until the database was read.
        self._pending_migrations: dict[str, str] = {}
        self._manager = pluggy.PluginManager(PROJECT)
        self._manager.add_hookspecs(LumikuHooks)

    # -- loading ---------------------------------------------------------------------------

    def load(self, sources: Iterable[PluginSource]) -> None:
        """Import each plugin's spec, decide its state and register its hooks."""
        for candidate in sorted((_candidate_for(s) for s in sources), key=lambda c: c.name):
            record = self._load_spec(candidate)
            if record.id in self.records:
                record.set(
                    PluginState.FAILED,
                    ReasonCode.DUPLICATE_ID,
                    f"another installed plugin already uses the id {record.id!r}",
                )
                record.id = f"{record.id}@{candidate.distribution or candidate.name}"
            self.records[record.id] = record
        for record in self._dependency_order():
            if record.state is PluginState.RUNNING:
                self._evaluate(record)
        for record in self.records.values():
            if record.state.serving or record.reason_code is ReasonCode.REDIS_UNAVAILABLE:
                # Plugins disabled only for want of Redis keep their hooks (their routes
                # answer 503) so that Redis coming back brings them up without a restart.
                self._register_hooks(record)
        logger.debug("plugins loaded: %s", {r.id: r.describe() for r in self.records.values()})

    def _load_spec(self, candidate: Candidate) -> PluginRecord:
        toggled = (
            self._toggle_reason(candidate.name, bundled=candidate.bundled)
            if candidate.distribution
            else None
        )
        if toggled is not None:
            # Turned off by the deployer: the package is never imported, so a broken or
            # misbehaving plugin can be kept out (what safe mode is for).
            record = self._record(candidate, candidate.name, None)
            record.set(PluginState.DISABLED, *toggled)
            return record
        try:
            spec = candidate.load()
        except Exception as exc:  # noqa: BLE001 - isolation: an import error fails one plugin
            logger.error(
                "❌ Plugin %s failed to import: %s: %s", candidate.name, type(exc).__name__, exc
            )
            record = self._record(candidate, candidate.name, None)
            record.set(PluginState.FAILED, ReasonCode.IMPORT_ERROR, f"{type(exc).__name__}: {exc}")
            return record
        if not isinstance(spec, PluginSpec):
            record = self._record(candidate, candidate.name, None)
            record.set(
                PluginState.FAILED,
                ReasonCode.INVALID_SPEC,
                f"entry point must point at a lumiku.PluginSpec, got {type(spec).__name__}",
            )
            return record
        record = self._record(candidate, spec.id, spec)
        if candidate.distribution is not None and spec.id != candidate.name:
            record.set(
                PluginState.FAILED,
                ReasonCode.INVALID_SPEC,
                f"entry point name {candidate.name!r} differs from the spec id {spec.id!r}",
            )
        return record

    @staticmethod
    def _record(candidate: Candidate, plugin_id: str, spec: PluginSpec | None) -> PluginRecord:
        return PluginRecord(
            plugin_id,
            spec,
            candidate.distribution,
            dist_version=candidate.version,
            bundled=candidate.bundled,
            package=candidate.module.partition(".")[0] if candidate.module else None,
        )

    def _dependency_order(self) -> list[PluginRecord]:
        ordered: list[PluginRecord] = []
        visiting: set[str] = set()

        def visit(record: PluginRecord) -> None:
            if record in ordered or record.id in visiting:
                return
            visiting.add(record.id)
            for requirement in record.spec.requires if record.spec else ():
                if requirement.capability.startswith("plugin:"):
                    other = self.records.get(requirement.capability.removeprefix("plugin:"))
                    if other is not None:
                        visit(other)
            visiting.discard(record.id)
            ordered.append(record)

        for record in self.records.values():
            visit(record)
        return ordered

    def _toggle_reason(self, plugin_id: str, *, bundled: bool) -> tuple[ReasonCode, str] | None:
        toggles = self.settings.plugins
        if plugin_id in toggles.disable:
            source = toggles.disable_source.get(plugin_id, "env")
            code = ReasonCode.DISABLED_BY_ENV if source == "env" else ReasonCode.DISABLED_BY_CONFIG
            return code, f"by {source}"
        if toggles.safe_mode and not bundled:
            return ReasonCode.SAFE_MODE, "safe mode keeps only the plugins shipped with Lumiku"
        if toggles.allow is not None and plugin_id not in toggles.allow:
            return ReasonCode.NOT_ALLOWED, "not listed in LUMIKU_PLUGINS"
        return None

    def _evaluate(self, record: PluginRecord) -> None:
        """Decide the state of a plugin whose spec loaded, from the settings and capabilities.

        The same evaluation runs at boot and whenever a capability changes at runtime, so a
        plugin's state, reason and reason code never depend on the order things happened.
        The first missing hard requirement disables the plugin. Then migrations that are not
        at head keep it from serving (``migrations_pending``). Missing soft requirements
        degrade it: the first one (in ``requires`` order) gives the reason code, the reason
        names them all.
        """
        spec = record.spec
        assert spec is not None
        toggled = self._toggle_reason(record.id, bundled=record.bundled)
        if toggled is not None:
            record.set(PluginState.DISABLED, *toggled)
            return
        problems = self._configuration_problems(record)
        if problems:
            # Every configuration problem in one reason, so a deployer fixes them at once.
            record.set(PluginState.DISABLED, ReasonCode.MISSING_CONFIG, "; ".join(problems))
            return
        record.missing_soft = []
        soft: list[tuple[ReasonCode, str]] = []
        for requirement in spec.requires:
            if requirement.level == "hard" and requirement.capability.startswith("config:"):
                continue  # reported with the settings above
            missing = self._missing(requirement.capability)
            if missing is None:
                continue
            if requirement.level == "hard":
                record.set(PluginState.DISABLED, *missing)
                return
            record.missing_soft.append(requirement.capability)
            soft.append(missing)
        pending = self._pending_migrations.get(record.id)
        if pending is not None:
            record.set(PluginState.MIGRATIONS_PENDING, ReasonCode.MIGRATIONS_PENDING, pending)
        elif soft:
            record.set(PluginState.DEGRADED, soft[0][0], "; ".join(reason for _, reason in soft))
        else:
            record.set(PluginState.RUNNING, ReasonCode.OK)

    def _configuration_problems(self, record: PluginRecord) -> list[str]:
        """Return what is wrong with the plugin's configuration: the unset variables of its
        hard ``config:`` requirements, then its settings' and credit overrides' problems.
        Reads the settings and credits into ``record`` when they are fine."""
        spec = record.spec
        assert spec is not None
        problems: list[str] = []
        unset = [
            requirement.capability.removeprefix("config:")
            for requirement in spec.requires
            if requirement.level == "hard"
            and requirement.capability.startswith("config:")
            and self._missing(requirement.capability) is not None
        ]
        if unset:
            names = unset[0] if len(unset) == 1 else f"{', '.join(unset[:-1])} and {unset[-1]}"
            problems.append(f"{names} {'is' if len(unset) == 1 else 'are'} not set")
        try:
            if spec.settings is not None:
                settings: Any = read_plugin_settings(self.settings, spec.id, spec.settings)
                if settings != record.settings:  # keep the instance contexts already hold
                    record.settings = settings
        except ConfigurationError as exc:
            problems.append(exc.message)
        try:
            record.credits = credit_overrides(self.settings, spec.id, spec.credits)
        except ConfigurationError as exc:
            problems.append(exc.message)
        if self.settings.is_production:  # elsewhere: ``configuration_warnings``
            problems.extend(
                f"{where} {rule}" for where, rule in plugin_key_findings(self.settings, spec)
            )
        return problems

    def configuration_warnings(self) -> list[str]:
        """Return, outside production, the keys of lumiku.toml and the credit variables that
        no installed plugin reads (each naming the closest known key); empty in production,
        where they are problems (``configuration_errors``, the plugins' reasons)."""
        if self.settings.is_production:
            return []
        found = unknown_plugin_findings(self.settings, self.records)
        for record in self.sorted_records():
            if record.spec is not None:
                found.extend(plugin_key_findings(self.settings, record.spec))
        return [f"{where} {rule}: it is ignored" for where, rule in found]

    def configuration_errors(self) -> list[str]:
        """Return ``configuration_problems`` as ``"<where>: <rule>"`` lines."""
        return [f"{p['variable']}: {p['rule']}" for p in self.configuration_problems()]

    def configuration_problems(self) -> list[dict[str, str]]:
        """Return, in production, the configuration problems that stop the startup
        (``{"variable", "rule"}`` each, as the core's settings problems).

        They are the ``[plugins.<id>]`` and ``[credits.<id>]`` tables of lumiku.toml that name
        no installed plugin, and those of the plugins whose spec says
        ``required_in_production`` and which are disabled for their configuration (a plugin
        the deployer turned off is not required). Empty outside production.
        """
        if not self.settings.is_production:
            return []
        unknown = unknown_plugin_findings(self.settings, self.records)
        return [{"variable": where, "rule": rule} for where, rule in unknown] + [
            {"variable": f"plugin {record.id}", "rule": record.reason}
            for record in self.sorted_records()
            if record.spec is not None
            and record.spec.required_in_production
            and record.reason_code is ReasonCode.MISSING_CONFIG
            and record.state is PluginState.DISABLED
        ]

    def unconfigured(self) -> list[str]:
        """Return ``"plugin <id>: <reason>"`` for each plugin disabled for its configuration."""
        return [
            f"plugin {record.id}: {record.reason}"
            for record in self.sorted_records()
            if record.reason_code is ReasonCode.MISSING_CONFIG
            and record.state is PluginState.DISABLED
        ]

    def _missing(self, capability: str) -> tuple[ReasonCode, str] | None:
        if capability == "redis":
            if self.redis_available:
                return None
            if not self.settings.redis.enabled:
                return ReasonCode.REDIS_UNAVAILABLE, self.settings.redis.off_reason
            return ReasonCode.REDIS_UNAVAILABLE, f"Redis {self.redis_problem}"
        if capability == "database":
            return None
        if capability.startswith("config:"):
            key = capability.removeprefix("config:")
            if self.settings.environ.get(key):
                return None
            return ReasonCode.MISSING_CONFIG, f"{key} is not set"
        other_id = capability.removeprefix("plugin:")
        other = self.records.get(other_id)
        if other is not None and other.state.serving:
            return None
        why = "not installed" if other is None else other.describe()
        return ReasonCode.DEPENDENCY_UNAVAILABLE, f"needs plugin {other_id} ({why})"

    def _register_hooks(self, record: PluginRecord) -> None:
        spec = record.spec
        if spec is None:
            return
        if spec.hooks is None:
            # Nothing to register, but the plugin is loaded: it gets its health route and
            # follows Redis like the others.
            record.loaded = True
            return
        try:
            namespace = (
                importlib.import_module(spec.hooks) if isinstance(spec.hooks, str) else spec.hooks
            )
        except Exception as exc:  # noqa: BLE001 - isolation: an import error fails one plugin
            logger.error("❌ Plugin %s: importing %s failed: %s", record.id, spec.hooks, exc)
            record.set(PluginState.FAILED, ReasonCode.IMPORT_ERROR, f"{type(exc).__name__}: {exc}")
            return
        try:
            self._manager.register(namespace, name=record.id)
            self._manager.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._manager.is_registered(namespace):
                self._manager.unregister(namespace)
            reason = _invalid_hook_reason(record.id, exc)
            logger.error("❌ Plugin %s has an invalid hook: %s", record.id, reason)
            record.set(PluginState.FAILED, ReasonCode.INVALID_HOOK, reason)
            return
        except ValueError as exc:  # the same module registered twice
            record.set(PluginState.FAILED, ReasonCode.INVALID_HOOK, str(exc))
            return
        record.loaded = True
        record.hooks = sorted(
            impl_name
            for impl_name, caller in vars(self._manager.hook).items()
            if isinstance(caller, pluggy.HookCaller)
            and any(impl.plugin_name == record.id for impl in caller.get_hookimpls())
        )

    def load_hooks(self, plugin_id: str) -> bool:
        """Register the hooks of a plugin disabled by its configuration; return whether its
        hooks are registered now.

        For commands that need a disabled plugin's code (``lumiku migrate downgrade
        --plugin``): a plugin turned off by a toggle was never imported and stays so, and a
        failed one stays failed. The plugin's state does not change: it does not serve.
        """
        record = self.records.get(plugin_id)
        if record is None or record.spec is None or record.state is PluginState.FAILED:
            return False
        if not record.loaded:
            self._register_hooks(record)  # sets ``loaded`` only when the hooks registered
        return record.loaded

    # -- runtime ---------------------------------------------------------------------------

    def serving(self) -> list[PluginRecord]:
        """Return the plugins that serve (``running`` or ``degraded``), in load order."""
        return [record for record in self.records.values() if record.state.serving]

    def loaded(self) -> list[PluginRecord]:
        """Return the plugins whose hooks are registered: those serving and those waiting
        (for Redis or their migrations), plus those that failed after registering."""
        return [record for record in self.records.values() if record.loaded]

    def storage_folders(self) -> list[str]:
        """Return the storage folder of each loaded plugin (created at startup)."""
        return [record.spec.storage_folder for record in self.loaded() if record.spec]

    def get(self, plugin_id: str) -> PluginRecord | None:
        """Return the record of ``plugin_id``."""
        return self.records.get(plugin_id)

    def implements(self, plugin_id: str, hook: str) -> bool:
        """Return whether ``plugin_id`` implements ``hook``."""
        record = self.records.get(plugin_id)
        return record is not None and hook in record.hooks

    def invoke(self, hook: str, plugin_id: str, kwargs: Mapping[str, Any]) -> Any:
        """Call one plugin's implementation of ``hook`` and return what it returns.

        The implementation receives only the arguments it declares; what it raises
        propagates. Call hooks through ``HookDispatcher``, which applies a failure policy.
        """
        caller: pluggy.HookCaller = getattr(self._manager.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin_id:
                return impl.function(**{name: kwargs[name] for name in impl.argnames})
        return None

    def set_redis_available(self, available: bool, problem: str = "is not answering") -> list[str]:
        """Record that Redis went away or came back and re-evaluate the plugins.

        ``problem`` follows "Redis " in the reasons while it is away ("is not answering",
        "refused the password (authentication failed)"). Returns the ids whose state
        changed.
        """
        if available == self.redis_available and (available or problem == self.redis_problem):
            return []
        self.redis_available = available
        if not available:
            self.redis_problem = problem
        return self._reevaluate()

    def set_migrations_pending(self, pending: Mapping[str, str]) -> list[str]:
        """Record which plugins' migrations are not at head (id -> reason); re-evaluate.

        Returns the ids whose state changed.
        """
        if dict(pending) == self._pending_migrations:
            return []
        self._pending_migrations = dict(pending)
        return self._reevaluate()

    def _reevaluate(self) -> list[str]:
        """Run the boot evaluation again for the loaded plugins that did not fail.

        Plugins turned off by a toggle or by their configuration are not loaded and stay as
        they are; failed plugins stay failed. Returns the ids whose state changed.
        """
        changed = []
        for record in self._dependency_order():
            if not record.loaded or record.state is PluginState.FAILED:
                continue
            before = record.state
            self._evaluate(record)
            if record.state is not before:
                changed.append(record.id)
        return changed

    def sorted_records(self) -> Sequence[PluginRecord]:
        """Return every record sorted by id (for listings)."""
        return [self.records[key] for key in sorted(self.records)]
