"""InProcessWorker: the web process runs its own jobs when Redis is off."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from lumiku.errors import ServiceUnavailable
from lumiku.jobs import InProcessWorker, JobQueue, JobState, build_broker, declare_actor, job_stats


def test_jobs_enqueued_from_other_threads_run_on_the_in_process_worker() -> None:
    broker = build_broker(None)
    ran: set[int] = set()
    lock = threading.Lock()
    all_done = threading.Event()

    def record(n: int) -> None:
        with lock:
            ran.add(n)
            if len(ran) == 20:
                all_done.set()

    declare_actor(broker, record, name="p.record", queue="p")
    worker = InProcessWorker(broker, threads=2)
    worker.start()
    queue = JobQueue(broker)
    try:
        senders = [
            threading.Thread(target=lambda k=k: [queue.enqueue("p.record", n=n) for n in k])
            for k in (range(0, 10), range(10, 20))
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert all_done.wait(10), f"only {len(ran)} of 20 jobs ran"
    finally:
        left = worker.stop()

    assert ran == set(range(20))
    assert left == 0
    stats = job_stats(broker)
    assert stats is not None
    assert stats.count(JobState.PROCESSED) == 20


def test_jobs_queued_before_start_run_once_the_worker_starts() -> None:
    broker = build_broker(None)
    done = threading.Event()
    declare_actor(broker, lambda: done.set(), name="p.job", queue="p")
    broker.get_actor("p.job").send()  # queued in memory, nobody consuming yet
    worker = InProcessWorker(broker)

    worker.start()
    try:
        assert done.wait(10)
    finally:
        worker.stop()


def test_stop_waits_for_queued_jobs_then_refuses_new_ones() -> None:
    broker = build_broker(None)
    finished: list[int] = []
    declare_actor(broker, lambda n: finished.append(n), name="p.slow", queue="p")
    worker = InProcessWorker(broker, threads=1)
    worker.start()
    queue = JobQueue(broker)
    for n in range(5):
        queue.enqueue("p.slow", n=n)

    left = worker.stop(drain=timedelta(seconds=10))

    assert (sorted(finished), left) == ([0, 1, 2, 3, 4], 0)
    assert not worker.running
    with pytest.raises(ServiceUnavailable):
        queue.enqueue("p.slow", n=5)


def test_jobs_that_cannot_finish_before_shutdown_are_counted_as_lost() -> None:
    broker = build_broker(None)
    release = threading.Event()
    declare_actor(broker, lambda: release.wait(5), name="p.block", queue="p")
    worker = InProcessWorker(broker, threads=1)
    worker.start()
    queue = JobQueue(broker)
    for _ in range(3):
        queue.enqueue("p.block")

    stopper = threading.Timer(0.5, release.set)
    stopper.start()
    left = worker.stop(drain=timedelta(milliseconds=100))
    stopper.join()

    assert left == 2  # one was running and finished; two never started


def test_a_stopped_worker_can_start_again() -> None:
    broker = build_broker(None)
    runs: list[str] = []

    def run(text: str) -> None:
        runs.append(text)

    declare_actor(broker, run, name="p.run", queue="p")
    worker = InProcessWorker(broker)
    queue = JobQueue(broker)
    middleware_before = list(broker.middleware)

    for label in ("first", "second"):
        worker.start()
        worker.start()  # idempotent
        queue.enqueue("p.run", text=label)
        worker.stop()

    assert runs == ["first", "second"]
    assert broker.middleware == middleware_before


def test_two_workers_in_one_process_stop_their_own_event_loops() -> None:
    """The main and the fallback broker's workers each stop the loop thread they started;
    none is left behind to keep the interpreter waiting at exit (Dramatiq's ``AsyncIO``
    keeps one non-daemon thread in a global, which the second worker replaced)."""

    def loops() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if type(t).__name__ == "EventLoopThread"}

    before = loops()
    first = InProcessWorker(build_broker(None), threads=1)
    second = InProcessWorker(build_broker(None), threads=1)
    first.start()
    second.start()
    started = loops() - before
    assert len(started) == 2
    assert all(t.daemon for t in started)
    first.stop(drain=timedelta(0))
    second.stop(drain=timedelta(0))
    assert not (loops() - before)
