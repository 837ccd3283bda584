"""Authenticated reads over HTTP: Lumiku against a FastAPI peer and a bare Starlette route.

Run: ``.venv/bin/python bench/edge.py [--databases sqlite,postgresql] [--duration 3]
[--rounds 3] [--connections 32] [--redis]`` (``make bench`` installs wrk first).

For each database (SQLite in a temporary folder; PostgreSQL in a database of its own, created
and dropped here) it migrates, starts ``lumiku serve`` with the three shipped plugins, the
FastAPI peer and the bare route (``bench/edge_peers.py``), each as one uvicorn process on a
free loopback port, seeds one user (25 ledger entries, 5 avatar projects), then loads the
three in turn, A/B/C interleaved, with ``wrk -t2 -cN --latency`` on:

- ``GET /api/credits/balance``
- ``GET /api/credits/history?limit=20``
- ``GET /api/apps/avatar-creator/projects``

It prints req/s, p50 and p99 (medians over the rounds) and the ratios Lumiku/peer and
Lumiku/bare, plus the idle RSS of ``lumiku serve`` and its boot time to ``/health``. The
machine is shared: compare ratios from one run, not absolute figures from different runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PATHS = {
    "balance": "/api/credits/balance",
    "history": "/api/credits/history?limit=20",
    "projects": "/api/apps/avatar-creator/projects",
}
APPS = ("lumiku", "peer", "bare")
PASSWORD = "Bench-Quartz-Lantern-8317"  # noqa: S105 - a throwaway bench account


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Send one request; return ``(status, body)``."""
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(base + path, data=data, method=method, headers=sent)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(base: str, path: str, process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """Wait until ``path`` answers 200; return the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{base} exited with status {process.returncode}")
        with contextlib.suppress(OSError):
            if request(base, "GET", path)[0] == 200:
                return time.perf_counter() - started
        time.sleep(0.005)
    raise RuntimeError(f"{base}{path} did not answer within {timeout}s")


def rss_mb(pid: int) -> float:
    """Return the resident set size of ``pid`` and its children in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the URL of an empty database of ``kind``, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    import psycopg

    name = f"lumiku_bench_http_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started here (SIGTERM, then SIGKILL)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed(base: str, env: dict[str, str]) -> str:
    """Create the bench user with 25 entries and 5 projects; return its token."""
    status, body = request(
        base, "POST", "/api/auth/register", {"email": "bench@example.com", "password": PASSWORD}
    )
    assert status == 201, (status, body)
    token = str(json.loads(body)["token"])
    user_id = str(json.loads(body)["user"]["id"])
    subprocess.run(
        [str(BIN / "lumiku"), "users", "create", "admin@example.com", "--admin"],
        env={**env, "LUMIKU_NEW_PASSWORD": PASSWORD},
        check=True,
        capture_output=True,
    )
    status, body = request(
        base, "POST", "/api/auth/login", {"email": "admin@example.com", "password": PASSWORD}
    )
    assert status == 200, (status, body)
    admin = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    for index in range(24):
        grant = {"userId": user_id, "amount": 10 + index, "reason": f"bench grant {index}"}
        headers = {**admin, "Idempotency-Key": f"bench-grant-{index}"}
        status, body = request(base, "POST", "/api/admin/credits/grant", grant, headers)
        assert status == 201, (status, body)
    mine = {"Authorization": f"Bearer {token}"}
    for index in range(5):
        headers = {**mine, "Idempotency-Key": f"bench-project-{index}"}
        project = {"name": f"Project {index}", "description": "bench"}
        status, body = request(base, "POST", "/api/apps/avatar-creator/projects", project, headers)
        assert status == 201, (status, body)
    return token


_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, token: str, args: argparse.Namespace) -> dict[str, float]:
    """Load ``url``; return ``{"rps", "p50", "p99", "errors"}`` (latencies in ms)."""
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latencies = {int(p): float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(out)}
    rate = _RATE.search(out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rate.group(1)) if rate else 0.0,
        "p50": latencies.get(50, float("nan")),
        "p99": latencies.get(99, float("nan")),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def run_database(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Measure the three apps on one database; return the figures."""
    with database(kind, folder) as url:
        secret = secrets.token_urlsafe(48)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "JWT_SECRET": secret,
            "REDIS_ENABLED": "true" if args.redis else "false",
            "LUMIKU_STORAGE_DIR": str(folder / f"uploads-{kind}"),
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run([str(BIN / "lumiku"), "migrate"], env=env, check=True, capture_output=True)
        ports = {app: free_port() for app in APPS}
        log = folder / f"servers-{kind}.log"
        lumiku = start([str(BIN / "lumiku"), "serve", "--port", str(ports["lumiku"])], env, log)
        processes = [lumiku]
        try:
            boot = wait_for(f"http://127.0.0.1:{ports['lumiku']}", "/health", lumiku)
            time.sleep(2.0)
            idle_rss = rss_mb(lumiku.pid)
            token = seed(f"http://127.0.0.1:{ports['lumiku']}", env)
            bodies = {
                PATHS[name].split("?")[0]: request(
                    f"http://127.0.0.1:{ports['lumiku']}",
                    "GET",
                    PATHS[name],
                    headers={"Authorization": f"Bearer {token}"},
                )[1].decode()
                for name in PATHS
            }
            bodies_file = folder / f"bodies-{kind}.json"
            bodies_file.write_text(json.dumps(bodies))
            peer_env = {
                **env,
                "BENCH_DATABASE_URL": url,
                "BENCH_JWT_SECRET": secret,
                "BENCH_BODIES": str(bodies_file),
            }
            for app, factory in (("peer", "peer_app"), ("bare", "bare_app")):
                command = [sys.executable, str(ROOT / "bench" / "edge_peers.py"), factory]
                command += ["--port", str(ports[app])]
                processes.append(start(command, peer_env, log))
            for app, process in zip(APPS[1:], processes[1:], strict=True):
                wait_for(
                    f"http://127.0.0.1:{ports[app]}",
                    next(iter(PATHS.values())).split("?")[0] if app == "bare" else "/docs",
                    process,
                )
            results: dict[str, dict[str, list[dict[str, float]]]] = {
                name: {app: [] for app in APPS} for name in PATHS
            }
            for path in PATHS.values():  # warm-up: one short run each
                for app in APPS:
                    short = argparse.Namespace(**{**vars(args), "duration": 1})
                    wrk(f"http://127.0.0.1:{ports[app]}{path}", token, short)
            for _round in range(args.rounds):
                for name, path in PATHS.items():
                    for app in APPS:
                        figures = wrk(f"http://127.0.0.1:{ports[app]}{path}", token, args)
                        results[name][app].append(figures)
            loaded_rss = rss_mb(lumiku.pid)
        finally:
            for process in processes:
                stop(process)
    return {"boot": boot, "idle_rss": idle_rss, "loaded_rss": loaded_rss, "results": results}


def median(runs: list[dict[str, float]], key: str) -> float:
    """Return the median of ``key`` over ``runs``."""
    return statistics.median(run[key] for run in runs)


def report(kind: str, figures: dict[str, Any]) -> None:
    """Print one database's table."""
    print(
        f"\n## {kind}: lumiku serve boot to /health {figures['boot']:.2f} s, "
        f"idle RSS {figures['idle_rss']:.0f} MB (after load {figures['loaded_rss']:.0f} MB)"
    )
    print(f"{'endpoint':<10} {'app':<7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, by_app in figures["results"].items():
        for app in APPS:
            runs = by_app[app]
            print(
                f"{name:<10} {app:<7} {median(runs, 'rps'):>8.0f} {median(runs, 'p50'):>8.2f} "
                f"{median(runs, 'p99'):>8.2f} {sum(r['errors'] for r in runs):>8.0f}"
            )
        lumiku, peer, bare = (median(by_app[app], "rps") for app in APPS)
        p99_ok = median(by_app["lumiku"], "p99") <= median(by_app["peer"], "p99")
        print(
            f"{name:<10} ratios: lumiku/peer {lumiku / peer:.2f}x, "
            f"lumiku/bare {lumiku / bare:.2f}, peer/bare {peer / bare:.2f}; "
            f"p99 no worse than the peer's: {p99_ok}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--redis", action="store_true", help="run Lumiku with Redis enabled")
    parser.add_argument(
        "--endpoints", default=",".join(PATHS), help="a subset of " + ",".join(PATHS)
    )
    args = parser.parse_args(argv)
    for name in set(PATHS) - set(args.endpoints.split(",")):
        del PATHS[name]
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install -y wrk` (make bench does it)")
        return 2
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds "
        f"interleaved (lumiku, peer, bare); medians; redis {'on' if args.redis else 'off'}"
    )
    with tempfile.TemporaryDirectory(prefix="lumiku-bench-http-") as tmp:
        for kind in args.databases.split(","):
            report(kind, run_database(kind, args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
