"""Settings: read once, every problem reported at once with its variable, production rules."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from lumiku.errors import ConfigurationError
from lumiku.settings import Settings, load_settings, mask_url, normalize_database_url
from lumiku.testing import OPERATOR_HEADERS

GOOD_SECRET = "Zk3q9-Tw7Lp2xRm8Vb4nHs6Jd1Fy5Gc0"


@pytest.fixture
def no_file(tmp_path: Path) -> dict[str, str]:
    """Point ``LUMIKU_CONFIG`` at an empty file, so no ``lumiku.toml`` of the cwd is read."""
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    return {"LUMIKU_CONFIG": str(config)}


def production(no_file: dict[str, str], **overrides: str) -> dict[str, str]:
    env = {
        **no_file,
        "LUMIKU_ENV": "production",
        "JWT_SECRET": GOOD_SECRET,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CORS_ORIGIN": "https://app.example.com",
        "LUMIKU_PUBLIC_URL": "https://api.example.com",
        "DATABASE_URL": "postgresql://lumiku@db.example.com:5432/lumiku",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value != "<unset>"}


def problems(env: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env)
    found = [(p["variable"], p["rule"]) for p in info.value.details["problems"]]
    for variable, _rule in found:
        assert variable in info.value.message
    return found


def variables(env: dict[str, str]) -> list[str]:
    return [variable for variable, _rule in problems(env)]


def test_the_defaults_start_a_development_server(no_file: dict[str, str]) -> None:
    settings = load_settings(no_file)
    assert settings.env == "development"
    assert settings.database_url == "sqlite:///./var/lumiku.db"
    assert settings.port == 3000
    assert settings.redis.enabled is False
    assert settings.cors_origins == ("*",)
    assert settings.welcome_credits == 100
    assert settings.storage_dir == Path("./uploads")


def test_development_generates_a_jwt_secret_with_a_warning(no_file: dict[str, str]) -> None:
    first = load_settings(no_file)
    second = load_settings(no_file)
    assert first.jwt_secret_generated
    assert len(first.jwt_secret) >= 32
    assert first.jwt_secret != second.jwt_secret
    assert any("JWT_SECRET is not set" in warning for warning in first.warnings)
    assert first.public_view()["jwtSecret"] == "generated (development only)"


def test_a_valid_production_environment_loads(no_file: dict[str, str]) -> None:
    settings = load_settings(production(no_file))
    assert settings.is_production
    assert settings.database_url == "postgresql+psycopg://lumiku@db.example.com:5432/lumiku"
    assert settings.redis.enabled
    assert settings.cors_origins == ("https://app.example.com",)
    assert settings.warnings == ()


def test_every_problem_is_reported_at_once_with_its_variable(no_file: dict[str, str]) -> None:
    found = problems(
        production(
            no_file,
            JWT_SECRET="short",
            REDIS_URL="<unset>",
            CORS_ORIGIN="<unset>",
            PORT="eighty",
            DATABASE_URL="mysql://db/lumiku",
            LUMIKU_PUBLIC_URL="http://api.example.com",
            JWT_EXPIRES_IN="forever",
        )
    )
    names = [variable for variable, _rule in found]
    assert set(names) >= {
        "JWT_SECRET",
        "REDIS_HOST",
        "CORS_ORIGIN",
        "PORT",
        "DATABASE_URL",
        "LUMIKU_PUBLIC_URL",
        "JWT_EXPIRES_IN",
    }
    assert ("JWT_SECRET", "must be at least 32 characters, it has 5") in found
    assert any(name == "REDIS_HOST" and "REDIS_ENABLED=false" in rule for name, rule in found)
    assert ("PORT", "must be a whole number from 1 to 65535, got 'eighty'") in found
    with pytest.raises(ConfigurationError, match=r"\d+ settings need fixing"):
        load_settings(production(no_file, JWT_SECRET="short", PORT="eighty"))


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ("x" * 31, "at least 32 characters"),
        ("a" * 40, "too little entropy"),
        ("abababababababababababababababababab", "too little entropy"),
        ("my-supersecret-jwt-value-Q7w9Zr2Lp5Xk", "well-known example value"),
        ("changeme-Zk3q9Tw7Lp2xRm8Vb4nHs6Jd1Fy", "well-known example value"),
    ],
)
def test_production_rejects_weak_jwt_secrets(
    no_file: dict[str, str], secret: str, rule: str
) -> None:
    found = problems(production(no_file, JWT_SECRET=secret))
    assert any(variable == "JWT_SECRET" and rule in text for variable, text in found), found


def test_production_requires_a_jwt_secret(no_file: dict[str, str]) -> None:
    assert variables(production(no_file, JWT_SECRET="<unset>")) == ["JWT_SECRET"]


def test_weak_secrets_are_accepted_outside_production_if_long_enough(
    no_file: dict[str, str],
) -> None:
    settings = load_settings({**no_file, "LUMIKU_ENV": "test", "JWT_SECRET": "a" * 32})
    assert settings.jwt_secret == "a" * 32
    assert variables({**no_file, "LUMIKU_ENV": "test", "JWT_SECRET": "a" * 31}) == ["JWT_SECRET"]


def test_production_needs_redis_unless_explicitly_disabled(no_file: dict[str, str]) -> None:
    assert variables(production(no_file, REDIS_URL="<unset>")) == ["REDIS_HOST"]
    settings = load_settings(production(no_file, REDIS_URL="<unset>", REDIS_ENABLED="false"))
    assert settings.redis.enabled is False
    assert settings.redis.explicitly_disabled
    assert any("REDIS_ENABLED=false" in warning for warning in settings.warnings)


@pytest.mark.parametrize(
    ("origin", "rule"),
    [
        ("*", "not *"),
        ("http://app.example.com", "https"),
        ("app.example.com", "is not an origin"),
        ("https://app.example.com/path", "is not an origin"),
    ],
)
def test_production_cors_rules(no_file: dict[str, str], origin: str, rule: str) -> None:
    found = problems(production(no_file, CORS_ORIGIN=origin))
    assert any(variable == "CORS_ORIGIN" and rule in text for variable, text in found), found


def test_several_cors_origins(no_file: dict[str, str]) -> None:
    settings = load_settings(
        production(no_file, CORS_ORIGIN="https://a.example.com, https://b.example.com")
    )
    assert settings.cors_origins == ("https://a.example.com", "https://b.example.com")


def test_redis_host_port_and_password_build_the_url(no_file: dict[str, str]) -> None:
    settings = load_settings(
        {**no_file, "REDIS_HOST": "cache.internal", "REDIS_PORT": "6380", "REDIS_PASSWORD": "p@ss"}
    )
    assert settings.redis.enabled
    assert settings.redis.url == "redis://:p%40ss@cache.internal:6380/0"
    assert settings.redis.display_url == "redis://:***@cache.internal:6380/0"
    assert "p%40ss" not in repr(settings)
    assert variables({**no_file, "REDIS_HOST": "h", "REDIS_PORT": "99999"}) == ["REDIS_PORT"]
    assert variables({**no_file, "REDIS_URL": "http://cache"}) == ["REDIS_URL"]
    assert variables({**no_file, "REDIS_ENABLED": "maybe"}) == ["REDIS_ENABLED"]


def test_redis_enabled_false_wins_over_a_url(no_file: dict[str, str]) -> None:
    settings = load_settings({**no_file, "REDIS_URL": "redis://h:6379/0", "REDIS_ENABLED": "0"})
    assert settings.redis.enabled is False
    assert settings.redis.url is None


def test_redis_enabled_true_defaults_to_localhost(no_file: dict[str, str]) -> None:
    settings = load_settings({**no_file, "REDIS_ENABLED": "true"})
    assert settings.redis.url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///./var/x.db", "sqlite:///./var/x.db"),
    ],
)
def test_plain_postgresql_urls_use_psycopg(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


def test_urls_are_masked_for_display() -> None:
    assert mask_url("postgresql+psycopg://lumiku:s3cr3t@db:5432/x") == (
        "postgresql+psycopg://lumiku:***@db:5432/x"
    )
    assert mask_url("redis://:s3cr3t@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("sqlite:///./var/lumiku.db") == "sqlite:///./var/lumiku.db"
    assert mask_url("redis://cache:6379/0?password=s3cr3t&db=1") == (
        "redis://cache:6379/0?password=***&db=1"
    )


def test_the_public_view_never_shows_secrets(no_file: dict[str, str]) -> None:
    jwt_secret = secrets.token_urlsafe(40)
    settings = load_settings(
        production(
            no_file,
            JWT_SECRET=jwt_secret,
            DATABASE_URL="postgresql://lumiku:db-pw-4242@db:5432/lumiku",
            REDIS_URL="redis://:redis-pw-4242@cache:6379/0",
            HUGGINGFACE_API_KEY="hf_key_4242",
        )
    )
    text = repr(settings.public_view()) + repr(settings) + str(settings)
    assert "lumiku:***@db:5432" in text
    for secret in (jwt_secret, "db-pw-4242", "redis-pw-4242", "hf_key_4242"):
        assert secret not in text


def test_lumiku_toml_is_read_and_a_missing_or_broken_file_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "lumiku.toml"
    config.write_text("[plugins]\nsafe_mode = true\n")
    settings = load_settings({"LUMIKU_CONFIG": str(config)})
    assert settings.plugins.safe_mode
    assert variables({"LUMIKU_CONFIG": str(tmp_path / "absent.toml")}) == ["LUMIKU_CONFIG"]
    config.write_text("[plugins\n")
    assert variables({"LUMIKU_CONFIG": str(config)}) == ["LUMIKU_CONFIG"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LUMIKU_ENV", "staging"),
        ("PORT", "0"),
        ("LUMIKU_WELCOME_CREDITS", "-5"),
        ("LUMIKU_SAFE_MODE", "sometimes"),
        ("JWT_EXPIRES_IN", "7 days"),
    ],
)
def test_single_rules(no_file: dict[str, str], variable: str, value: str) -> None:
    assert variables({**no_file, variable: value}) == [variable]


def test_durations_and_numbers(no_file: dict[str, str]) -> None:
    settings: Settings = load_settings(
        {**no_file, "JWT_EXPIRES_IN": "12h", "PORT": "8080", "LUMIKU_WELCOME_CREDITS": "0"}
    )
    assert settings.jwt_expires_in == 12 * 3600
    assert settings.port == 8080
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.welcome_credits == 0


@pytest.mark.postgres
def test_a_plain_postgresql_url_works(make_client: Any, postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    assert plain.startswith("postgresql://")
    client = make_client([], DATABASE_URL=plain)
    readiness = client.get("/health/readiness")
    assert readiness.status_code == 200
    assert readiness.json() == {"status": "up"}
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    assert detailed["settings"]["database"] == "postgresql"
    assert detailed["checks"]["database"]["detail"] == "postgresql"
