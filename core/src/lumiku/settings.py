"""Settings, read once from the environment (and ``lumiku.toml``) into frozen attrs classes.

This is the only module that touches ``os.environ``. Every rule that fails is collected and
reported at once, each naming the variable and the rule, so an operator fixes them in one go.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote, urlsplit

import attrs
import cattrs

from lumiku.credit_limits import MAX_AMOUNT
from lumiku.errors import ConfigurationError
from lumiku.integers import check_whole, parse_whole
from lumiku.settings_fields import is_secret, variable_of

Environment = Literal["development", "production", "test"]
T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite:///./var/lumiku.db"
DEFAULT_FLUX_MODEL = "black-forest-labs/FLUX.1-schnell"
DEFAULT_HUGGINGFACE_URL = "https://api-inference.huggingface.co"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
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
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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


@attrs.frozen
class ImageSettings:
    """Image provider configuration shared by the plugins."""

    huggingface_api_key: str = attrs.field(default="", repr=False)
    huggingface_model: str = DEFAULT_FLUX_MODEL
    huggingface_base_url: str = DEFAULT_HUGGINGFACE_URL
    huggingface_timeout: float = 120.0


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
    welcome_credits: int = 100
    public_url: str = "http://127.0.0.1:3000"
    plugins: PluginToggles = PluginToggles()
    images: ImageSettings = ImageSettings()
    log_level: str = "INFO"
    # The raw variables and file tables plugins read their own settings from.
    environ: Mapping[str, str] = attrs.field(factory=dict, repr=False, eq=False)
    file_config: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    warnings: tuple[str, ...] = attrs.field(default=(), eq=False)

    @property
    def is_production(self) -> bool:
        """Return whether the strict production rules apply."""
        return self.env == "production"

    def public_view(self) -> dict[str, Any]:
        """Return the settings safe to show in health pages and ``lumiku doctor``."""
        return {
            "env": self.env,
            "database": mask_url(self.database_url),
            "redis": self.redis.display_url if self.redis.enabled else "disabled",
            "corsOrigins": list(self.cors_origins),
            "port": self.port,
            "storageDir": str(self.storage_dir),
            "jwtSecret": "generated (development only)" if self.jwt_secret_generated else "set",
        }


def mask_url(url: str) -> str:
    """Return ``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def normalize_database_url(url: str) -> str:
    """Make a plain ``postgresql://`` (or ``postgres://``) URL use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def parse_bool(value: str) -> bool:
    """Read a boolean flag the way operators write them (1/0, true/false, yes/no, on/off)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_duration(value: str) -> int:
    """Read seconds written as ``3600``, ``90m``, ``12h`` or ``7d``."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError(f"expected a duration such as 3600, 90m, 12h or 7d, got {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _entropy_bits_per_char(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


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
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add("LUMIKU_CONFIG", f"{path} is not valid TOML: {exc}")
        return {}


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
    try:
        value = int(raw)
    except ValueError:
        problems.add(name, f"must be an integer, got {raw!r}")
        return default
    if not low <= value <= high:
        problems.add(name, f"must be between {low} and {high}, got {value}")
    return value


def _read_toggles(
    environ: Mapping[str, str], file_config: Mapping[str, Any], problems: _Problems
) -> PluginToggles:
    table = file_config.get("plugins", {})
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
    safe_mode = bool(table.get("safe_mode", False))
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
    environ = dict(os.environ if environ is None else environ)
    problems = _Problems()
    warnings: list[str] = []
    env_name = environ.get("LUMIKU_ENV", "development")
    if env_name not in ("development", "production", "test"):
        problems.add("LUMIKU_ENV", f"must be development, production or test, got {env_name!r}")
        env_name = "development"
    env = cast(Environment, env_name)
    file_config = _read_config_file(environ, problems)
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
        log_level=environ.get("LOG_LEVEL", "INFO").upper(),
        environ=environ,
        file_config=file_config,
        warnings=tuple(warnings),
    )
    if problems.items:
        lines = "\n".join(f"  {p['variable']}: {p['rule']}" for p in problems.items)
        raise ConfigurationError(
            f"{len(problems.items)} setting(s) need fixing:\n{lines}",
            details={"problems": problems.items},
        )
    return settings


def _settings_converter() -> cattrs.Converter:
    converter = cattrs.Converter()

    def to_bool(value: Any, _: type) -> bool:
        return value if isinstance(value, bool) else parse_bool(str(value))

    def to_int(value: Any, _: type) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        return int(value)

    converter.register_structure_hook(bool, to_bool)
    converter.register_structure_hook(int, to_int)
    converter.register_structure_hook(Path, lambda value, _: Path(value))
    return converter


def read_plugin_settings(settings: Settings, plugin_id: str, cls: type[T]) -> T:
    """Build a plugin's settings class from ``[plugins.<id>]`` and environment variables.

    Each field is read from ``<PLUGIN_ID>_<FIELD>``, or from the variable its
    ``lumiku.setting(env=...)`` names; environment variables win over the file. Raises
    ``ConfigurationError`` naming every variable that is missing or does not convert (a
    ``secret`` field's value is never shown). Then, when the class defines
    ``problems(*, production: bool)``, the values are checked by it: it returns
    ``(variable, rule)`` pairs for every rule broken, reported together the same way.
    """
    prefix = plugin_id.upper() + "_"
    table = settings.file_config.get("plugins", {}).get(plugin_id, {})
    values: dict[str, Any] = {}
    variables: dict[str, str] = {}
    secret_fields: set[str] = set()
    for field in attrs.fields(cast(Any, cls)):
        variable = variable_of(field, prefix)
        variables[field.name] = variable
        if is_secret(field):
            secret_fields.add(field.name)
        if variable in settings.environ:
            values[field.name] = settings.environ[variable]
        elif isinstance(table, Mapping) and field.name in table:
            values[field.name] = table[field.name]
    try:
        instance = _settings_converter().structure(values, cls)
    except cattrs.ClassValidationError as exc:
        problems = []
        with_notes, without_notes = exc.group_exceptions()
        for error, note in with_notes:
            name = str(getattr(note, "name", "?"))
            if isinstance(error, KeyError):
                rule = "is required"
            elif name in secret_fields:
                rule = f"is not a valid {getattr(note, 'type', 'value')!r} (value not shown)"
            else:
                rule = str(error)
            problems.append({"variable": variables.get(name, prefix + name.upper()), "rule": rule})
        for error in without_notes:
            problems.append({"variable": prefix + "*", "rule": str(error)})
        if not problems:
            problems.append({"variable": prefix + "*", "rule": str(exc)})
        raise _plugin_settings_error(problems) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{prefix}*: {exc}") from exc
    check = getattr(instance, "problems", None)
    if callable(check):
        broken = [
            {"variable": str(variable), "rule": str(rule)}
            for variable, rule in check(production=settings.is_production)
        ]
        if broken:
            raise _plugin_settings_error(broken)
    return instance


def _plugin_settings_error(problems: list[dict[str, str]]) -> ConfigurationError:
    lines = "; ".join(f"{p['variable']}: {p['rule']}" for p in problems)
    return ConfigurationError(lines, details={"problems": problems})


def credit_overrides(
    settings: Settings, plugin_id: str, actions: Mapping[str, int]
) -> dict[str, int]:
    """Return ``actions`` with the deployer's overrides.

    Overrides come from ``<ID>_CREDITS_<ACTION>`` variables and ``[credits.<id>]`` tables.
    """
    table = settings.file_config.get("credits", {}).get(plugin_id, {})
    result = dict(actions)
    for action in actions:
        variable = f"{plugin_id.upper()}_CREDITS_{re.sub(r'(?<!^)(?=[A-Z])', '_', action).upper()}"
        raw = settings.environ.get(
            variable, table.get(action) if isinstance(table, Mapping) else None
        )
        if raw is None:
            continue
        try:
            cost = (
                parse_whole(raw.strip(), 0, MAX_AMOUNT)
                if isinstance(raw, str)
                else check_whole(raw, 0, MAX_AMOUNT)
            )
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{variable}: must be a whole number of credits from 0 to {MAX_AMOUNT}, "
                f"got {str(raw)[:40]!r}"
            ) from None
        result[action] = cost
    return result
