"""The machine's ``PROMETHEUS_MULTIPROC_DIR``: emptied by the first Lumiku process that starts.

prometheus_client's multiprocess mode adds up the files every process of a machine writes
there, including those of processes that exited (so a worker's counts outlive it). Files
left from an earlier run of the machine must go before the first process writes, and never
while another process runs: removing some processes' counters while others keep counting
makes a sum go down by less than a reset, which Prometheus reads as a reset followed by a
jump (an increase counted twice).

So ``lumiku serve`` and ``lumiku worker`` claim the directory when they start
(:func:`claim_metrics_dir`): each holds a shared lock on ``.lumiku-alive.lock`` for its
whole life (the kernel drops it when the process ends, even on SIGKILL); a process that
can take that lock exclusively is the only one alive, and empties the directory first. A
second lock (``.lumiku-claim.lock``) makes the decision one process at a time. No service
manager step is needed, whatever starts the processes (systemd, a Procfile, a container).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead

logger = logging.getLogger("lumiku")

ALIVE_LOCK = ".lumiku-alive.lock"
CLAIM_LOCK = ".lumiku-claim.lock"
# The files prometheus_client writes: counter_<pid>.db, gauge_livesum_<pid>.db, ...
_VALUES = re.compile(r"^(counter|gauge_\w+|histogram|summary)_(\d+)\.db$")
_LIVE_GAUGE = re.compile(r"^gauge_live\w*_(\d+)\.db$")
_held: dict[Path, int] = {}


def claim_metrics_dir(directory: Path) -> bool:
    """Join the processes writing metrics to ``directory``; empty it if this is the first.

    Return ``True`` when no other Lumiku process of the machine holds the directory and its
    old value files were removed; ``False`` when others run (then only the live gauges of
    processes that died without saying so, such as a SIGKILLed worker, are dropped). The
    lock is held until the process exits; claiming again in the same process returns
    ``False``. Raise ``OSError`` when the directory cannot hold the lock files.
    """
    directory = directory.resolve()
    if directory in _held:
        return False
    alive = os.open(directory / ALIVE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        claim = os.open(directory / CLAIM_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(claim, fcntl.LOCK_EX)
            try:
                fcntl.flock(alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                first = False
                _forget_dead_processes(directory)
            else:
                first = True
                removed = _empty(directory)
                logger.info(
                    "✅ Metrics directory emptied: the first Lumiku process of this machine "
                    "(%d old value files removed)",
                    removed,
                )
            # Converting the lock is not atomic, but every claimant waits on ``claim``.
            fcntl.flock(alive, fcntl.LOCK_SH)
        finally:
            os.close(claim)  # releases the claim lock
    except BaseException:
        os.close(alive)
        raise
    _held[directory] = alive
    return first


def _empty(directory: Path) -> int:
    removed = 0
    for path in directory.iterdir():
        if _VALUES.match(path.name):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def _forget_dead_processes(directory: Path) -> None:
    # A process that exits normally drops its live gauges itself (lumiku.metrics); one
    # killed cannot. Its counters stay: they are part of the machine's totals.
    pids = {int(m.group(1)) for p in directory.iterdir() if (m := _LIVE_GAUGE.match(p.name))}
    for pid in pids:
        if not _running(pid):
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
