"""A real Socket.IO client on ``/avatar-creator`` follows its own generation, and only it
(served by uvicorn on a loopback port, Redis off: the web process runs the job)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from lumiku.testing import listening, serve_in_thread
from lumiku_avatar_creator.plugin import spec

NS = "/avatar-creator"
PASSWORD = "amber-violin-7-quartz"


def _sign_up(http: httpx.Client, email: str) -> dict[str, str]:
    answer = http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_the_owner_receives_started_progress_and_completed(make_app: Any) -> None:
    app = make_app([spec])
    with (
        serve_in_thread(app.state.realtime.wrap(app)) as url,
        httpx.Client(base_url=url + spec.prefix, timeout=30) as http,
        httpx.Client(base_url=url, timeout=30) as core,
    ):
        owner = _sign_up(core, "owner@example.com")
        other = _sign_up(core, "other@example.com")
        project = http.post("/projects", json={"name": "Team"}, headers=owner).json()["id"]
        with (
            listening(url, owner["Authorization"][7:], NS) as mine,
            listening(url, other["Authorization"][7:], NS) as theirs,
        ):
            queued = http.post(
                f"/projects/{project}/avatars/generate",
                json={"name": "Gen", "prompt": "a friendly face", "width": 512, "height": 512},
                headers=owner,
            )
            assert queued.status_code == 202, queued.text
            generation_id = queued.json()["generation"]["id"]
            events: list[tuple[str, Any]] = []
            while not events or events[-1][0] not in ("generation:completed", "generation:failed"):
                events.append(mine.get(timeout=30))
            time.sleep(0.3)  # anything meant for the owner has arrived by now
            assert theirs.empty()
    names = [name for name, _ in events]
    assert names == ["generation:started", "generation:progress", "generation:completed"]
    assert all(data["generationId"] == generation_id for _, data in events)
    assert events[-1][1]["creditsCharged"] == 10
