"""The storage settings: ``LUMIKU_STORAGE`` (``local`` or ``s3``) and the ``LUMIKU_S3_*`` variables.

Read by ``lumiku.settings.load_settings``, which collects every problem of every setting
and reports them together; this module only adds its own to that list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import attrs

Problem = Callable[[str, str], None]
"""``problem(variable, rule)``: record a setting that breaks a rule."""

BACKENDS = ("local", "s3")
# AWS's rules for new buckets (S3-compatible stores accept these too).
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
_REGION_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,40}", re.ASCII)
_PREFIX_RE = re.compile(r"([a-z0-9][a-z0-9_.-]{0,62}/){1,4}", re.ASCII)


@attrs.frozen
class S3Settings:
    """Where the shared files live when ``LUMIKU_STORAGE=s3``.

    ``endpoint_url`` is ``None`` for AWS itself; keys are ``None`` to use boto3's default
    credential chain (an instance role). ``prefix`` ("" or ``"name/"``) goes before every
    key, so several deployments can share one bucket. Timeouts are seconds; ``max_attempts``
    counts the first try.
    """

    bucket: str
    region: str = "us-east-1"
    endpoint_url: str | None = attrs.field(default=None, repr=False)
    access_key_id: str | None = attrs.field(default=None, repr=False)
    secret_access_key: str | None = attrs.field(default=None, repr=False)
    prefix: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 3


def read_s3_settings(
    environ: Mapping[str, str], problem: Problem, *, production: bool
) -> S3Settings | None:
    """Return the S3 settings, or ``None`` when ``LUMIKU_STORAGE`` is ``local`` (the default).

    Every broken rule is passed to ``problem``; the result is then a placeholder.
    """
    backend = environ.get("LUMIKU_STORAGE", "local").strip().lower() or "local"
    if backend not in BACKENDS:
        problem("LUMIKU_STORAGE", f"must be local or s3, got {backend!r}")
        return None
    if backend == "local":
        return None
    bucket = environ.get("LUMIKU_S3_BUCKET", "").strip()
    if not bucket:
        problem("LUMIKU_S3_BUCKET", "is required with LUMIKU_STORAGE=s3 (the bucket's name)")
    elif not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        problem(
            "LUMIKU_S3_BUCKET",
            f"{bucket!r} is not a bucket name (3-63 lowercase letters, digits, dots, hyphens)",
        )
    region = environ.get("LUMIKU_S3_REGION", "").strip() or "us-east-1"
    if not _REGION_RE.fullmatch(region):
        problem("LUMIKU_S3_REGION", f"{region!r} is not a region name such as eu-central-1")
    endpoint = environ.get("LUMIKU_S3_ENDPOINT", "").strip().rstrip("/") or None
    if endpoint is not None:
        _check_endpoint(endpoint, problem, production=production)
    key_id = environ.get("LUMIKU_S3_ACCESS_KEY_ID", "").strip() or None
    secret = environ.get("LUMIKU_S3_SECRET_ACCESS_KEY", "").strip() or None
    if (key_id is None) != (secret is None):
        missing = "LUMIKU_S3_SECRET_ACCESS_KEY" if secret is None else "LUMIKU_S3_ACCESS_KEY_ID"
        problem(missing, "is required when the other S3 key is set (set both, or neither)")
    prefix = environ.get("LUMIKU_S3_PREFIX", "").strip()
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if prefix and not _PREFIX_RE.fullmatch(prefix):
        problem(
            "LUMIKU_S3_PREFIX",
            "must be up to 4 segments of lowercase letters, digits, '.', '_' or '-'",
        )
    return S3Settings(
        bucket=bucket,
        region=region,
        endpoint_url=endpoint,
        access_key_id=key_id,
        secret_access_key=secret,
        prefix=prefix,
        connect_timeout=_read_seconds(environ, "LUMIKU_S3_CONNECT_TIMEOUT", 5, 120, problem),
        read_timeout=_read_seconds(environ, "LUMIKU_S3_READ_TIMEOUT", 30, 600, problem),
        max_attempts=int(_read_seconds(environ, "LUMIKU_S3_MAX_ATTEMPTS", 3, 10, problem)),
    )


def _check_endpoint(endpoint: str, problem: Problem, *, production: bool) -> None:
    try:
        parts = urlsplit(endpoint)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        problem("LUMIKU_S3_ENDPOINT", "must be an http:// or https:// URL of the S3 service")
    elif parts.username or parts.password:
        problem("LUMIKU_S3_ENDPOINT", "must not carry credentials; use LUMIKU_S3_ACCESS_KEY_ID")
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem("LUMIKU_S3_ENDPOINT", "must be the service's root URL (no path or query)")
    elif production and parts.scheme != "https":
        problem("LUMIKU_S3_ENDPOINT", "must use https in production (the keys travel to it)")


def _read_seconds(
    environ: Mapping[str, str], name: str, default: int, high: int, problem: Problem
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return float(default)
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= high:
        problem(name, f"must be a whole number from 1 to {high}, got {raw!r}")
        return float(default)
    return float(raw)
