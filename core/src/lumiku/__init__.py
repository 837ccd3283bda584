"""Lumiku: the public facade for plugin authors. Import from here, never from submodules.

A plugin starts with ``from lumiku import PluginSpec, hookimpl``. Names are loaded on first
use, so importing a plugin's spec stays cheap (no Starlette, SQLAlchemy or Pillow).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lumiku.hookspecs import hookimpl
from lumiku.plugins.spec import PluginSpec, Requirement, hard, soft

if TYPE_CHECKING:
    from lumiku.charges import Charge, Charges
    from lumiku.cli.environment import configured_database
    from lumiku.db.types import UTCDateTime
    from lumiku.errors import (
        BadRequest,
        Conflict,
        Forbidden,
        InsufficientCredits,
        LumikuError,
        NotFound,
        PayloadTooLarge,
        RateLimited,
        ServiceUnavailable,
        Unauthorized,
        UnsupportedMedia,
        ValidationFailed,
    )
    from lumiku.health import CheckResult, HealthCheck
    from lumiku.heldjobs import (
        JOB_STATUSES,
        OPEN_JOB_STATUSES,
        HeldJobs,
        ItemFailed,
        Job,
        JobItem,
        JobLimits,
        JobWork,
        ProgressEvents,
        Submitted,
        job_columns,
        job_constraints,
    )
    from lumiku.http.declare import delete, get, patch, post, put, route
    from lumiku.http.endpoint import Call, RateLimit
    from lumiku.http.fields import field
    from lumiku.http.files import UploadedFile
    from lumiku.http.results import Accepted
    from lumiku.images.errors import ProviderError
    from lumiku.images.posemap import draw_pose_map
    from lumiku.images.provider import GeneratedImage, ImageProvider, ImageRequest
    from lumiku.jobs.broker import declare_actor
    from lumiku.jobs.schedule import Schedule
    from lumiku.ledger.errors import BalanceCeiling, PurchaseAlreadyCredited
    from lumiku.ledger.reconciliation import ReconciliationCheck, purchase_entries
    from lumiku.ledger.records import Discrepancy, Hold, Reference
    from lumiku.ledger.service import Ledger
    from lumiku.pages import Page, PageQuery, fetch_page, in_order, newest_first
    from lumiku.plugins.context import PluginContext
    from lumiku.realtime.namespace import AuthenticatedNamespace
    from lumiku.settings_fields import setting
    from lumiku.storage.images import CheckedImage, check_image, make_thumbnail
    from lumiku.wording import plural

_LAZY = {
    "Charge": "lumiku.charges",
    "Charges": "lumiku.charges",
    "configured_database": "lumiku.cli.environment",
    "UTCDateTime": "lumiku.db.types",
    **dict.fromkeys(
        (
            "JOB_STATUSES",
            "OPEN_JOB_STATUSES",
            "HeldJobs",
            "ItemFailed",
            "Job",
            "JobItem",
            "JobLimits",
            "JobWork",
            "ProgressEvents",
            "Submitted",
            "job_columns",
            "job_constraints",
        ),
        "lumiku.heldjobs",
    ),
    **dict.fromkeys(
        ("Page", "PageQuery", "fetch_page", "in_order", "newest_first"), "lumiku.pages"
    ),
    "PluginContext": "lumiku.plugins.context",
    "AuthenticatedNamespace": "lumiku.realtime.namespace",
    "setting": "lumiku.settings_fields",
    "CheckResult": "lumiku.health",
    "HealthCheck": "lumiku.health",
    "Call": "lumiku.http.endpoint",
    "RateLimit": "lumiku.http.endpoint",
    "route": "lumiku.http.declare",
    "get": "lumiku.http.declare",
    "post": "lumiku.http.declare",
    "put": "lumiku.http.declare",
    "patch": "lumiku.http.declare",
    "delete": "lumiku.http.declare",
    "field": "lumiku.http.fields",
    "UploadedFile": "lumiku.http.files",
    "Accepted": "lumiku.http.results",
    "ImageProvider": "lumiku.images.provider",
    "ImageRequest": "lumiku.images.provider",
    "GeneratedImage": "lumiku.images.provider",
    "ProviderError": "lumiku.images.errors",
    "draw_pose_map": "lumiku.images.posemap",
    "declare_actor": "lumiku.jobs.broker",
    "Schedule": "lumiku.jobs.schedule",
    "Reference": "lumiku.ledger.records",
    "Hold": "lumiku.ledger.records",
    "Discrepancy": "lumiku.ledger.records",
    "PurchaseAlreadyCredited": "lumiku.ledger.errors",
    "BalanceCeiling": "lumiku.ledger.errors",
    "ReconciliationCheck": "lumiku.ledger.reconciliation",
    "purchase_entries": "lumiku.ledger.reconciliation",
    "Ledger": "lumiku.ledger.service",
    "CheckedImage": "lumiku.storage.images",
    "check_image": "lumiku.storage.images",
    "make_thumbnail": "lumiku.storage.images",
    "plural": "lumiku.wording",
    **dict.fromkeys(
        (
            "LumikuError",
            "BadRequest",
            "Conflict",
            "Forbidden",
            "InsufficientCredits",
            "NotFound",
            "PayloadTooLarge",
            "RateLimited",
            "ServiceUnavailable",
            "Unauthorized",
            "UnsupportedMedia",
            "ValidationFailed",
        ),
        "lumiku.errors",
    ),
}

__all__ = [
    "JOB_STATUSES",
    "OPEN_JOB_STATUSES",
    "Accepted",
    "AuthenticatedNamespace",
    "BadRequest",
    "BalanceCeiling",
    "Call",
    "Charge",
    "Charges",
    "CheckResult",
    "CheckedImage",
    "Conflict",
    "Discrepancy",
    "Forbidden",
    "GeneratedImage",
    "HealthCheck",
    "HeldJobs",
    "Hold",
    "ImageProvider",
    "ImageRequest",
    "InsufficientCredits",
    "ItemFailed",
    "Job",
    "JobItem",
    "JobLimits",
    "JobWork",
    "Ledger",
    "LumikuError",
    "NotFound",
    "Page",
    "PageQuery",
    "PayloadTooLarge",
    "PluginContext",
    "PluginSpec",
    "ProgressEvents",
    "ProviderError",
    "PurchaseAlreadyCredited",
    "RateLimit",
    "RateLimited",
    "ReconciliationCheck",
    "Reference",
    "Requirement",
    "Schedule",
    "ServiceUnavailable",
    "Submitted",
    "UTCDateTime",
    "Unauthorized",
    "UnsupportedMedia",
    "UploadedFile",
    "ValidationFailed",
    "check_image",
    "configured_database",
    "declare_actor",
    "delete",
    "draw_pose_map",
    "fetch_page",
    "field",
    "get",
    "hard",
    "hookimpl",
    "in_order",
    "job_columns",
    "job_constraints",
    "make_thumbnail",
    "newest_first",
    "patch",
    "plural",
    "post",
    "purchase_entries",
    "put",
    "route",
    "setting",
    "soft",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lumiku' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
