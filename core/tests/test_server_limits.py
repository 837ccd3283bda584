"""The server limits settings (``SERVER_*``, ``IMAGE_DECODE_*``) and the uvicorn config."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumiku.errors import ConfigurationError
from lumiku.http.protocol import GuardedHttpProtocol, limits_of
from lumiku.http.serving import server_config
from lumiku.settings import ServerLimits, load_settings


def test_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "lumiku.toml").write_text("")
    limits = load_settings({"LUMIKU_CONFIG": str(tmp_path / "lumiku.toml")}).limits
    assert limits == ServerLimits()
    assert limits.max_header_bytes == 16 * 1024
    assert limits.decode_budget_pixels == 34_000_000


def test_every_limit_is_read_and_checked() -> None:
    limits = load_settings(
        {
            "SERVER_MAX_HEADER_BYTES": "8192",
            "SERVER_HEADER_TIMEOUT": "5",
            "SERVER_BODY_TIMEOUT": "30",
            "SERVER_BODY_MIN_RATE": "2048",
            "SERVER_MAX_CONCURRENCY": "200",
            "SERVER_KEEP_ALIVE_TIMEOUT": "10",
            "SERVER_SHUTDOWN_TIMEOUT": "12",
            "IMAGE_DECODE_BUDGET_MEGAPIXELS": "68",
            "IMAGE_DECODE_WAIT": "2",
            "SERVER_THREADS": "64",
            "SERVER_BODY_BUDGET_MB": "512",
            "SERVER_BODY_BUDGET_PER_CLIENT_MB": "64",
        }
    ).limits
    assert limits == ServerLimits(
        max_header_bytes=8192,
        header_timeout=5.0,
        body_timeout=30.0,
        body_min_rate=2048,
        max_concurrency=200,
        keep_alive_timeout=10,
        shutdown_timeout=12,
        decode_budget_pixels=68_000_000,
        decode_wait=2.0,
        threads=64,
        body_budget_bytes=512 * 1024 * 1024,
        body_budget_per_client=64 * 1024 * 1024,
    )
    bad = {
        "SERVER_MAX_HEADER_BYTES": "100",
        "SERVER_HEADER_TIMEOUT": "0",
        "SERVER_BODY_MIN_RATE": "fast",
        "SERVER_MAX_CONCURRENCY": "0",
        "IMAGE_DECODE_BUDGET_MEGAPIXELS": "1",
        "IMAGE_DECODE_WAIT": "-1",
        "SERVER_THREADS": "1",
        "SERVER_SHUTDOWN_TIMEOUT": "0",
        "SERVER_BODY_BUDGET_MB": "1",
        "SERVER_BODY_BUDGET_PER_CLIENT_MB": "10",
    }
    with pytest.raises(ConfigurationError) as caught:
        load_settings(bad)
    named = {problem["variable"] for problem in caught.value.details["problems"]}
    assert set(bad) <= named


def test_lumiku_serve_runs_the_guarded_protocol_with_the_limits() -> None:
    settings = load_settings({"SERVER_MAX_HEADER_BYTES": "8192", "SERVER_KEEP_ALIVE_TIMEOUT": "7"})
    config = server_config(settings, host="127.0.0.1", port=1234)
    assert config.http is GuardedHttpProtocol
    assert config.timeout_keep_alive == 7
    assert config.timeout_graceful_shutdown == 30
    assert limits_of(config).max_header_bytes == 8192
    assert limits_of(object()) == ServerLimits()
