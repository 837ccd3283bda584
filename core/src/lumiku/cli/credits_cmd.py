"""``lumiku credits grant|reconcile|adjust``."""

from __future__ import annotations

import argparse
import sys
import uuid

import sqlalchemy as sa

from lumiku.cli.console import FAIL, OK
from lumiku.cli.environment import database, load_registry, settings_or_exit
from lumiku.db.tables import users
from lumiku.ledger.service import Ledger
from lumiku.plugins.dispatch import HookDispatcher
from lumiku.plugins.reconciliation import contributed_checks
from lumiku.wording import plural


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``credits``."""
    credits = commands.add_parser("credits", help="grant, reconcile and adjust credits")
    credit_commands = credits.add_subparsers(dest="credits_command", required=True)
    grant = credit_commands.add_parser("grant", help="give credits to an account")
    grant.add_argument("email")
    grant.add_argument("amount", type=int)
    grant.add_argument("--reason", default="Granted by an operator")
    grant.add_argument("--key", default=None, help="idempotency key (default: a new one)")
    grant.set_defaults(func=grant_credits)
    reconcile = credit_commands.add_parser("reconcile", help="check balances against entries")
    reconcile.set_defaults(func=reconcile_credits)
    adjust = credit_commands.add_parser(
        "adjust",
        help="write an adjustment entry: fix a reconciliation finding, or move a balance",
        description=(
            "With --finding ID: post the adjustment entry that makes the entries explain the "
            "balance again (the balance itself does not move). With EMAIL AMOUNT: move the "
            "balance and the entries by AMOUNT (a goodwill credit or a clawback)."
        ),
    )
    adjust.add_argument("email", nargs="?")
    adjust.add_argument("amount", nargs="?", type=int, help="signed number of credits")
    adjust.add_argument("--finding", type=int, help="id of a balance_mismatch finding")
    adjust.add_argument("--reason", default="operator adjustment")
    adjust.add_argument("--key", required=True, help="idempotency key: a retry does nothing twice")
    adjust.set_defaults(func=adjust_credits)


def _user_id(engine: sa.Engine, email: str) -> str:
    with engine.connect() as conn:
        user_id = conn.execute(
            sa.select(users.c.id).where(users.c.email == email.strip().lower())
        ).scalar_one_or_none()
    if user_id is None:
        print(f"{FAIL} no account with email {email!r}", file=sys.stderr)
        raise SystemExit(1)
    return str(user_id)


def grant_credits(args: argparse.Namespace) -> int:
    """Grant credits to an account."""
    settings = settings_or_exit()
    with database(settings) as engine:
        ledger = Ledger(engine)
        user_id = _user_id(engine, args.email)
        key = args.key or f"cli-grant:{uuid.uuid4().hex}"
        entry = ledger.grant(user_id, args.amount, args.reason, key)
        print(
            f"{OK} granted {plural(args.amount, 'credit')} to {args.email}; "
            f"balance {entry.balance_after}"
        )
        return 0


def reconcile_credits(_args: argparse.Namespace) -> int:
    """Run a reconciliation (the ledger's checks and the enabled plugins'); exit 1 when
    anything is found."""
    settings = settings_or_exit()
    registry = load_registry(settings)
    checks = contributed_checks(registry, HookDispatcher(registry))
    with database(settings) as engine:
        findings = Ledger(engine).reconcile(checks=checks)
        for finding in findings:
            kind = finding.kind
            if finding.source != "ledger":
                kind = f"{finding.source}/{kind}"
            print(
                f"{FAIL} finding {finding.id}: {kind} user {finding.user_id or '-'}: "
                f"expected {finding.expected}, "
                f"actual {finding.actual}, difference {finding.difference:+d} ({finding.detail})"
            )
        if not findings:
            also = f" and {', '.join(sorted(checks))}" if checks else ""
            print(f"{OK} every balance matches its entries and holds{also}")
        return 1 if findings else 0


def adjust_credits(args: argparse.Namespace) -> int:
    """Write an adjustment entry (the only way to correct a balance)."""
    if (args.finding is None) == (args.email is None or args.amount is None):
        print(f"{FAIL} give either --finding ID or EMAIL AMOUNT", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    with database(settings) as engine:
        ledger = Ledger(engine)
        if args.finding is not None:
            finding = ledger.get_finding(args.finding)
            entry = ledger.correct(finding, args.key)
            print(
                f"{OK} finding {finding.id} corrected: adjustment {entry.amount:+d} for user "
                f"{finding.user_id}; balance {entry.balance_after}"
            )
            return 0
        user_id = _user_id(engine, args.email)
        entry = ledger.adjust(user_id, args.amount, args.reason, args.key)
        print(f"{OK} adjusted {args.email} by {entry.amount:+d}; balance {entry.balance_after}")
        return 0
