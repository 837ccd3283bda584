"""The web console's files: served at /console with a strict policy, shipped in the package,
and no part of the API document."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from typing import Any

import lumiku.console

STATIC = Path(lumiku.console.__file__).parent / "static"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _matches(path: str, pattern: str) -> bool:
    """Match as setuptools' globs do: ``*`` stays within one folder."""
    parts, wanted = path.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(map(fnmatch.fnmatch, parts, wanted))


def test_every_console_file_is_package_data() -> None:
    data = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["lumiku.console"]
    files = [p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert files
    missed = [f for f in files if not any(_matches(f, pattern) for pattern in patterns)]
    assert missed == [], "add these to [tool.setuptools.package-data] in core/pyproject.toml"


def test_the_console_is_served_with_a_strict_policy(make_client: Any) -> None:
    client = make_client([])
    moved = client.get("/console", headers={"Host": "evil.example"}, follow_redirects=False)
    assert moved.status_code == 308
    assert moved.headers["location"] == "/console/"  # a path: never another host or scheme
    page = client.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy
    # No bare ws:/wss: (any host): 'self' covers this origin's sockets, plus the public URL's.
    assert not re.search(r"wss?:(?!//)", policy)
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="js/main.js">' in page.text
    module = client.get("/console/js/main.js")
    assert module.status_code == 200
    assert "javascript" in module.headers["content-type"]
    vendor = client.get("/console/vendor/socket.io.esm.min.js")
    assert vendor.status_code == 200
    assert "Socket.IO v4." in vendor.text[:200]
    assert client.get("/console/nothing-here.js").status_code == 404


def test_the_console_adds_no_route_to_the_api_document(make_client: Any) -> None:
    document = make_client([]).get("/openapi.json").json()
    assert not [path for path in document["paths"] if path.startswith("/console")]
