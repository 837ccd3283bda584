"""Running health checks: a check that hangs is answered ``down`` at its timeout."""

from __future__ import annotations

import threading

from lumiku.health import CheckResult, run_check


def test_a_check_stuck_on_a_silent_dependency_is_down_at_its_timeout() -> None:
    release = threading.Event()
    threading.Timer(60, release.set).start()  # a safety net: the check ends eventually

    def stuck() -> CheckResult:
        release.wait()  # a query on a connection whose network went silent
        return CheckResult("ok")

    result = run_check(stuck, timeout=0.2)
    # Answered while the check is still stuck: the caller did not wait for its thread.
    assert not release.is_set()
    release.set()
    assert result.status == "down"
    assert result.detail == "timed out after 0.2s"


def test_a_check_that_raises_is_down_without_the_exception_text() -> None:
    def broken() -> bool:
        raise RuntimeError("password=secret")

    result = run_check(broken)
    assert result.status == "down"
    assert "secret" not in result.detail
