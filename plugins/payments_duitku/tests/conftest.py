"""Fixtures of the Duitku payments tests: the emulator and the app, both over real HTTP.

``shop`` serves a migrated app with the plugin on a free port (uvicorn in a thread), its
Duitku pointed at an emulator served the same way; the emulator posts its callbacks to the
app's real callback URL. Tests reach them through the ``Shop`` handle (importlib mode keeps
conftest modules out of reach, so helpers come from fixtures).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa

from lumiku.testing import (
    ManualClock,
    SignedInUser,
    free_port,
    runtime_of,
    serve_in_thread,
    sign_up,
)
from lumiku_payments_duitku.emulator import API_PATH, DuitkuEmulator
from lumiku_payments_duitku.plugin import spec
from lumiku_payments_duitku.services import Services, services_for

MERCHANT = "D0001"
API_KEY = "732B39FC61796845775D2C4FB05332AF"  # Duitku's public sample key (the test vector's)
PREFIX = spec.prefix


@attrs.frozen
class Emulated:
    """The emulator and where its API is served."""

    emulator: DuitkuEmulator
    url: str

    @property
    def api_url(self) -> str:
        return self.url + API_PATH


@attrs.define
class Shop:
    """A served app with the plugin, its emulator, and helpers."""

    url: str
    app: Any
    http: httpx.Client
    duitku: DuitkuEmulator
    clock: ManualClock | None

    @property
    def runtime(self) -> Any:
        return runtime_of(self.app)

    @property
    def ctx(self) -> Any:
        return self.runtime.contexts["payments_duitku"]

    @property
    def services(self) -> Services:
        return services_for(self.ctx)

    def sign_up(self, name: str = "ana") -> SignedInUser:
        """Register a user through the API; paths of the returned user start at /api/payments."""
        return sign_up(self.http, name).at(PREFIX)  # type: ignore[arg-type]

    def buy(self, user: SignedInUser, package_id: str = "topup-1500", **body: Any) -> Any:
        """Create a payment of ``package_id``; assert the 201 and return its body."""
        response = user.post("", json={"packageId": package_id, **body})
        assert response.status_code == 201, response.text
        return response.json()

    def purchase_entries(self, merchant_order_id: str) -> int:
        """Return how many purchase entries credit the payment."""
        with self.runtime.engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM credit_entries WHERE kind = 'purchase' "
                        "AND reference_type = 'duitku_payment' AND reference_id = :order"
                    ),
                    {"order": merchant_order_id},
                ).scalar_one()
            )

    def payment(self, merchant_order_id: str) -> Any:
        """Return the payment as stored."""
        return self.services.store.find(merchant_order_id)


@pytest.fixture
def lumiku_plugins() -> list[Any]:
    """The kit's ``api_client`` runs this plugin."""
    return [spec]


@pytest.fixture
def emulated() -> Iterator[Emulated]:
    """Yield a Duitku emulator (merchant D0001, the sample key) served over real HTTP."""
    emulator = DuitkuEmulator(MERCHANT, API_KEY)
    with serve_in_thread(emulator.app) as url:
        yield Emulated(emulator, url)


@pytest.fixture
def duitku_env(emulated: Emulated) -> dict[str, str]:
    """Return the variables pointing the plugin at the emulator (the poller left to tests)."""
    return {
        "DUITKU_MERCHANT_CODE": MERCHANT,
        "DUITKU_API_KEY": API_KEY,
        "DUITKU_BASE_URL": emulated.api_url,
        "DUITKU_RETURN_URL": "http://127.0.0.1:9/after-payment",
        "DUITKU_POLL_EVERY": "3600",
        "DUITKU_READ_TIMEOUT": "5",
    }


@pytest.fixture
def make_shop(
    make_app: Callable[..., Any], emulated: Emulated, duitku_env: dict[str, str]
) -> Iterator[Callable[..., Shop]]:
    """Return ``make_shop(*, clock=None, **env)``: the app served over HTTP, with helpers."""
    with contextlib.ExitStack() as stack:

        def factory(*, clock: ManualClock | None = None, **env: str) -> Shop:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            variables = {
                **duitku_env,
                "LUMIKU_PUBLIC_URL": url,
                "DUITKU_CALLBACK_URL": f"{url}{PREFIX}/callback",
                **env,
            }
            app = make_app([spec], clock=clock, **variables)
            stack.enter_context(serve_in_thread(app, port=port))
            http = stack.enter_context(httpx.Client(base_url=url, timeout=30))
            return Shop(url, app, http, emulated.emulator, clock)

        yield factory


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    """Return the app with the plugin, served over HTTP, and its emulator."""
    return make_shop()
