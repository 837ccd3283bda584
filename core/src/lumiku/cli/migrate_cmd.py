"""``lumiku migrate``: upgrade, show status, or downgrade one plugin's branch."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import sqlalchemy as sa

from lumiku.cli.console import FAIL, OK, WARN, print_json
from lumiku.cli.environment import database, load_registry, settings_or_exit
from lumiku.db import migrate
from lumiku.plugins.migrations import (
    migration_sources,
    naming_advice,
    off_advice,
    orphan_advice,
    revision_owners,
)
from lumiku.plugins.registry import PluginRegistry


def _guarded(step: Callable[[], None], what: str) -> None:
    """Run a migration step; on failure say why and exit 1 instead of a traceback.

    A run is one transaction (``migrations/env.py``), so a failed or refused step leaves
    the database as it was, and the message says so.
    """
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - the CLI reports and exits
        print(f"{FAIL} {what} failed, nothing was changed: {failure_text(exc)}", file=sys.stderr)
        raise SystemExit(1) from None


def failure_text(exc: BaseException) -> str:
    """Return what an operator reads about a failed step: the reason, without the Python
    exception's class (which names one only when the exception says nothing else)."""
    text = str(exc).strip()
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        text = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else text
    return text or type(exc).__name__


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``migrate``."""
    parser = commands.add_parser("migrate", help="apply database migrations (core and plugins)")
    parser.add_argument(
        "action", nargs="?", default="upgrade", choices=["upgrade", "status", "downgrade"]
    )
    parser.add_argument("--plugin", help="limit to one plugin's branch (or 'core')")
    parser.add_argument("--to", default="base", help="downgrade target revision (default: base)")
    parser.add_argument("--json", action="store_true", help="status as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the migrate action."""
    settings = settings_or_exit()
    registry = load_registry(settings)
    if args.action == "downgrade" and args.plugin and registry.load_hooks(args.plugin):
        pass  # a plugin disabled by its configuration can still take its tables back
    sources = migration_sources(registry)
    branches = {source.branch for source in sources}
    record = registry.get(args.plugin) if args.plugin else None
    if args.action == "downgrade" and record is not None and not record.loaded:
        print(f"{FAIL} {off_advice(record, None)}", file=sys.stderr)
        return 2
    if args.plugin and args.plugin not in branches:
        print(
            f"{FAIL} no migrations known for {args.plugin!r} "
            f"(known: {', '.join(sorted(branches))})",
            file=sys.stderr,
        )
        return 2
    with database(settings) as engine:
        if args.action == "status":
            return _status(engine, sources, registry, args)
        if args.action == "downgrade":
            if not args.plugin:
                print(f"{FAIL} downgrade needs --plugin ID", file=sys.stderr)
                return 2
            _guarded(
                lambda: migrate.downgrade(engine, sources, args.plugin, args.to),
                f"downgrade of {args.plugin}",
            )
            print(f"{OK} {args.plugin} downgraded to {args.to}")
            return 0
        for row in migrate.status(engine, sources, registry.records, revision_owners(registry)):
            if row.state in ("orphaned", "plugin_off"):
                print(f"{WARN} {orphan_advice(row, registry)}; left as is")
        for plugin_id, head in migrate.unnamed_heads(sources):
            print(f"{WARN} {naming_advice(plugin_id, head)}")
        _guarded(lambda: migrate.upgrade(engine, sources, args.plugin), "upgrade")
        applied = sorted({args.plugin} if args.plugin else branches)
        print(f"{OK} migrations applied: {', '.join(applied)}")
        return 0


def _status(
    engine: sa.Engine,
    sources: list[migrate.MigrationSource],
    registry: PluginRegistry,
    args: argparse.Namespace,
) -> int:
    rows = migrate.status(engine, sources, registry.records, revision_owners(registry))
    if args.plugin:
        rows = [row for row in rows if row.branch == args.plugin]
    kept = ("orphaned", "plugin_off")
    advice = {row.current: orphan_advice(row, registry) for row in rows if row.state in kept}
    if args.json:
        print_json(
            [
                {
                    "branch": r.branch,
                    "current": r.current,
                    "head": r.head,
                    "state": r.state,
                    **(
                        {"plugin": r.plugin, "advice": advice[r.current]} if r.state in kept else {}
                    ),
                }
                for r in rows
            ]
        )
    else:
        marks = {
            "up_to_date": OK,
            "behind": WARN,
            "not_applied": WARN,
            "orphaned": WARN,
            "plugin_off": WARN,
        }
        for row in rows:
            note = f" ({advice[row.current]})" if row.state in kept else ""
            print(
                f"{marks[row.state]} {row.branch}: {row.current or '-'} / head {row.head or '-'} "
                f"[{row.state}]{note}"
            )
    return 0
