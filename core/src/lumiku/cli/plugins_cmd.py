"""``lumiku plugins list|info``."""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from lumiku.cli.console import FAIL, WARN, print_json
from lumiku.cli.environment import database, load_registry, settings_or_exit
from lumiku.db.migrate import BranchStatus
from lumiku.plugins.migrations import mark_pending_migrations, orphan_advice


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``plugins``."""
    parser = commands.add_parser("plugins", help="list installed plugins and their states")
    parser.add_argument("action", nargs="?", default="list", choices=["list", "info"])
    parser.add_argument("plugin_id", nargs="?")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List plugins or show one."""
    settings = settings_or_exit()
    registry = load_registry(settings)
    orphans: tuple[BranchStatus, ...] = ()
    with database(settings) as engine:
        try:
            orphans = mark_pending_migrations(engine, registry).orphans
        except Exception as exc:  # noqa: BLE001 - the listing is still useful without it
            reason = "not reachable" if isinstance(exc, sa.exc.SQLAlchemyError) else "unreadable"
            print(
                f"{WARN} migration status {reason} ({type(exc).__name__}): "
                "plugins waiting for migrations are not shown as such",
                file=sys.stderr,
            )
    records = registry.sorted_records()
    if args.action == "info":
        if not args.plugin_id:
            print(f"{FAIL} plugins info needs a plugin id", file=sys.stderr)
            return 2
        record = registry.get(args.plugin_id)
        if record is None:
            print(f"{FAIL} no plugin {args.plugin_id!r} is installed", file=sys.stderr)
            return 1
        records = [record]
    if args.json:
        data = [record.to_json() for record in records]
        print_json(data[0] if args.action == "info" else data)
        return 0
    for record in records:
        print(f"{record.id:<24} {record.version:<10} {record.describe()}")
        if args.action == "info" and record.spec is not None:
            print(f"  title:   {record.spec.display_title}")
            print(f"  prefix:  {record.spec.prefix}")
            print(f"  hooks:   {', '.join(record.hooks) or '-'}")
            print(f"  credits: {record.credits or '-'}")
            requires = ", ".join(f"{r.capability} ({r.level})" for r in record.spec.requires)
            print(f"  requires: {requires or '-'}")
    if args.action == "list":
        for row in orphans:  # tables whose plugin is not installed
            if row.plugin is None or row.plugin not in registry.records:
                print(f"{row.branch:<24} {'-':<10} orphaned ({orphan_advice(row, registry)})")
    return 0
