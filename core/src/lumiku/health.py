"""Health checks: the type plugins return from ``register_health_checks`` and how they are run.

The checks themselves (the core's and each plugin's), which ``/health/*`` and ``lumiku
doctor`` both run, are in ``lumiku.health_checks``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal

import attrs

Status = Literal["ok", "degraded", "down"]
Overall = Literal["up", "degraded", "down"]
"""What the health routes answer at the top: up, degraded (200) or down (503)."""
logger = logging.getLogger("lumiku.health")


@attrs.frozen
class CheckResult:
    """The outcome of one health check.

    ``detail`` is a short reason for operators: never a secret, a URL, a filesystem path or
    an exception's text (log those instead).
    """

    status: Status
    detail: str = ""
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        """Return whether the check passed (``degraded`` counts as passing)."""
        return self.status != "down"

    def to_json(self) -> dict[str, object]:
        """Return the wire form used by the health routes."""
        data: dict[str, object] = {"status": self.status}
        if self.detail:
            data["detail"] = self.detail
        if self.latency_ms is not None:
            data["latencyMs"] = round(self.latency_ms, 2)
        return data


HealthCheck = Callable[[], "CheckResult | bool"]
"""A synchronous callable; ``True``/``False`` are read as ``ok``/``down``."""


def run_check(check: HealthCheck, *, timeout: float = 3.0) -> CheckResult:
    """Run ``check`` with a time limit; an exception or a timeout is ``down`` with a reason.

    The exception itself (its text, its traceback) goes to the log, never into the result.
    """
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-check")
    future = pool.submit(check)
    # Never wait for the thread: a check stuck on a dependency that stopped answering (a
    # database behind a partitioned network) would hold the answer past the timeout.
    pool.shutdown(wait=False)
    try:
        outcome = future.result(timeout=timeout)
    except FutureTimeout:
        return CheckResult("down", f"timed out after {timeout:g}s")
    except Exception as exc:
        logger.warning("health check failed: %s", type(exc).__name__, exc_info=exc)
        return CheckResult("down", f"failed ({type(exc).__name__}); the server log has why")
    latency = (time.perf_counter() - started) * 1000
    if isinstance(outcome, CheckResult):
        return attrs.evolve(outcome, latency_ms=outcome.latency_ms or latency)
    return CheckResult("ok" if outcome else "down", latency_ms=latency)


def run_checks(
    checks: Mapping[str, HealthCheck], *, timeout: float = 3.0
) -> dict[str, CheckResult]:
    """Run each named check and return the results by name."""
    return {name: run_check(check, timeout=timeout) for name, check in checks.items()}


def top_status(status: Status) -> Overall:
    """Return the word the health routes answer for ``status``: ``ok`` reads ``up``."""
    return "up" if status == "ok" else status


def overall(results: Mapping[str, CheckResult]) -> Status:
    """Return ``down`` if any check is down, else ``degraded`` if any is, else ``ok``."""
    statuses = {result.status for result in results.values()}
    if "down" in statuses:
        return "down"
    return "degraded" if "degraded" in statuses else "ok"
