"""Settings of the operator's side: logging, trusted proxies, the metrics token and the
metrics directory (read by ``lumiku.settings``, which passes the environment)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from lumiku.client_address import LOOPBACK, Network, parse_trusted_proxies
from lumiku.settings_values import parse_bool

Problem = Callable[[str, str], None]
"""Called with ``(variable, rule)`` for each rule the environment breaks."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


def read_logging(environ: Mapping[str, str], problem: Problem) -> tuple[str, str, bool]:
    """Return ``(LOG_LEVEL, LUMIKU_LOG_FORMAT, LUMIKU_ACCESS_LOG)``: a level name, ``text``
    or ``json``, and whether uvicorn writes one line per request (default: no)."""
    level = (environ.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        problem("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        level = "INFO"
    fmt = (environ.get("LUMIKU_LOG_FORMAT") or "text").strip().lower()
    if fmt not in LOG_FORMATS:
        problem("LUMIKU_LOG_FORMAT", f"must be text or json, got {fmt!r}")
        fmt = "text"
    try:
        access_log = parse_bool(environ.get("LUMIKU_ACCESS_LOG") or "false")
    except ValueError as exc:
        problem("LUMIKU_ACCESS_LOG", str(exc))
        access_log = False
    return level, fmt, access_log


def read_operator_settings(
    environ: Mapping[str, str], problem: Problem
) -> tuple[tuple[Network, ...], str]:
    """Return the trusted proxies (``LUMIKU_TRUSTED_PROXIES``) and ``LUMIKU_METRICS_TOKEN``."""
    try:
        trusted = parse_trusted_proxies(environ.get("LUMIKU_TRUSTED_PROXIES"))
    except ValueError as exc:
        problem("LUMIKU_TRUSTED_PROXIES", str(exc))
        trusted = LOOPBACK
    token = environ.get("LUMIKU_METRICS_TOKEN", "")
    if token and len(token) < 24:
        problem("LUMIKU_METRICS_TOKEN", f"must be at least 24 characters, it has {len(token)}")
    return trusted, token


def read_metrics_dir(environ: Mapping[str, str], problem: Problem) -> Path | None:
    """Return ``PROMETHEUS_MULTIPROC_DIR`` (an existing writable directory), or ``None``."""
    raw = environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not raw:
        return None
    directory = Path(raw)
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        problem(
            "PROMETHEUS_MULTIPROC_DIR",
            "must be an existing writable directory (the first `lumiku serve` or `lumiku "
            "worker` of the machine empties it)",
        )
        return None
    return directory
