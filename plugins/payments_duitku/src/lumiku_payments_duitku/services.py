"""The plugin's composition root: every service built once per plugin context."""

from __future__ import annotations

from datetime import timedelta

import attrs

from lumiku import PluginContext
from lumiku_payments_duitku.callbacks import CallbackCredentials, Callbacks
from lumiku_payments_duitku.checkout import Checkout, CheckoutConfig
from lumiku_payments_duitku.client import Credentials, DuitkuClient
from lumiku_payments_duitku.packages import PackageTable
from lumiku_payments_duitku.payments import PaymentStore
from lumiku_payments_duitku.poller import Poller
from lumiku_payments_duitku.settings import DuitkuSettings
from lumiku_payments_duitku.settlement import Settlement

_STATE_KEY = "services"
CALLBACK_PATH = "/callback"


@attrs.frozen
class Services:
    """The services of one Duitku payments instance."""

    settings: DuitkuSettings
    packages: PackageTable
    client: DuitkuClient
    store: PaymentStore
    settlement: Settlement
    checkout: Checkout
    callbacks: Callbacks
    poller: Poller

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self.client.close()


def build_services(ctx: PluginContext) -> Services:
    """Build the services on ``ctx``'s core services and settings."""
    settings: DuitkuSettings = ctx.settings
    public_url = ctx.host.public_url.rstrip("/")
    client = DuitkuClient(
        settings.api_url,
        Credentials(settings.merchant_code, settings.api_key),
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    store = PaymentStore(ctx.engine, ctx.clock)
    settlement = Settlement(store, ctx.ledger, ctx.id, ctx.logger)
    packages = settings.package_table()
    poll_every = timedelta(seconds=settings.poll_every)
    checkout = Checkout(
        store,
        client,
        packages,
        CheckoutConfig(
            callback_url=settings.callback_url or f"{public_url}{ctx.spec.prefix}{CALLBACK_PATH}",
            return_url=settings.return_url or public_url,
            expiry_minutes=settings.expiry_minutes,
            payment_method=settings.payment_method,
            order_prefix=settings.order_prefix,
            poll_every=poll_every,
        ),
        ctx.logger,
    )
    callbacks = Callbacks(
        CallbackCredentials(settings.merchant_code, settings.api_key, settings.allowed_sources()),
        store,
        client,
        settlement,
        ctx.logger,
    )
    return Services(
        settings=settings,
        packages=packages,
        client=client,
        store=store,
        settlement=settlement,
        checkout=checkout,
        callbacks=callbacks,
        poller=Poller(store, client, settlement, poll_every, ctx.logger),
    )


def services_for(ctx: PluginContext) -> Services:
    """Return the services of ``ctx``, building them on first use (hooks share them)."""
    services = ctx.state.get(_STATE_KEY)
    if not isinstance(services, Services):
        services = build_services(ctx)
        ctx.state[_STATE_KEY] = services
    return services
