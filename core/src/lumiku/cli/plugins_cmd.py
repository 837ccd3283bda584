"""``lumiku plugins list|info``."""

from __future__ import annotations

import argparse
import sys

from lumiku.cli.console import FAIL, print_json
from lumiku.cli.environment import load_registry, settings_or_exit


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``plugins``."""
    parser = commands.add_parser("plugins", help="list installed plugins and their states")
    parser.add_argument("action", nargs="?", default="list", choices=["list", "info"])
    parser.add_argument("plugin_id", nargs="?")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List plugins or show one."""
    registry = load_registry(settings_or_exit())
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
    return 0
