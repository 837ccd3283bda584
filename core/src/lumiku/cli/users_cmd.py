"""``lumiku users create|list|set-role``."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from lumiku.auth.wiring import build_auth
from lumiku.cli.console import FAIL, OK, print_json
from lumiku.cli.environment import database, settings_or_exit
from lumiku.ledger.service import Ledger
from lumiku.roles import ROLES

DEFAULT_PASSWORD_ENV = "LUMIKU_NEW_PASSWORD"  # noqa: S105 - the name of a variable, not a password


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
        default=None,
        metavar="VARIABLE",
        help=(
            "variable holding the password (it must be set); without this option "
            f"{DEFAULT_PASSWORD_ENV} is used when set, else the password is asked for on "
            "the terminal"
        ),
    )
    create.set_defaults(func=create_user)
    listing = users_commands.add_parser("list", help="list the accounts: id, email, role, created")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_users)
    set_role = users_commands.add_parser("set-role", help="make an account a user or an admin")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=sorted(ROLES))
    set_role.set_defaults(func=set_user_role)


class _NoPassword(Exception):
    """The password could not be read; the message says how to give it."""


def _password(variable: str | None) -> str:
    """Return the password from ``variable``, ``LUMIKU_NEW_PASSWORD`` or the terminal."""
    if variable is not None:
        value = os.environ.get(variable)
        if not value:
            raise _NoPassword(
                f"--password-env names {variable}, which is not set (or empty): export it "
                "with the password, or leave the option out to type the password"
            )
        return value
    value = os.environ.get(DEFAULT_PASSWORD_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise _NoPassword(
            f"no terminal to ask for the password: set {DEFAULT_PASSWORD_ENV} (or the "
            "variable named by --password-env) to the password"
        )
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password again: ")
    except (EOFError, KeyboardInterrupt):
        raise _NoPassword("no password given; nothing was created") from None
    if first != again:
        raise _NoPassword("the two passwords differ; nothing was created")
    return first


def create_user(args: argparse.Namespace) -> int:
    """Create an account, reading the password from the environment or the terminal."""
    settings = settings_or_exit()
    try:
        password = _password(args.password_env)
    except _NoPassword as exc:
        print(f"{FAIL} {exc}", file=sys.stderr)
        return 1
    with database(settings) as engine:
        auth = build_auth(engine, settings, Ledger(engine))
        user = auth.create_user(args.email, password, "admin" if args.admin else "user", args.name)
        print(f"{OK} created {user.role} {user.email} ({user.id})")
        return 0


def list_users(args: argparse.Namespace) -> int:
    """Print every account: id, email, role and creation time (UTC), oldest first."""
    settings = settings_or_exit()
    with database(settings) as engine:
        accounts = build_auth(engine, settings, Ledger(engine)).list_users()
    rows = [
        {
            "id": user.id,
            "email": user.email,
            "role": user.role,
            "created": user.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        for user in accounts
    ]
    if args.json:
        print_json(rows)
        return 0
    headers = {"id": "ID", "email": "EMAIL", "role": "ROLE", "created": "CREATED"}
    widths = {
        key: max([len(title)] + [len(row[key]) for row in rows]) for key, title in headers.items()
    }
    for row in [headers, *rows]:
        print("  ".join(row[key].ljust(widths[key]) for key in headers).rstrip())
    return 0


def set_user_role(args: argparse.Namespace) -> int:
    """Give an account the ``user`` or ``admin`` role."""
    settings = settings_or_exit()
    with database(settings) as engine:
        user, previous = build_auth(engine, settings, Ledger(engine)).set_role(
            args.email, args.role
        )
    if previous == user.role:
        print(f"{OK} {user.email} already has the {user.role} role")
    else:
        print(f"{OK} {user.email} is now {user.role} (was {previous})")
    return 0
