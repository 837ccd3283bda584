"""``/metrics`` of ``lumiku serve --workers 2`` with ``PROMETHEUS_MULTIPROC_DIR``: whichever
uvicorn worker answers a scrape, it reports the requests both of them served."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from lumiku.testing import OPERATOR_HEADERS

from .conftest import LiveServer

REQUESTS = 60


def served(text: str, route: str) -> int:
    """Return the requests of ``route`` in an exposition text (every status)."""
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "lumiku_http_request_duration_seconds_count"
        and sample.labels["route"] == route
    )


def test_every_scrape_reports_the_requests_of_both_workers(
    live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    server = live_server(workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory))

    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(REQUESTS):
            # A new connection each time, so the kernel spreads them over both workers.
            assert httpx.get(f"{server.url}/api/apps", timeout=30).status_code == 200
        scrapes = [
            served(client.get("/metrics", headers=OPERATOR_HEADERS).text, "/api/apps")
            for _ in range(6)
        ]

    processes = {path.stem.rsplit("_", 1)[-1] for path in directory.glob("gauge_*.db")}
    assert len(processes) == 2, sorted(directory.iterdir())  # both workers write there
    # Which worker accepts a connection is the kernel's choice; usually both served some.
    writers = {path.stem.rsplit("_", 1)[-1] for path in directory.glob("histogram_*.db")}
    print(f"\n{REQUESTS} requests served by {len(writers)} of 2 workers; scrapes {scrapes}")
    # The health probe of the fixture is not /api/apps: every scrape sees exactly ours.
    assert scrapes == [REQUESTS] * 6
