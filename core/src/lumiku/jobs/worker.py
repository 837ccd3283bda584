"""Run Dramatiq workers: threads in the web process, or worker processes for ``lumiku worker``."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import dramatiq
from dramatiq.brokers.stub import StubBroker

from lumiku.jobs.broker import boot_process
from lumiku.jobs.policy import milliseconds
from lumiku.jobs.supervisor import run_workers
from lumiku.wording import plural

__all__ = ["InProcessWorker", "run_workers"]

logger = logging.getLogger("lumiku.jobs")

# Idle worker threads wake this often; it bounds how long stop() waits on an idle worker
# (each app shutdown in a test suite waited 0.1-0.2 s at 100 ms). Waking 50 times a second
# costs a few microseconds each: nothing next to the web process's own work.
_IDLE_WAKEUP = timedelta(milliseconds=20)


class InProcessWorker:
    """Run jobs on worker threads of the current process (the web process when Redis is off).

    Dramatiq allows one worker per process, and so does this class: build one, ``start()``
    it in the application's lifespan before anything enqueues, ``stop()`` it at shutdown.
    """

    def __init__(
        self,
        broker: dramatiq.Broker,
        threads: int = 2,
        *,
        shutdown_timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self._broker = broker
        self._threads = threads
        self._shutdown_timeout = shutdown_timeout
        self._worker: dramatiq.Worker | None = None
        self._worker_middleware: list[dramatiq.Middleware] = []

    @property
    def running(self) -> bool:
        """Return whether the worker threads are consuming."""
        return self._worker is not None

    @property
    def worker(self) -> dramatiq.Worker | None:
        """Return the running Dramatiq worker, for tests that join it."""
        return self._worker

    def start(self) -> None:
        """Start the worker threads; jobs already queued start running. Idempotent."""
        if self._worker is not None:
            return
        boot_process(self._broker)
        before = list(self._broker.middleware)
        worker = dramatiq.Worker(
            self._broker,
            worker_threads=self._threads,
            worker_timeout=milliseconds(_IDLE_WAKEUP),
        )
        worker.start()
        # Worker.start() adds a middleware that starts consumers for new queues; it is
        # removed in stop() so a stopped worker does not come back to life.
        self._worker_middleware = [m for m in self._broker.middleware if m not in before]
        self._worker = worker
        logger.info("✅ In-process job worker started with %s", plural(self._threads, "thread"))

    def stop(self, *, drain: timedelta = timedelta(seconds=5)) -> int:
        """Wait up to ``drain`` for queued jobs, stop the threads, and return the jobs left.

        Jobs still queued when the process exits are lost (the in-process queue is memory);
        their number is returned and logged so the loss is never silent.
        """
        worker, self._worker = self._worker, None
        if worker is None:
            return 0
        self._drain(drain)
        worker.stop(timeout=milliseconds(self._shutdown_timeout))
        self._broker.middleware = [
            m for m in self._broker.middleware if m not in self._worker_middleware
        ]
        self._worker_middleware = []
        left = self._unfinished()
        if left:
            logger.warning(
                "⚠️ In-process job worker stopped with %d unfinished jobs; they are lost", left
            )
        else:
            logger.info("In-process job worker stopped")
        return left

    def _drain(self, timeout: timedelta) -> None:
        if not isinstance(self._broker, StubBroker):
            return
        deadline = time.monotonic() + timeout.total_seconds()
        for queue_name in self._broker.get_declared_queues() - self._broker.delay_queues:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self._broker.join(queue_name, timeout=max(1, int(left * 1000)), fail_fast=False)
            except dramatiq.QueueJoinTimeout:
                return

    def _unfinished(self) -> int:
        if not isinstance(self._broker, StubBroker):
            return 0  # Redis keeps unacknowledged messages and redelivers them.
        return sum(queue.unfinished_tasks for queue in self._broker.queues.values())
