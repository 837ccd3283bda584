"""Entry point of the ``lumiku`` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from lumiku.cli import credits_cmd, doctor, migrate_cmd, plugins_cmd, serve, users_cmd
from lumiku.cli.console import FAIL
from lumiku.errors import LumikuError
from lumiku.logs import configure_logging
from lumiku.settings import read_settings


def build_parser(with_plugins: bool = True) -> argparse.ArgumentParser:
    """Return the parser with the core subcommands and those plugins register."""
    parser = argparse.ArgumentParser(prog="lumiku", description="Lumiku server and tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.add_parsers(commands)
    migrate_cmd.add_parser(commands)
    plugins_cmd.add_parser(commands)
    doctor.add_parser(commands)
    users_cmd.add_parser(commands)
    credits_cmd.add_parser(commands)
    if with_plugins:
        _plugin_commands(commands)
    return parser


def _plugin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from lumiku.errors import ConfigurationError
    from lumiku.plugins.discovery import discover
    from lumiku.plugins.dispatch import LOG_AND_GO_ON, HookDispatcher
    from lumiku.plugins.registry import PluginRegistry
    from lumiku.settings import load_settings

    try:
        settings = load_settings()
    except ConfigurationError:
        return  # the subcommand reports the problems
    registry = PluginRegistry(settings, redis_available=settings.redis.enabled)
    registry.load(discover())
    calls = HookDispatcher(registry).each(
        "register_commands",
        registry.serving(),
        on_failure=LOG_AND_GO_ON,
        kwargs_for=lambda _record: {"cli": commands},
    )
    for _record, _result in calls:
        pass  # each implementation added its subcommands to ``commands``


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    settings, _problems = read_settings()  # the command reports any problem itself
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    try:
        code: int = args.func(args)
    except LumikuError as exc:
        print(f"{FAIL} {exc.message}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        # No traceback for an operator: what failed, and where to look. (The exception's
        # text can hold SQL and values, so only its kind is shown.)
        print(
            f"{FAIL} the database refused the command ({type(exc).__name__}): check that it "
            "is reachable and migrated with `lumiku doctor`, then `lumiku migrate`",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
