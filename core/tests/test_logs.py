"""Log lines (``lumiku.logs``): one per event, JSON with ``LUMIKU_LOG_FORMAT=json``, naming
the plugin, the request id and the user when known."""

from __future__ import annotations

import json
import logging
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import PluginSpec, get, hookimpl
from lumiku.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    end_job,
    plugin_scope,
    start_job,
)
from lumiku.testing import sign_up


@pytest.fixture
def json_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Log through Lumiku's handler in JSON; return a reader of the lines written since."""
    root = logging.getLogger()
    level = root.level
    configure_logging("INFO", "json", force=True)
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        err = capsys.readouterr().err
        return [json.loads(line) for line in err.splitlines() if line.strip()]

    try:
        yield read
    finally:
        for handler in [h for h in root.handlers if getattr(h, "lumiku", False)]:
            root.removeHandler(handler)
        root.setLevel(level)


def _record(message: str, **context: Any) -> logging.LogRecord:
    record = logging.LogRecord("lumiku.test", logging.WARNING, __file__, 1, message, (), None)
    for name, value in context.items():
        setattr(record, name, value)
    return record


def test_a_json_line_is_one_line_even_with_a_traceback() -> None:
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "lumiku", logging.ERROR, __file__, 1, "❌ it broke\nbadly", (), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "ERROR"
    assert data["message"] == "❌ it broke\nbadly"
    assert "ValueError: line one" in data["exc"]
    assert data["time"].endswith("+00:00")


def test_the_text_line_ends_with_what_is_known() -> None:
    formatter = TextFormatter()
    known = formatter.format(_record("⚠️ slow", plugin="pose_generator", request_id="r1"))
    unknown = formatter.format(_record("✅ Server started successfully"))
    assert known.endswith("WARNING lumiku.test: ⚠️ slow [plugin=pose_generator request_id=r1]")
    assert unknown.endswith("WARNING lumiku.test: ✅ Server started successfully")


def test_hooks_and_jobs_name_their_plugin_job_and_request(
    json_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    logger = logging.getLogger("lumiku.test")
    with plugin_scope("pose_generator"):
        logger.info("in a hook")
    start_job("m-1", "avatar_creator", "req-9", "user-3")
    try:
        logger.warning("in a job")
    finally:
        end_job()
    logger.info("outside")

    hook, job, outside = json_lines()
    assert hook["plugin"] == "pose_generator"
    assert "request_id" not in hook
    assert job == {
        **job,
        "level": "WARNING",
        "plugin": "avatar_creator",
        "job_id": "m-1",
        "request_id": "req-9",
        "user_id": "user-3",
    }
    assert set(outside) == {"time", "level", "logger", "message"}


def _logging_plugin() -> PluginSpec:
    def hello(call: Any) -> dict[str, str]:
        logging.getLogger("lumiku_test_logs").warning("⚠️ hello from a route")
        return {"hello": "world"}

    @hookimpl
    def register_routes(ctx: Any) -> list[Any]:
        return [get("/hello", hello, auth="user"), get("/anyone", hello)]

    hooks = types.SimpleNamespace(register_routes=register_routes)
    return PluginSpec(id="log_probe", hooks=hooks)


def test_a_request_names_its_id_plugin_and_user(
    make_app: Callable[..., Any], json_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    client = TestClient(make_app([_logging_plugin()]))
    user = sign_up(client)
    json_lines()  # only the lines of the requests below

    signed_in = client.get(
        "/api/apps/log-probe/hello", headers={"Authorization": f"Bearer {user.token}"}
    )
    anonymous = client.get("/api/apps/log-probe/anyone", headers={"X-Request-Id": "forged"})

    assert signed_in.status_code == anonymous.status_code == 200
    first, second = (line for line in json_lines() if line["message"] == "⚠️ hello from a route")
    assert first["plugin"] == second["plugin"] == "log_probe"
    assert first["user_id"] == user.user_id
    assert first["request_id"] == signed_in.headers["X-Request-Id"]
    assert "user_id" not in second
    # The test client's address is no trusted proxy: its own id is not taken.
    assert second["request_id"] == anonymous.headers["X-Request-Id"] != "forged"
    assert len(second["request_id"]) == 32


def test_only_a_trusted_proxy_names_the_request() -> None:
    from lumiku.logs import request_id_from

    scope = {"headers": [(b"x-request-id", b"nginx-42")]}
    assert request_id_from(scope, trusted_peer=True) == "nginx-42"
    assert request_id_from(scope, trusted_peer=False) != "nginx-42"
    bad = {"headers": [(b"x-request-id", b"two words\n")]}
    assert len(request_id_from(bad, trusted_peer=True)) == 32


def test_a_job_logs_the_request_and_user_that_queued_it(
    json_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    import dramatiq

    from lumiku.jobs.broker import build_broker, declare_actor
    from lumiku.logs import LogContext, current_context
    from lumiku.logs import _current as log_context  # the middleware's variable

    broker = build_broker(None)
    contexts: list[LogContext | None] = []

    def render() -> None:
        contexts.append(current_context())
        logging.getLogger("lumiku_test_logs").warning("⚠️ rendering")

    actor = declare_actor(broker, render, name="pose_generator.probe", queue="pose_generator")
    token = log_context.set(LogContext(request_id="req-77", user_id="user-5"))
    try:
        actor.send()
    finally:
        log_context.reset(token)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.join("pose_generator")
        worker.join()
    finally:
        worker.stop()

    (line,) = [line for line in json_lines() if line["message"] == "⚠️ rendering"]
    assert line["request_id"] == "req-77"
    assert line["user_id"] == "user-5"
    assert line["plugin"] == "pose_generator"
    assert line["job_id"]
    assert contexts[0] is not None
