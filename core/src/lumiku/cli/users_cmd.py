"""``lumiku users create``."""

from __future__ import annotations

import argparse
import getpass
import os

from lumiku.auth.wiring import build_auth
from lumiku.cli.console import OK
from lumiku.cli.environment import database, settings_or_exit
from lumiku.ledger.service import Ledger


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``users``."""
    users_parser = commands.add_parser("users", help="manage accounts")
    users_commands = users_parser.add_subparsers(dest="users_command", required=True)
    create = users_commands.add_parser("create", help="create an account")
    create.add_argument("email")
    create.add_argument("--admin", action="store_true", help="give the account the admin role")
    create.add_argument("--name", default=None)
    create.add_argument(
        "--password-env",
        default="LUMIKU_NEW_PASSWORD",
        help="variable holding the password (asked for when unset)",
    )
    create.set_defaults(func=create_user)


def create_user(args: argparse.Namespace) -> int:
    """Create an account, reading the password from the environment or the terminal."""
    settings = settings_or_exit()
    password = os.environ.get(args.password_env) or getpass.getpass("Password: ")
    with database(settings) as engine:
        auth = build_auth(engine, settings, Ledger(engine))
        user = auth.create_user(args.email, password, "admin" if args.admin else "user", args.name)
        print(f"{OK} created {user.role} {user.email} ({user.id})")
        return 0
