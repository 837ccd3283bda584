"""``PROMETHEUS_MULTIPROC_DIR`` is emptied by the first Lumiku process of the machine, never
while another runs; the live gauges of a process killed without warning are dropped by the
next one to start, its counters kept (``lumiku.metrics_dir``)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lumiku.metrics import Metrics
    from lumiku.metrics_dir import claim_metrics_dir

    directory = Path(sys.argv[1])
    first = claim_metrics_dir(directory)
    again = claim_metrics_dir(directory)
    metrics = Metrics(multiprocess_dir=directory)
    metrics.record_job("core", "processed")
    metrics.record_connections("/pose-generator", 1)
    print("first" if first else "joined", "again" if again else "once", flush=True)
    if sys.argv[2] == "hold":
        sys.stdin.readline()
    """
)


class Processes:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: list[subprocess.Popen[str]] = []

    def start(self, *, hold: bool) -> tuple[subprocess.Popen[str], str]:
        """Start a process claiming the directory; return it and what its claim said."""
        process = subprocess.Popen(
            [sys.executable, "-c", PROCESS, str(self.directory), "hold" if hold else "exit"],
            env={"PROMETHEUS_MULTIPROC_DIR": str(self.directory), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.running.append(process)
        assert process.stdout is not None
        said = process.stdout.readline().strip()
        if not hold:
            assert process.wait(timeout=60) == 0
        return process, said

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=60)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    directory = tmp_path / "metrics"
    directory.mkdir()
    started = Processes(directory)
    try:
        yield started
    finally:
        started.stop_all()


def files(directory: Path, kind: str) -> set[int]:
    """Return the pids with a value file of ``kind`` (``counter``, ``gauge_livesum``)."""
    found = (re.fullmatch(rf"{kind}_(\d+)\.db", path.name) for path in directory.iterdir())
    return {int(match.group(1)) for match in found if match}


def total_jobs(directory: Path) -> float:
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "lumiku_queue_jobs_total"
    )


def test_the_first_process_empties_and_the_others_keep_what_runs(
    processes: Processes,
) -> None:
    directory = processes.directory
    earlier, said = processes.start(hold=False)  # a run of the machine that ended
    assert said == "first once"
    (directory / "notes.txt").write_text("not ours")
    assert files(directory, "counter") == {earlier.pid}

    web, said = processes.start(hold=True)
    assert said == "first once"  # nobody else alive: the old files went
    assert files(directory, "counter") == {web.pid}
    assert (directory / "notes.txt").read_text() == "not ours"  # only value files go

    worker, said = processes.start(hold=True)
    assert said == "joined once"
    finished, said = processes.start(hold=False)  # a worker process that did its job
    assert said == "joined once"
    assert files(directory, "counter") == {web.pid, worker.pid, finished.pid}
    assert total_jobs(directory) == 3


def test_a_killed_process_keeps_its_counts_but_not_its_live_gauges(
    processes: Processes,
) -> None:
    directory = processes.directory
    web, _ = processes.start(hold=True)
    worker, _ = processes.start(hold=True)
    assert files(directory, "gauge_livesum") == {web.pid, worker.pid}

    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=60)
    _, said = processes.start(hold=False)

    assert said == "joined once"
    assert files(directory, "gauge_livesum") == {web.pid}  # the exited one removed its own
    assert worker.pid in files(directory, "counter")
    assert total_jobs(directory) == 3

    web.send_signal(signal.SIGKILL)
    web.wait(timeout=60)
    _, said = processes.start(hold=False)  # the machine starts again: a clean slate
    assert said == "first once"
    assert total_jobs(directory) == 1
