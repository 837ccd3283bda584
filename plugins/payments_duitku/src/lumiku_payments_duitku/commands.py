"""``lumiku payments-duitku emulator``: serve the Duitku emulator for local development.

Point the plugin at it (``DUITKU_BASE_URL=http://127.0.0.1:8900/webapi/api/merchant``,
the same ``DUITKU_MERCHANT_CODE`` and ``DUITKU_API_KEY``), create a payment, open its
``paymentUrl`` and choose pay or fail: the emulator posts the signed callback to the
payment's ``callbackUrl`` (``DUITKU_CALLBACK_URL``, default
``<LUMIKU_PUBLIC_URL>/api/payments/callback``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from typing import Any

from lumiku_payments_duitku.emulator.app import API_PATH


def add_commands(cli: argparse._SubParsersAction[Any]) -> None:
    """Add ``payments-duitku`` with its ``emulator`` subcommand to the CLI."""
    parser = cli.add_parser("payments-duitku", help="Duitku payments: development tools")
    commands = parser.add_subparsers(dest="payments_duitku_command", required=True)
    emulator = commands.add_parser(
        "emulator", help="serve a Duitku emulator (v2 API, payment page, signed callbacks)"
    )
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8900)
    emulator.set_defaults(func=run_emulator)


def run_emulator(args: argparse.Namespace) -> int:
    """Serve the emulator with the merchant credentials of ``DUITKU_*`` until interrupted."""
    import uvicorn

    from lumiku_payments_duitku.emulator import DuitkuEmulator

    merchant, key = os.environ.get("DUITKU_MERCHANT_CODE"), os.environ.get("DUITKU_API_KEY")
    if not merchant or not key:
        print("❌ set DUITKU_MERCHANT_CODE and DUITKU_API_KEY", file=sys.stderr)
        return 2
    emulator = DuitkuEmulator(merchant, key)
    # Bound first: a taken port is one line and exit 1, and the ✅ line below is true.
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(
            f"❌ cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    with sock:
        port = sock.getsockname()[1]
        print(
            f"✅ Duitku emulator for merchant {merchant} listening: set "
            f"DUITKU_BASE_URL=http://{args.host}:{port}{API_PATH}",
            flush=True,
        )
        server = uvicorn.Server(uvicorn.Config(emulator.app, log_level="info"))
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C once stopped
            server.run(sockets=[sock])
    return 0
