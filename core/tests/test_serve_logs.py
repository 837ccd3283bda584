"""What ``make run`` prints, in real processes: ``lumiku migrate`` then ``lumiku serve``
without Alembic's chatter, each warning once, and with ``LUMIKU_LOG_FORMAT=json`` every
line of the server a JSON object (the access log naming the request and its user)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

ALEMBIC_CHATTER = ("Context impl", "Will assume", "alembic")
MISTYPED = "AVATAR_CREATOR_CREDITS_GENERATE_AVATR"


def _lumiku(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lumiku.cli.main", *argv],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _serve_until_started(
    env: dict[str, str], *argv: str
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start ``lumiku serve``; return it, its URL and the lines it printed so far."""
    process = _lumiku(env, "serve", "--host", "127.0.0.1", "--port", "0", *argv)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    for line in process.stdout:
        lines.append(line)
        if "Server started successfully on " in line:
            url = line.split(" on ", 1)[1].split()[0].rstrip('",')
            return process, url, lines
        assert time.monotonic() < deadline, "".join(lines)
    raise AssertionError("".join(lines))


def _stop(process: subprocess.Popen[str], printed: list[str]) -> str:
    """Stop ``process`` with SIGINT; return everything it printed."""
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    out = "".join(printed) + out
    assert process.returncode == 0, out
    return out


@pytest.fixture
def env(lumiku_env: dict[str, str], database_url: str, tmp_path: Path) -> dict[str, str]:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_999999.db").write_bytes(b"left from an earlier run")
    return {
        **lumiku_env,
        "LUMIKU_PLUGINS": "avatar_creator",
        MISTYPED: "3",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }


def test_migrate_then_serve_print_no_alembic_lines_and_each_warning_once(
    env: dict[str, str],
) -> None:
    migrate = _lumiku({k: v for k, v in env.items() if k != MISTYPED}, "migrate")
    migrated, _ = migrate.communicate(timeout=120)
    assert migrate.returncode == 0, migrated
    assert migrated.splitlines() == ["✅ migrations applied: avatar_creator, core"]

    process, url, printed = _serve_until_started({**env, "JWT_SECRET": ""})
    assert httpx.get(url + "/health", timeout=10).status_code == 200
    out = _stop(process, printed)
    # The access log is off unless LUMIKU_ACCESS_LOG=true.
    assert "GET /health" not in out, out
    for chatter in ALEMBIC_CHATTER:
        assert chatter not in out, out
    assert out.count(MISTYPED) == 1, out
    assert out.count("JWT_SECRET is not set") == 1, out
    assert out.count("Metrics directory emptied") == 1, out
    assert not (Path(env["PROMETHEUS_MULTIPROC_DIR"]) / "counter_999999.db").exists()


def test_json_lines_name_the_request_and_its_user(env: dict[str, str]) -> None:
    migrate = _lumiku(env, "migrate")
    assert migrate.wait(timeout=120) == 0
    process, url, printed = _serve_until_started(
        {**env, "LUMIKU_LOG_FORMAT": "json", "LUMIKU_ACCESS_LOG": "true"}, "--workers", "2"
    )
    try:
        registered = httpx.post(
            url + "/api/auth/register",
            json={"email": "logs@example.com", "password": "violet staple orchard kettle"},
            timeout=30,
        )
        assert registered.status_code == 201, registered.text
        token, user_id = registered.json()["token"], registered.json()["user"]["id"]
        profile = httpx.get(
            url + "/api/auth/profile", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert profile.status_code == 200
    finally:
        out = _stop(process, printed)
    lines: list[dict[str, Any]] = []
    for text in out.splitlines():
        data = json.loads(text)  # every line, uvicorn's and the workers' included
        assert {"time", "level", "logger", "message"} <= set(data), text
        lines.append(data)
    access = [line for line in lines if "/api/auth/profile" in line["message"]]
    assert len(access) == 1, out
    assert access[0]["request_id"] == profile.headers["X-Request-Id"]
    assert access[0]["user_id"] == user_id
    assert access[0]["level"] == "INFO"
    assert any(line["message"].startswith("✅ Server started successfully") for line in lines)
    assert not [line for line in lines if line["logger"].startswith("alembic")]
    # Two workers: each logs its own startup; the CLI adds no copy of the warnings.
    assert sum(MISTYPED in line["message"] for line in lines) == 2
