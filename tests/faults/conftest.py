"""A system of real processes for the fault tests: ``lumiku serve`` nodes and ``lumiku worker``
processes on the test's own database (and Redis), with the plugins of
``lkt_fault_plugins.py`` installed, and what the tests ask of it while faults happen."""

from __future__ import annotations

import asyncio
import io
import itertools
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import socketio
import sqlalchemy as sa
from PIL import Image

from lumiku.testing import (
    LumikuProcess,
    LumikuProcesses,
    free_port,
    install_plugins,
    lumiku_command,
    process_env,
    runtime_of,
    wait_ready,
)

HERE = Path(__file__).parent
ENTRY_POINTS = {
    "lkt_probe": "lkt_fault_plugins:probe",
    "lkt_waiter": "lkt_fault_plugins:waiter",
    "lkt_slow_provider": "lkt_fault_plugins:slow_provider",
}
POSES = "/api/apps/pose-generator"
PROBE = "/api/apps/lkt-probe"
SMALL = {"POSE_GENERATOR_IMAGE_WIDTH": "128", "POSE_GENERATOR_IMAGE_HEIGHT": "128"}
POSE_COUNT = 6
FINAL = ("completed", "partial", "failed")
"""The statuses a generation ends in."""
# The recovery runs every 15 s on the node's schedule; a lease of 2 s lapses well before.
RECOVERED_WITHIN = 90.0


@attrs.define
class System:
    """The processes of one test and the environment they share."""

    env: dict[str, str]
    """The environment of every process (the test's database, the fault plugins...)."""
    folder: Path
    """``LKT_FAULTS_DIR``: what the fault plugins wrote."""
    processes: LumikuProcesses
    engine: sa.Engine
    """An engine on the test's database, straight (not through any proxy)."""

    def serve(
        self, name: str = "node", *, workers: int = 1, **env: str
    ) -> tuple[str, LumikuProcess]:
        """Start ``lumiku serve`` (``workers`` processes) on a free port; return its URL
        once it is ready."""
        port = free_port()
        arguments = ("serve", "--port", str(port), "--workers", str(workers))
        node = self.processes.start(name, *arguments, env={**self.env, **env})
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, node)
        return url, node

    def worker(self, name: str = "worker", **env: str) -> LumikuProcess:
        """Start ``lumiku worker`` (one process, two threads)."""
        arguments = ("worker", "--processes", "1", "--threads", "2")
        return self.processes.start(name, *arguments, env={**self.env, **env})

    def reconcile(self) -> str:
        """Run ``lumiku credits reconcile``; return its output (it must exit 0)."""
        return self.command("credits", "reconcile")

    def grant(self, email: str, amount: int) -> None:
        """Give ``amount`` credits to the account ``email`` (``lumiku credits grant``)."""
        self.command("credits", "grant", email, str(amount))

    def command(self, *arguments: str) -> str:
        """Run ``lumiku <arguments>``; return its output (it must exit 0)."""
        done = subprocess.run(
            [*lumiku_command(), *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def lines(self, name: str) -> list[str]:
        """Return the lines the fault plugins wrote to ``name`` (none yet: empty)."""
        path = self.folder / name
        return path.read_text().splitlines() if path.exists() else []

    def scalar(self, sql: str, **params: Any) -> Any:
        """Return the one value ``sql`` selects from the test's database."""
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar_one()


@pytest.fixture
def system(
    make_app: Callable[..., Any],
    lumiku_env: dict[str, str],
    lumiku_processes: LumikuProcesses,
    tmp_path: Path,
) -> Iterator[System]:
    """Return the test's :class:`System`: its database migrated, no process started yet."""
    app = make_app(**SMALL)  # migrates the test's database for the installed plugins
    engine = runtime_of(app).engine
    folder = tmp_path / "faults"
    folder.mkdir()
    site = install_plugins(tmp_path / "site", "lkt-fault-plugins", ENTRY_POINTS)
    env = process_env(
        lumiku_env,
        SMALL,
        {"LKT_FAULTS_DIR": str(folder), "POSE_GENERATOR_PROVIDER": "slow"},
        pythonpath=site + ":" + str(HERE),
    )
    yield System(env, folder, lumiku_processes, engine)
    lumiku_processes.stop_all()
    engine.dispose()


def until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` every 0.1 s until it is true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


@attrs.frozen
class Probe:
    """One request the load sends: every ``every``-th round, ``method path`` with ``json``."""

    label: str
    method: str
    path: str
    headers: dict[str, str] = attrs.field(factory=dict)
    json: Any = None
    every: int = 1


class Load:
    """Requests sent in rounds from a thread, counted by ``(label, status)``.

    A request that got no answer (refused, reset, timed out) counts as status 0.
    """

    def __init__(self, url: str, probes: list[Probe]) -> None:
        self.url = url
        self.probes = probes
        self.counts: Counter[tuple[str, int]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for round_number in itertools.count():
                if self._stop.is_set():
                    return
                for probe in self.probes:
                    if round_number % probe.every:
                        continue
                    try:
                        status = client.request(
                            probe.method, probe.path, headers=probe.headers, json=probe.json
                        ).status_code
                    except httpx.HTTPError:
                        status = 0
                    self.counts[probe.label, status] += 1
                time.sleep(0.02)

    def total(self) -> int:
        """Return how many requests were sent."""
        return sum(self.counts.values())

    def failed(self) -> dict[tuple[str, int], int]:
        """Return the counts of 5xx answers and of requests without an answer."""
        return {key: n for key, n in self.counts.items() if key[1] >= 500 or key[1] == 0}


class SocketClient:
    """A Socket.IO client (websocket transport) connected for a user, on a loop of its own."""

    def __init__(self, url: str, token: str, namespace: str = "/pose-generator") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = socketio.AsyncClient(reconnection=False)
        connect = self._client.connect(
            url,
            namespaces=[namespace],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=20,
        )
        asyncio.run_coroutine_threadsafe(connect, self._loop).result(timeout=30)

    @property
    def connected(self) -> bool:
        """Return whether the connection is still open."""
        return bool(self._client.connected)

    def close(self) -> None:
        """Disconnect (if still connected) and stop the loop."""
        asyncio.run_coroutine_threadsafe(self._client.disconnect(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def portrait() -> bytes:
    """Return a 256 x 256 PNG (the Pose Generator's smallest avatar)."""
    picture = Image.new("RGB", (256, 256), (40, 120, 200))
    picture.paste((150, 100, 70), (85, 64, 170, 128))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


@attrs.frozen
class Poser:
    """A signed-in user of a node with a Pose Generator project."""

    http: httpx.Client
    token: str
    user_id: str
    email: str
    project_id: str

    @property
    def headers(self) -> dict[str, str]:
        """Return the user's ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.token}"}

    def generate(self, poses: list[str]) -> httpx.Response:
        """Submit a gallery generation of ``poses`` (30 credits each)."""
        body = {
            "projectId": self.project_id,
            "generationType": "GALLERY_REFERENCE",
            "selectedPoseIds": poses,
        }
        return self.http.post(f"{POSES}/generate", json=body, headers=self.headers)

    def generation(self, generation_id: str) -> dict[str, Any]:
        """Return the generation's status report."""
        answer = self.http.get(f"{POSES}/generations/{generation_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def balance(self) -> dict[str, int]:
        """Return ``{"balance", "held", "available"}``."""
        answer = self.http.get("/api/credits/balance", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def poser(http: httpx.Client, name: str) -> Poser:
    """Sign up a new account on ``http``'s node and give it a Pose Generator project."""
    from lumiku.testing import sign_up

    user = sign_up(http, name)
    uploaded = http.post(
        f"{POSES}/uploads",
        files={"image": ("me.png", portrait(), "image/png")},
        headers=user.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    body = {
        "projectName": "Faults",
        "avatarSource": "UPLOAD",
        "avatarImageUrl": uploaded.json()["imageUrl"],
    }
    project = http.post(f"{POSES}/projects", json=body, headers=user.headers)
    assert project.status_code == 201, project.text
    return Poser(http, user.token, user.user_id, user.email, project.json()["id"])


def library_poses(system: System, count: int) -> list[str]:
    """Return the ids of ``count`` poses of the library."""
    with system.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id FROM pose_library ORDER BY id LIMIT :n"), {"n": count}
        )
        return [str(pose) for pose in rows.scalars()]


def submit(system: System, artist: Poser) -> str:
    """Submit a generation of ``POSE_COUNT`` poses; return its id."""
    queued = artist.generate(library_poses(system, POSE_COUNT))
    assert queued.status_code == 202, queued.text
    return str(queued.json()["generationId"])


def stored_seeds(system: System, generation_id: str) -> list[int]:
    """Return the seeds of the poses stored for the generation."""
    with system.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT seed FROM generated_poses WHERE generation_id = :g"),
            {"g": generation_id},
        )
        return sorted(int(seed) for seed in rows.scalars())


def renders(system: System) -> list[tuple[int, int]]:
    """Return each render as ``(process id, seed)``."""
    return [
        (int(pid), int(seed))
        for pid, seed in (line.split() for line in system.lines("renders.log"))
    ]


def finished(artist: Poser, generation_id: str, timeout: float) -> dict[str, Any]:
    """Wait for the generation's end; return its report."""
    return dict(
        until(
            lambda: (report := artist.generation(generation_id))["status"] in FINAL and report,
            timeout,
            "the generation finished",
        )
    )


def check_money(system: System, artist: Poser, report: dict[str, Any], generation_id: str) -> None:
    """Check the generation made every pose once and took 30 credits for each, exactly."""
    seeds = stored_seeds(system, generation_id)
    assert report["status"] == "completed", report
    assert len(seeds) == len(set(seeds)) == POSE_COUNT
    assert report["creditsCaptured"] == 30 * POSE_COUNT, report
    left = 1100 - 30 * POSE_COUNT
    assert artist.balance() == {"balance": left, "held": 0, "available": left}
    assert "every balance matches" in system.reconcile()
