"""run_workers: worker processes that build their own broker, restart, and stop on SIGTERM."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from lumiku.jobs import EXIT_BOOT_FAILED, JobQueue, build_broker, declare_actor, run_workers

pytestmark = pytest.mark.slow

WORKER_APP = textwrap.dedent(
    """
    import functools
    import logging
    import os
    import sys
    import time

    import redis

    from lumiku.jobs import build_broker, declare_actor, run_workers


    def build(url, namespace):
        logging.basicConfig(level=logging.INFO, format="%(process)d %(name)s %(message)s")
        client = redis.Redis.from_url(url)
        broker = build_broker(url, namespace=namespace)
        # Recover the messages of a killed worker within seconds instead of a minute.
        broker.heartbeat_timeout = 3000
        broker.maintenance_chance = 1_000_000

        def record(job):
            client.rpush(f"{namespace}:runs", f"{os.getpid()}:{job}")
            time.sleep(0.3)
            client.sadd(f"{namespace}:done", job)

        declare_actor(broker, record, name="supervised.record", queue="supervised")
        client.sadd(f"{namespace}:pids", os.getpid())
        return broker


    def broken():
        raise RuntimeError("bad settings")


    if __name__ == "__main__":
        logging.basicConfig(level=logging.INFO, format="%(process)d %(name)s %(message)s")
        if sys.argv[1] == "broken":
            factory = broken
        else:
            factory = functools.partial(build, sys.argv[1], sys.argv[2])
        sys.exit(run_workers(factory, processes=2, threads=2))
    """
)


@pytest.fixture
def worker_app(tmp_path: Path) -> Path:
    """Write the worker program (a script with a picklable broker factory)."""
    path = tmp_path / "worker_app.py"
    path.write_text(WORKER_APP)
    return path


@pytest.fixture
def start_workers(
    worker_app: Path, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start the worker program as a process; kill it if a test leaves it running."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / "workers.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, str(worker_app), *args], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds, or fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def is_running(pid: int) -> bool:
    """Return whether a process with ``pid`` exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def noop(job: str) -> None:
    """Stand in for the actor on the sending side; the workers run the real one."""


@pytest.mark.redis
def test_worker_processes_run_jobs_survive_a_killed_child_and_stop_on_sigterm(
    redis_server: str,
    redis_namespace: str,
    start_workers: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    ns = redis_namespace
    client = redis.Redis.from_url(redis_server, decode_responses=True)
    supervisor = start_workers(redis_server, ns)
    wait_for(lambda: client.scard(f"{ns}:pids") == 2, timeout=60, what="two worker processes")
    broker = build_broker(redis_server, namespace=ns)
    declare_actor(broker, noop, name="supervised.record", queue="supervised")
    queue = JobQueue(broker)
    jobs = {f"job-{n}" for n in range(30)}

    for job in sorted(jobs):
        queue.enqueue("supervised.record", job=job)
    wait_for(lambda: client.llen(f"{ns}:runs") >= 4, timeout=30, what="jobs to start")
    victim_pid, _, in_flight = str(client.lindex(f"{ns}:runs", -1)).partition(":")
    os.kill(int(victim_pid), signal.SIGKILL)  # while it runs `in_flight`

    wait_for(lambda: client.scard(f"{ns}:pids") == 3, timeout=60, what="a restarted worker")
    wait_for(lambda: client.smembers(f"{ns}:done") == jobs, timeout=60, what="every job")
    pids = {int(pid) for pid in client.smembers(f"{ns}:pids")}
    runs = [str(run).partition(":") for run in client.lrange(f"{ns}:runs", 0, -1)]
    supervisor.send_signal(signal.SIGTERM)
    status = supervisor.wait(timeout=60)
    broker.close()
    client.close()

    log = (tmp_path / "workers.log").read_text()
    assert status == 0, log
    assert "exited unexpectedly" in log
    # The job the killed worker was running was delivered again to a live one.
    assert any(job == in_flight and pid != victim_pid for pid, _, job in runs), runs
    assert not any(is_running(pid) for pid in pids), log


def test_a_child_that_cannot_build_its_broker_stops_the_pool(
    start_workers: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    supervisor = start_workers("broken")

    status = supervisor.wait(timeout=60)

    log = (tmp_path / "workers.log").read_text()
    assert status == EXIT_BOOT_FAILED, log
    assert "bad settings" in log
    assert "could not start; stopping" in log


def test_an_unpicklable_factory_is_refused_with_an_explanation() -> None:
    with pytest.raises(TypeError, match="must be picklable"):
        run_workers(lambda: build_broker(None), processes=1, threads=1)


def test_at_least_one_process_and_thread_are_needed() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_workers(functools.partial(build_broker, None), processes=0, threads=1)


class _Client:
    def __init__(self, answers: bool) -> None:
        self.answers = answers

    def ping(self) -> bool:
        if not self.answers:
            raise redis.ConnectionError("refused")
        return True


class _Broker:
    def __init__(self, answers: bool) -> None:
        self.client = _Client(answers)


def test_a_worker_process_claims_to_consume_only_when_its_broker_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lumiku.jobs.supervisor import _announce

    caplog.set_level("INFO", logger="lumiku.jobs")
    _announce(_Broker(answers=True), 1)  # type: ignore[arg-type]
    assert "✅ Worker process MainProcess is consuming with 1 thread" in caplog.text
    caplog.clear()
    _announce(_Broker(answers=False), 4)  # type: ignore[arg-type]
    assert "✅" not in caplog.text
    assert "⚠️ Worker process MainProcess started, but its broker is not answering" in caplog.text
