"""``/metrics``: every family operators alert on, and the machine's processes added up in
prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), where the counts of a
worker process outlive it and the gauges of a process that exited stop counting."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from lumiku.errors import ConfigurationError
from lumiku.jobs.stats import JobState, JobStats
from lumiku.metrics import Metrics
from lumiku.realtime.connections import ConnectionGauge
from lumiku.settings import load_settings
from lumiku.testing import OPERATOR_HEADERS, sign_up

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Return every sample of an exposition text by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    """Return the sample ``name`` with exactly ``labels``, or ``None``."""
    return found.get((name, frozenset(labels.items())))


def test_an_app_reports_requests_credits_parse_errors_redis_and_plugins(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    sign_up(client)
    bad = client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400

    found = samples(client.get("/metrics", headers=OPERATOR_HEADERS).text)

    requests = [
        (dict(labels), count)
        for (name, labels), count in found.items()
        if name == "lumiku_http_request_duration_seconds_count"
    ]
    routes = {(labels["route"], labels["status"]) for labels, _ in requests}
    assert ("/api/auth/login", "4xx") in routes  # status classes: bounded label values
    assert ("/api/auth/register", "2xx") in routes
    assert value(found, "lumiku_json_parse_errors_total") == 1
    assert value(found, "lumiku_credit_transactions_total", operation="grant", outcome="ok") == 1
    assert value(found, "lumiku_redis_up") == 0  # REDIS_ENABLED=false in tests
    states = {dict(labels)["plugin"] for (name, labels) in found if name == "lumiku_plugin_state"}
    assert states  # one series per plugin and state
    assert not [name for name, _ in found if name == "lumiku_plugin_hook_errors_total"]


def test_job_counts_and_open_sockets_reach_the_metrics() -> None:
    metrics = Metrics()
    stats = JobStats()
    stats.observer = metrics.record_job
    sockets = ConnectionGauge(on_change=metrics.record_connections)

    stats.record(JobState.ENQUEUED, queue="avatar_creator")
    stats.record(JobState.PROCESSED, queue="avatar_creator")
    stats.record(JobState.FAILED, queue="core")
    sockets.opened("/pose-generator")
    sockets.opened("/pose-generator")
    sockets.closed("/pose-generator")
    sockets.closed("/avatar-creator")  # never opened: not counted below zero

    found = samples(metrics.render().decode())
    jobs = "lumiku_queue_jobs_total"
    assert value(found, jobs, queue="avatar_creator", plugin="avatar_creator", state="processed")
    assert value(found, jobs, queue="core", plugin="core", state="failed") == 1
    assert value(found, "lumiku_websocket_connections", namespace="/pose-generator") == 1
    assert value(found, "lumiku_websocket_connections", namespace="/avatar-creator") is None
    assert sockets.value() == 1


def test_a_hook_error_is_counted_by_plugin_and_hook() -> None:
    metrics = Metrics()

    metrics.record_hook_error("pose_generator", "startup", RuntimeError("boom"))

    found = samples(metrics.render().decode())
    assert (
        value(found, "lumiku_plugin_hook_errors_total", plugin="pose_generator", hook="startup")
        == 1
    )


def test_the_multiprocess_directory_must_exist(tmp_path: Path) -> None:
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    environ = {"LUMIKU_ENV": "test", "LUMIKU_CONFIG": str(config), "JWT_SECRET": "x" * 40}

    with pytest.raises(ConfigurationError) as caught:
        load_settings({**environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})
    assert "PROMETHEUS_MULTIPROC_DIR" in str(caught.value)
    assert load_settings({**environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).metrics_dir == (
        tmp_path
    )


def test_a_directory_set_too_late_falls_back_to_this_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # This test process started without PROMETHEUS_MULTIPROC_DIR: values live in memory.
    metrics = Metrics(multiprocess_dir=tmp_path)

    metrics.record_job("core", "processed")

    assert metrics.multiprocess_dir is None
    assert "set after the process started" in caplog.text
    assert b"lumiku_queue_jobs_total" in metrics.render()


PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lumiku.metrics import Metrics

    metrics = Metrics(multiprocess_dir=Path(sys.argv[1]))
    for _ in range(int(sys.argv[2])):
        metrics.record_job("avatar_creator", "processed")
    metrics.record_connections("/pose-generator", int(sys.argv[3]))
    metrics.record_credit_operation("expire", "ok", int(sys.argv[4]))
    if sys.argv[5] == "render":
        sys.stdout.write(metrics.render().decode())
    """
)


def run_process(directory: Path, jobs: int, sockets: int, expired: int, render: bool) -> str:
    """Run a process writing metrics to ``directory``; return what it rendered."""
    arguments = [str(directory), str(jobs), str(sockets), str(expired)]
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, *arguments, "render" if render else "quiet"],
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_processes_of_a_machine_are_added_up(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()

    run_process(directory, jobs=3, sockets=5, expired=2, render=False)  # a worker that exited
    run_process(directory, jobs=4, sockets=1, expired=0, render=False)
    text = run_process(directory, jobs=2, sockets=2, expired=1, render=True)

    found = samples(text)
    # Counters of processes that exited are kept: 3 + 4 + 2 jobs, 2 + 1 holds expired.
    assert (
        value(
            found,
            "lumiku_queue_jobs_total",
            queue="avatar_creator",
            plugin="avatar_creator",
            state="processed",
        )
        == 9
    )
    assert value(found, "lumiku_credit_transactions_total", operation="expire", outcome="ok") == 3
    # Open sockets count only the processes still running (the one rendering).
    assert value(found, "lumiku_websocket_connections", namespace="/pose-generator") == 2


def test_a_worker_only_machine_serves_its_metrics_behind_the_token(tmp_path: Path) -> None:
    from lumiku.metrics_server import serve_machine_metrics

    directory = tmp_path / "metrics"
    directory.mkdir()
    run_process(directory, jobs=2, sockets=0, expired=0, render=False)  # a worker that exited
    server = serve_machine_metrics(directory, "127.0.0.1", 0, token="t" * 24)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        refused = httpx.get(url, timeout=10)
        answered = httpx.get(url, headers={"Authorization": "Bearer " + "t" * 24}, timeout=10)
    finally:
        server.shutdown()
        server.server_close()

    assert refused.status_code == 401
    assert answered.status_code == 200
    found = samples(answered.text)
    labels = {"queue": "avatar_creator", "plugin": "avatar_creator", "state": "processed"}
    assert value(found, "lumiku_queue_jobs_total", **labels) == 2
