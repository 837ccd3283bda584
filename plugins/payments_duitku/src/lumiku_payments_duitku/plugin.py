"""The Duitku payments plugin's spec: what its entry point points at."""

from __future__ import annotations

from lumiku import PluginSpec, hard
from lumiku_payments_duitku.settings import DuitkuSettings

spec = PluginSpec(
    id="payments_duitku",
    title="Duitku Payments",
    description="Buy credits through Duitku.",
    route_prefix="/api/payments",
    requires=(hard("database"), hard("config:DUITKU_MERCHANT_CODE"), hard("config:DUITKU_API_KEY")),
    settings=DuitkuSettings,
    hooks="lumiku_payments_duitku.hooks",
    # Payments are money: in production an incomplete configuration is a startup error.
    required_in_production=True,
)
