"""The console's flows in Chromium, at phone width (390 px) unless said otherwise."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

PASSWORD = "violet-harbour-42-lantern"


def sign_up(page: Any, name: str) -> str:
    """Create an account through the form; return its email."""
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    form = page.locator("form", has=page.get_by_role("heading", name="Create an account"))
    form.get_by_label("Name").fill(name.title())
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Credits", level=1).wait_for()
    return email


def test_sign_up_shows_balance_and_history(open_console: Any, axe: Any) -> None:
    b = open_console()
    page = b.page
    page.get_by_role("heading", name="Welcome to Lumiku").wait_for()
    b.shoot("sign-in")
    assert axe(page) == []
    sign_up(page, "ana")
    expect(page.locator("[data-figure=balance]")).to_have_text("200")
    expect(page.locator("#credits")).to_have_text("200 credits available")
    expect(page.locator("tbody tr")).to_have_count(1)
    b.shoot("credits")
    assert axe(page) == []
    assert b.console_errors == []
