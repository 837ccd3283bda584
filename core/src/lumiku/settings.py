"""Settings, read once from the environment (and ``lumiku.toml``) into frozen attrs classes.

This is the only module that touches ``os.environ``. Every rule that fails is collected and
reported at once, each naming the variable and the rule, so an operator fixes them in one go.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import quote, urlsplit

import attrs

from lumiku.client_address import LOOPBACK, Network
from lumiku.errors import ConfigurationError
from lumiku.settings_keys import file_key_findings
from lumiku.settings_operations import read_logging, read_metrics_dir, read_operator_settings
from lumiku.settings_storage import S3Settings, read_s3_settings
from lumiku.settings_values import (
    _entropy_bits_per_char,
    _split,
    parse_duration,
)
from lumiku.settings_values import mask_url as mask_url
from lumiku.settings_values import normalize_database_url as normalize_database_url
from lumiku.settings_values import parse_bool as parse_bool
from lumiku.wording import plural

Environment = Literal["development", "production", "test"]

DEFAULT_DATABASE_URL = "sqlite:///./var/lumiku.db"
DEFAULT_FLUX_MODEL = "black-forest-labs/FLUX.1-schnell"
DEFAULT_HUGGINGFACE_URL = "https://api-inference.huggingface.co"
# Values that appear in tutorials and .env examples; a production secret must not be one.
_KNOWN_SECRETS = (
    "secret",
    "changeme",
    "change-me",
    "change_me",
    "your-secret",
    "your_secret",
    "password",
    "jwt-secret",
    "supersecret",
    "example",
    "lumiku",
    "12345",
    "qwerty",
)


@attrs.frozen
class RedisSettings:
    """Whether Redis is used and where; ``url`` is ``None`` when it is off."""

    enabled: bool
    url: str | None = attrs.field(default=None, repr=False)
    explicitly_disabled: bool = False

    @property
    def display_url(self) -> str | None:
        """Return the URL with any password masked, for logs and health pages."""
        return mask_url(self.url) if self.url else None

    @property
    def off_reason(self) -> str:
        """Return why Redis is off, for plugin reasons: ``"Redis is disabled by
        REDIS_ENABLED=false"`` or ``"Redis is not configured: no REDIS_URL or REDIS_HOST"``."""
        if self.explicitly_disabled:
            return "Redis is disabled by REDIS_ENABLED=false"
        return "Redis is not configured: no REDIS_URL or REDIS_HOST"


@attrs.frozen
class ImageSettings:
    """Image provider configuration shared by the plugins."""

    huggingface_api_key: str = attrs.field(default="", repr=False)
    huggingface_model: str = DEFAULT_FLUX_MODEL
    huggingface_base_url: str = DEFAULT_HUGGINGFACE_URL
    huggingface_timeout: float = 120.0


@attrs.frozen
class ServerLimits:
    """What one server process lets a request cost (``SERVER_*`` and ``IMAGE_DECODE_*``).

    Sizes are bytes, times seconds. ``decode_budget_pixels`` is the number of image pixels
    the process decodes at once (``lumiku.images.budget``); a request that cannot get its
    share within ``decode_wait`` seconds is answered 503. ``threads`` is the size of the
    threadpool that runs synchronous handlers. ``body_budget_bytes`` is how many request body
    bytes the process holds at once, ``body_budget_per_client`` how many one user or address
    may (``lumiku.http.body_budget``). ``shutdown_timeout`` is how long a stopping server
    (SIGTERM) lets the requests in flight finish before it cuts them.
    """

    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    body_min_rate: int = 1024
    max_concurrency: int = 1000
    keep_alive_timeout: int = 5
    shutdown_timeout: int = 30
    decode_budget_pixels: int = 34_000_000
    decode_wait: float = 5.0
    threads: int = 100
    body_budget_bytes: int = 256 * 1024 * 1024
    body_budget_per_client: int = 32 * 1024 * 1024


@attrs.frozen
class PluginToggles:
    """Which plugins the deployer allows; ``allow`` is ``None`` when every plugin may load."""

    allow: frozenset[str] | None = None
    disable: frozenset[str] = frozenset()
    disable_source: Mapping[str, str] = attrs.field(factory=dict)
    safe_mode: bool = False


@attrs.frozen
class Settings:
    """Everything the core reads from its environment, validated."""

    env: Environment = "development"
    # The URL may hold a password: its repr (tracebacks, debug logs) shows it masked.
    database_url: str = attrs.field(default=DEFAULT_DATABASE_URL, repr=lambda url: mask_url(url))
    redis: RedisSettings = RedisSettings(enabled=False)
    jwt_secret: str = attrs.field(default="", repr=False)
    jwt_secret_generated: bool = False
    jwt_expires_in: int = 7 * 86400
    cors_origins: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 3000
    storage_dir: Path = Path("./uploads")
    # LUMIKU_STORAGE=s3: the shared bucket (lumiku.settings_storage); None keeps the disk.
    s3: S3Settings | None = None
    # PROMETHEUS_MULTIPROC_DIR: where every process of the machine writes its metrics.
    metrics_dir: Path | None = None
    welcome_credits: int = 100
    public_url: str = "http://127.0.0.1:3000"
    plugins: PluginToggles = PluginToggles()
    images: ImageSettings = ImageSettings()
    log_level: str = "INFO"
    log_format: str = "text"  # LUMIKU_LOG_FORMAT: text or json (lumiku.logs)
    # LUMIKU_ACCESS_LOG: one uvicorn line per request; off by default (the metrics count them).
    access_log: bool = False
    # Proxies whose X-Forwarded-For is believed (lumiku.client_address); loopback by default.
    trusted_proxies: tuple[Network, ...] = LOOPBACK
    # The bearer token that opens /metrics, /health/detailed and /api/plugins (besides admins).
    metrics_token: str = attrs.field(default="", repr=False)
    limits: ServerLimits = ServerLimits()
    # The raw variables and file tables plugins read their own settings from.
    environ: Mapping[str, str] = attrs.field(factory=dict, repr=False, eq=False)
    file_config: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    warnings: tuple[str, ...] = attrs.field(default=(), eq=False)

    @property
    def is_production(self) -> bool:
        """Return whether the strict production rules apply."""
        return self.env == "production"

    def public_view(self) -> dict[str, Any]:
        """Return the settings safe to show in health pages: no URL, path or secret."""
        return {
            "env": self.env,
            "database": self.database_url.partition(":")[0].partition("+")[0],
            "redis": "enabled" if self.redis.enabled else "disabled",
            "storage": "s3" if self.s3 is not None else "local",
            "corsOrigins": len(self.cors_origins),
            # No port: the settings' PORT is not the one served after `lumiku serve --port`.
            "trustedProxies": [str(network) for network in self.trusted_proxies],
            "metricsToken": "set" if self.metrics_token else "not set",
            "jwtSecret": "generated (development only)" if self.jwt_secret_generated else "set",
        }


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, variable: str, rule: str) -> None:
        self.items.append({"variable": variable, "rule": rule})


def _read_config_file(environ: Mapping[str, str], problems: _Problems) -> dict[str, Any]:
    path = Path(environ.get("LUMIKU_CONFIG", "lumiku.toml"))
    if not path.is_file():
        if "LUMIKU_CONFIG" in environ:
            problems.add("LUMIKU_CONFIG", f"the file {path} does not exist")
        return {}
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add("LUMIKU_CONFIG", f"{path} is not valid TOML: {exc}")
        return {}
    except OSError as exc:
        problems.add("LUMIKU_CONFIG", f"{path} cannot be read: {exc.strerror}")
        return {}
    for section in ("plugins", "credits"):
        if section in content and not isinstance(content[section], dict):
            problems.add(f"lumiku.toml [{section}]", "must be a table (a [section] heading)")
            del content[section]
    return content


def _read_redis(env: Environment, environ: Mapping[str, str], problems: _Problems) -> RedisSettings:
    flag = environ.get("REDIS_ENABLED")
    enabled: bool | None = None
    if flag is not None:
        try:
            enabled = parse_bool(flag)
        except ValueError as exc:
            problems.add("REDIS_ENABLED", str(exc))
    if enabled is False:
        return RedisSettings(enabled=False, explicitly_disabled=True)
    url = environ.get("REDIS_URL") or None
    host = environ.get("REDIS_HOST") or None
    if url is None and (host is not None or enabled):
        port = environ.get("REDIS_PORT", "6379")
        if not port.isdigit() or not 0 < int(port) < 65536:
            problems.add("REDIS_PORT", f"must be a port number 1-65535, got {port!r}")
        password = environ.get("REDIS_PASSWORD") or ""
        auth = f":{quote(password, safe='')}@" if password else ""
        url = f"redis://{auth}{host or '127.0.0.1'}:{port}/0"
    if url is None:
        if env == "production":
            problems.add(
                "REDIS_HOST",
                "production needs Redis: set REDIS_URL or REDIS_HOST, or set REDIS_ENABLED=false "
                "to run degraded on purpose",
            )
        return RedisSettings(enabled=False)
    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        problems.add("REDIS_URL", "must start with redis://, rediss:// or unix://")
    return RedisSettings(enabled=True, url=url)


def _read_jwt_secret(
    env: Environment, environ: Mapping[str, str], problems: _Problems, warnings: list[str]
) -> tuple[str, bool]:
    secret = environ.get("JWT_SECRET", "")
    if not secret:
        if env == "production":
            problems.add("JWT_SECRET", "is required in production (at least 32 characters)")
            return "", False
        warnings.append(
            "JWT_SECRET is not set: generated a random one for this process; tokens will not "
            "survive a restart. Set JWT_SECRET (32+ random characters) to keep them."
        )
        return secrets.token_urlsafe(48), True
    if len(secret) < 32:
        problems.add("JWT_SECRET", f"must be at least 32 characters, it has {len(secret)}")
    if env == "production":
        lowered = secret.lower()
        if any(word in lowered for word in _KNOWN_SECRETS):
            problems.add("JWT_SECRET", "contains a well-known example value; generate a random one")
        if len(set(secret)) < 10 or _entropy_bits_per_char(secret) < 3.0:
            problems.add(
                "JWT_SECRET",
                "has too little entropy; use e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`",
            )
    return secret, False


def _read_cors(
    env: Environment, environ: Mapping[str, str], problems: _Problems
) -> tuple[str, ...]:
    raw = environ.get("CORS_ORIGIN", "")
    origins = tuple(_split(raw))
    if not origins:
        if env == "production":
            problems.add("CORS_ORIGIN", "is required in production (the web app's origin)")
        return ("*",) if env != "production" else ()
    for origin in origins:
        if origin == "*":
            if env == "production":
                problems.add("CORS_ORIGIN", "must list origins in production, not *")
            continue
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
            problems.add("CORS_ORIGIN", f"{origin!r} is not an origin like https://app.example.com")
        elif env == "production" and parts.scheme != "https":
            problems.add("CORS_ORIGIN", f"{origin!r} must use https in production")
    return origins


def _read_int(
    environ: Mapping[str, str], name: str, default: int, low: int, high: int, problems: _Problems
) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[+-]?[0-9]+", raw.strip()):
        problems.add(name, f"must be a whole number from {low} to {high}, got {raw!r}")
        return default
    value = int(raw)
    if not low <= value <= high:
        problems.add(name, f"must be a whole number from {low} to {high}, got {value}")
    return value


def _read_limits(environ: Mapping[str, str], problems: _Problems) -> ServerLimits:
    megapixels = _read_int(environ, "IMAGE_DECODE_BUDGET_MEGAPIXELS", 34, 17, 100_000, problems)
    return ServerLimits(
        max_header_bytes=_read_int(
            environ, "SERVER_MAX_HEADER_BYTES", 16 * 1024, 4096, 1024 * 1024, problems
        ),
        header_timeout=float(_read_int(environ, "SERVER_HEADER_TIMEOUT", 10, 1, 3600, problems)),
        body_timeout=float(_read_int(environ, "SERVER_BODY_TIMEOUT", 20, 1, 3600, problems)),
        body_min_rate=_read_int(environ, "SERVER_BODY_MIN_RATE", 1024, 1, 1 << 30, problems),
        max_concurrency=_read_int(environ, "SERVER_MAX_CONCURRENCY", 1000, 1, 1_000_000, problems),
        keep_alive_timeout=_read_int(environ, "SERVER_KEEP_ALIVE_TIMEOUT", 5, 1, 3600, problems),
        shutdown_timeout=_read_int(environ, "SERVER_SHUTDOWN_TIMEOUT", 30, 1, 3600, problems),
        threads=_read_int(environ, "SERVER_THREADS", 100, 4, 10_000, problems),
        body_budget_bytes=_read_int(environ, "SERVER_BODY_BUDGET_MB", 256, 16, 1 << 20, problems)
        * 1024
        * 1024,
        body_budget_per_client=_read_int(
            environ, "SERVER_BODY_BUDGET_PER_CLIENT_MB", 32, 11, 1 << 20, problems
        )
        * 1024
        * 1024,
        decode_budget_pixels=megapixels * 1_000_000,
        decode_wait=float(_read_int(environ, "IMAGE_DECODE_WAIT", 5, 0, 600, problems)),
    )


def _read_toggles(
    environ: Mapping[str, str], file_config: Mapping[str, Any], problems: _Problems
) -> PluginToggles:
    table = file_config.get("plugins", {})
    for key in ("enabled", "disabled"):
        if key in table and not isinstance(table[key], list):
            problems.add(f"lumiku.toml [plugins] {key}", "must be a list of plugin ids")
    allow: frozenset[str] | None = None
    if "LUMIKU_PLUGINS" in environ:
        allow = frozenset(_split(environ["LUMIKU_PLUGINS"]))
    elif isinstance(table.get("enabled"), list):
        allow = frozenset(str(item) for item in table["enabled"])
    source: dict[str, str] = {}
    for plugin_id in table.get("disabled", []) if isinstance(table.get("disabled"), list) else []:
        source[str(plugin_id)] = "config"
    for plugin_id in _split(environ.get("LUMIKU_DISABLE_PLUGINS", "")):
        source[plugin_id] = "env"
    safe_mode = False
    if "safe_mode" in table:
        try:
            raw = table["safe_mode"]
            safe_mode = raw if isinstance(raw, bool) else parse_bool(str(raw))
        except ValueError as exc:
            problems.add("lumiku.toml [plugins] safe_mode", str(exc))
    if "LUMIKU_SAFE_MODE" in environ:
        try:
            safe_mode = parse_bool(environ["LUMIKU_SAFE_MODE"])
        except ValueError as exc:
            problems.add("LUMIKU_SAFE_MODE", str(exc))
    return PluginToggles(
        allow=allow, disable=frozenset(source), disable_source=source, safe_mode=safe_mode
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ``ConfigurationError`` listing every problem."""
    settings, problems = read_settings(environ)
    if problems:
        raise settings_error(problems)
    return settings


def settings_error(problems: list[dict[str, str]]) -> ConfigurationError:
    """Return the error listing ``problems`` (``{"variable", "rule"}`` each) one a line."""
    lines = "\n".join(f"  {p['variable']}: {p['rule']}" for p in problems)
    count = len(problems)
    return ConfigurationError(
        f"{plural(count, 'setting')} {'needs' if count == 1 else 'need'} fixing:\n{lines}",
        details={"problems": problems},
    )


def read_settings(
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings, list[dict[str, str]]]:
    """Read the settings and return them with every problem found (``{"variable",
    "rule"}`` each); a value with a problem is its default in the settings returned, so
    the plugins' settings can still be checked and reported together (``lumiku.cli``)."""
    environ = dict(os.environ if environ is None else environ)
    problems = _Problems()
    warnings: list[str] = []
    env_name = environ.get("LUMIKU_ENV", "development")
    if env_name not in ("development", "production", "test"):
        problems.add("LUMIKU_ENV", f"must be development, production or test, got {env_name!r}")
        env_name = "development"
    env = cast(Environment, env_name)
    file_config = _read_config_file(environ, problems)
    log_level, log_format, access_log = read_logging(environ, problems.add)
    for where, rule in file_key_findings(file_config):
        if env == "production":
            problems.add(where, rule)
        else:
            warnings.append(f"{where} {rule}: it is ignored")
    database_url = normalize_database_url(environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", database_url):
        problems.add("DATABASE_URL", "must be a postgresql:// or sqlite:/// URL")
    redis = _read_redis(env, environ, problems)
    if redis.explicitly_disabled and env == "production":
        warnings.append("REDIS_ENABLED=false: jobs, realtime and rate limits run on this node only")
    jwt_secret, generated = _read_jwt_secret(env, environ, problems, warnings)
    expires_raw = environ.get("JWT_EXPIRES_IN", "7d")
    try:
        jwt_expires_in = parse_duration(expires_raw)
    except ValueError as exc:
        problems.add("JWT_EXPIRES_IN", str(exc))
        jwt_expires_in = 7 * 86400
    port = _read_int(environ, "PORT", 3000, 1, 65535, problems)
    public_url = environ.get("LUMIKU_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/")
    trusted_proxies, metrics_token = read_operator_settings(environ, problems.add)
    if env == "production" and not public_url.startswith("https://"):
        problems.add("LUMIKU_PUBLIC_URL", "must be an https:// URL in production")
    settings = Settings(
        env=env,
        database_url=database_url,
        redis=redis,
        jwt_secret=jwt_secret,
        jwt_secret_generated=generated,
        jwt_expires_in=jwt_expires_in,
        cors_origins=_read_cors(env, environ, problems),
        host=environ.get("HOST", "127.0.0.1"),
        port=port,
        storage_dir=Path(environ.get("LUMIKU_STORAGE_DIR", "./uploads")),
        s3=read_s3_settings(environ, problems.add, production=env == "production"),
        metrics_dir=read_metrics_dir(environ, problems.add),
        welcome_credits=_read_int(environ, "LUMIKU_WELCOME_CREDITS", 100, 0, 1_000_000, problems),
        public_url=public_url,
        plugins=_read_toggles(environ, file_config, problems),
        images=ImageSettings(
            huggingface_api_key=environ.get("HUGGINGFACE_API_KEY", ""),
            huggingface_model=environ.get("FLUX_MODEL") or DEFAULT_FLUX_MODEL,
            huggingface_base_url=(
                environ.get("HUGGINGFACE_BASE_URL") or DEFAULT_HUGGINGFACE_URL
            ).rstrip("/"),
            huggingface_timeout=float(
                _read_int(environ, "HUGGINGFACE_TIMEOUT", 120, 1, 3600, problems)
            ),
        ),
        log_level=log_level,
        log_format=log_format,
        access_log=access_log,
        trusted_proxies=trusted_proxies,
        metrics_token=metrics_token,
        limits=_read_limits(environ, problems),
        environ=environ,
        file_config=file_config,
        warnings=tuple(warnings),
    )
    return settings, problems.items
