"""The Duitku payments plugin's spec: what its entry point points at."""

from __future__ import annotations

import attrs

from lumiku import PluginSpec, hard


@attrs.frozen
class DuitkuSettings:
    """Settings read from ``PAYMENTS_DUITKU_*`` (merchant credentials come from ``DUITKU_*``)."""

    base_url: str = "https://sandbox.duitku.com/webapi/api/merchant"
    expiry_minutes: int = 60


spec = PluginSpec(
    id="payments_duitku",
    title="Duitku Payments",
    version="0.1.0",
    description="Buy credits through Duitku.",
    route_prefix="/api/payments",
    requires=(hard("database"), hard("config:DUITKU_MERCHANT_CODE"), hard("config:DUITKU_API_KEY")),
    settings=DuitkuSettings,
    hooks="lumiku_payments_duitku.hooks",
)
