"""The uvicorn configuration of ``lumiku serve``: the guarded protocol and the server limits.

Tests build the same configuration (``server_config``) to serve on a free port.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from lumiku.http.protocol import GuardedHttpProtocol
from lumiku.settings import Settings

APP_FACTORY = "lumiku.app:create_asgi_app"


def server_config(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
    app: Any = APP_FACTORY,
    factory: bool = True,
    **options: Any,
) -> uvicorn.Config:
    """Return the uvicorn ``Config`` serving ``app`` within ``settings.limits``.

    ``host`` and ``port`` default to the settings'; ``options`` go to ``uvicorn.Config``.
    The limits travel on the config (``lumiku_limits``) to every worker process, where
    ``GuardedHttpProtocol`` reads them.
    """
    limits = settings.limits
    config = uvicorn.Config(
        app,
        factory=factory,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # uvicorn's lines go through Lumiku's handler (lumiku.logs): one format, text or JSON.
        log_config=None,
        # The app reads X-Forwarded-For itself, from LUMIKU_TRUSTED_PROXIES only.
        proxy_headers=False,
        http=GuardedHttpProtocol,
        timeout_keep_alive=limits.keep_alive_timeout,
        # On SIGTERM: stop accepting, let the requests in flight finish, cut them after this.
        timeout_graceful_shutdown=limits.shutdown_timeout,
        access_log=settings.access_log,
        **options,
    )
    config.lumiku_limits = limits  # type: ignore[attr-defined]  # read by GuardedHttpProtocol
    return config


def run_server(config: uvicorn.Config, sock: socket.socket | None = None) -> int:
    """Serve ``config`` until stopped (as ``uvicorn.run`` does); return the exit status.

    ``sock`` is a socket already bound and listening (``lumiku.cli.listening.bind``); without
    it uvicorn binds ``config``'s host and port itself.
    """
    server = uvicorn.Server(config)
    sockets = None if sock is None else [sock]
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=sockets or [config.bind_socket()]).run()
        else:
            server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        if config.uds and os.path.exists(config.uds):
            os.remove(config.uds)
    if not server.started and config.workers == 1:
        logging.getLogger("lumiku").error("❌ The server did not start")
        return 3
    return 0
