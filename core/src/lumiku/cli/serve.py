"""``lumiku serve`` and ``lumiku worker``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from lumiku.cli import listening
from lumiku.cli.console import FAIL
from lumiku.cli.environment import plugins_or_exit, settings_or_exit
from lumiku.http.ready import READY_DIR_VARIABLE
from lumiku.settings import Settings


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and ``worker``."""
    serve = commands.add_parser("serve", help="serve HTTP and Socket.IO (uvicorn)")
    serve.add_argument("--host", default=None, help="bind address (default HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default PORT or 3000)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(func=run_serve)
    worker = commands.add_parser("worker", help="run background job workers (needs Redis)")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=4)
    worker.add_argument("--queues", nargs="*", default=None, help="only these queues")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve this machine's metrics on this port (needs PROMETHEUS_MULTIPROC_DIR; "
        "for machines without `lumiku serve`)",
    )
    worker.add_argument(
        "--metrics-host", default="127.0.0.1", help="bind address of --metrics-port"
    )
    worker.set_defaults(func=run_worker)


def run_serve(args: argparse.Namespace) -> int:
    """Bind the port, then start uvicorn on the app factory (one process or ``--workers``).

    A port that cannot be bound ends the command with one ``❌`` line and exit status 1,
    before the app is built. ``✅ Server started successfully`` is logged once the server
    answers on the port and every worker finished its startup (see
    ``lumiku.cli.listening``). The server runs within the limits of
    the settings (``lumiku.http.serving``).
    """
    from lumiku.http.serving import run_server, server_config

    settings = settings_or_exit()
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    try:
        sock = listening.bind(host, port)
    except listening.ListenError as exc:
        print(f"{FAIL} {exc}", file=sys.stderr)
        return 1
    with sock:
        plugins_or_exit(settings, warn=False)  # the app logs the warnings (each worker)
        claim_metrics(settings)
        port = sock.getsockname()[1]  # the one the OS picked for port 0
        config = server_config(settings, host=host, port=port, workers=args.workers)
        with tempfile.TemporaryDirectory(prefix="lumiku-ready-") as ready:
            if args.workers > 1:
                os.environ[READY_DIR_VARIABLE] = ready  # the workers inherit it
                if settings.jwt_secret_generated:
                    # One secret for every worker, or a token signed by one fails on another.
                    os.environ["JWT_SECRET"] = settings.jwt_secret
                    logging.getLogger("lumiku").warning(
                        "⚠️ JWT_SECRET is not set: generated a random one shared by the %d "
                        "workers of this run; tokens will not survive a restart. Set "
                        "JWT_SECRET (32+ random characters) to keep them.",
                        args.workers,
                    )
            announcer = listening.StartupAnnouncer(
                host, port, workers=args.workers, ready_dir=Path(ready)
            )
            announcer.start()
            try:
                status = run_server(config, sock)
            finally:
                announcer.stop()
                os.environ.pop(READY_DIR_VARIABLE, None)
        return 1 if status else 0


def claim_metrics(settings: Settings) -> None:
    """Join the machine's processes in ``PROMETHEUS_MULTIPROC_DIR`` (when set), emptying it
    if this is the first to start (``lumiku.metrics_dir``)."""
    if settings.metrics_dir is not None:
        from lumiku.metrics_dir import claim_metrics_dir

        claim_metrics_dir(settings.metrics_dir)


def run_worker(args: argparse.Namespace) -> int:
    """Run worker processes, each with its own runtime and broker."""
    from lumiku.jobs.supervisor import run_workers
    from lumiku.worker_main import build_worker_broker

    settings = settings_or_exit()
    plugins_or_exit(settings)
    if not settings.redis.enabled:
        print(
            f"{FAIL} lumiku worker needs Redis; with REDIS_ENABLED=false jobs run inside "
            "`lumiku serve`",
            file=sys.stderr,
        )
        return 2
    claim_metrics(settings)
    if args.metrics_port is not None:
        from lumiku.metrics_server import serve_machine_metrics

        if settings.metrics_dir is None:
            print(f"{FAIL} --metrics-port needs PROMETHEUS_MULTIPROC_DIR", file=sys.stderr)
            return 2
        try:
            serve_machine_metrics(
                settings.metrics_dir,
                args.metrics_host,
                args.metrics_port,
                settings.metrics_token,
            )
        except OSError as exc:
            print(f"{FAIL} cannot serve metrics on port {args.metrics_port}: {exc.strerror}")
            return 1
    return run_workers(
        build_worker_broker,
        processes=args.processes,
        threads=args.threads,
        queues=set(args.queues) if args.queues else None,
    )
