"""The web console in a real browser: Debian's Chromium driven by Playwright for Python.

- ``console``: one app with the three shipped plugins served by uvicorn (Socket.IO
  included) on a free port, its Duitku pointed at the emulator (served the same way), the
  local image provider at small sizes, and an admin; once per session.
- ``browser``: Chromium from ``/usr/bin/chromium`` (the ``chromium`` Debian package, which
  ``.ci/run`` installs), headless, ``--no-sandbox --disable-gpu``; Playwright's own browser
  downloads are never used. Missing: skipped, except under ``CI``, where the tests fail.
- ``page``: a fresh browser context (its own session storage) at phone width (390 px) or
  desktop width, whose screenshots land in ``test-artifacts/console/``.
- ``axe``: runs axe-core (``tests/browser/assets/axe.min.js``, the npm package pinned in
  ``console/package.json``, copied by ``make console-assets``) on the page and fails on
  serious or critical violations.

These run in the PostgreSQL suite only (the database of production; the SQLite suite
carries the npm checks of the API contract), so the two suites stay about as long.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from lumiku.testing import free_port, runtime_of, serve_in_thread
from lumiku.testing.app import build_test_app, test_environment
from lumiku.testing.pytest_plugin import test_backend
from lumiku.testing.templates import TestDatabases

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
AXE = Path(__file__).resolve().parent / "assets" / "axe.min.js"
ADMIN_EMAIL = "console-admin@example.com"
PASSWORD = "console-admin-passphrase-77"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests in the PostgreSQL suite only (see the module docstring)."""
    if test_backend() == "postgresql":
        return
    skip = pytest.mark.skip(reason="the browser tests run once, in the PostgreSQL suite")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(skip)


def _require(name: str, found: bool) -> None:
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required under CI but was not found", pytrace=False)
        pytest.skip(f"{name} is not installed")


@attrs.frozen
class Console:
    """The served app: base URL, the app, the Duitku emulator and the admin's credentials."""

    url: str
    app: Any
    duitku: Any
    admin_email: str = ADMIN_EMAIL
    password: str = PASSWORD


@pytest.fixture(scope="module")
def console(
    lumiku_databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """Serve the app with every shipped plugin, Socket.IO and the Duitku emulator."""
    from lumiku_payments_duitku.emulator import API_PATH, DuitkuEmulator

    workdir = tmp_path_factory.mktemp("console")
    database = lumiku_databases.scratch(workdir)
    emulator = DuitkuEmulator("D0001", "console-api-key")
    with serve_in_thread(emulator.app) as emulator_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = test_environment(
            database.url,
            workdir,
            LUMIKU_PUBLIC_URL=url,
            LUMIKU_WELCOME_CREDITS="200",
            DUITKU_MERCHANT_CODE="D0001",
            DUITKU_API_KEY="console-api-key",
            DUITKU_BASE_URL=emulator_url + API_PATH,
            DUITKU_CALLBACK_URL=f"{url}/api/payments/callback",
            DUITKU_RETURN_URL=f"{url}/console/#/buy",
            DUITKU_POLL_EVERY="3600",
            POSE_GENERATOR_IMAGE_WIDTH="192",
            POSE_GENERATOR_IMAGE_HEIGHT="256",
        )
        app = build_test_app(env, database=database)
        runtime_of(app).auth.create_user(ADMIN_EMAIL, PASSWORD, "admin")
        with serve_in_thread(app.state.realtime.wrap(app), port=port):
            yield Console(url, app, emulator)
    database.drop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium once per module.

    Not per session: Playwright's sync API keeps an event loop running on the main thread
    while it is started, which would break every later test that runs one (asyncio.run,
    pytest-asyncio).
    """
    _require(f"Chromium ({CHROMIUM}, Debian package chromium)", CHROMIUM.exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("playwright (requirements-dev.txt)", False)
        raise
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


Screenshot = Callable[[str], Path]


@attrs.define
class Browsing:
    """A page of a fresh context, how to screenshot it, and the console's errors seen."""

    page: Any
    context: Any
    shoot: Screenshot
    console_errors: list[str]


@pytest.fixture
def open_console(
    browser: Any, console: Console, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Browsing]]:
    """Return ``open_console(viewport=PHONE)``: a new context on ``/console/``."""
    contexts: list[Any] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")

    def start(viewport: dict[str, int] = PHONE) -> Browsing:
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        context.set_default_timeout(20_000)
        # Injected before the page's scripts through the DevTools protocol, which the page's
        # Content-Security-Policy (script-src 'self') does not apply to.
        context.add_init_script(path=str(AXE))
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{console.url}/console/")

        def shoot(name: str) -> Path:
            path = ARTIFACTS / f"{test_name}-{name}-{viewport['width']}.png"
            page.screenshot(path=str(path), full_page=True)
            return path

        return Browsing(page, context, shoot, errors)

    yield start
    for n, context in enumerate(contexts):
        for m, page in enumerate(context.pages):  # the last state, for a failure's story
            page.screenshot(path=str(ARTIFACTS / f"{test_name}-last-{n}-{m}.png"), full_page=True)
        context.close()


@pytest.fixture
def axe() -> Callable[[Any], list[dict[str, Any]]]:
    """Return ``check(page)``: the serious and critical axe-core violations on the page."""

    def check(page: Any) -> list[dict[str, Any]]:
        results = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in results
            if v["impact"] in ("serious", "critical")
        ]

    return check
