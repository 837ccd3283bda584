"""The console's flows in Chromium, at phone width (390 px) unless said otherwise.

Each flow checks what a person sees (roles and labels, as assistive technology finds
them), keeps screenshots in ``test-artifacts/console/``, runs axe-core (no serious or
critical violations) and checks that nothing is wider than the phone's screen.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from lumiku.ledger.tables import credit_accounts
from lumiku.testing import runtime_of

PASSWORD = "violet-harbour-42-lantern"
TOKEN_KEY = "lumiku.console.token"


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


def sign_in(page: Any, email: str, password: str) -> None:
    """Sign in through the form."""
    form = page.locator("form", has=page.get_by_role("heading", name="Sign in"))
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Credits", level=1).wait_for()


def token_of(page: Any) -> str:
    """Return the access token the page holds."""
    token: str = page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')")
    return token


def go(page: Any, section: str) -> None:
    """Follow a link of the navigation and wait for the section's heading."""
    page.get_by_role("navigation", name="Sections").get_by_role(
        "link", name=section, exact=True
    ).click()
    page.get_by_role("heading", name=section, level=1, exact=True).wait_for()


def fits_the_screen(page: Any) -> bool:
    """Return whether the page is no wider than its viewport (no sideways scrolling)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def photo(tmp_path: Path, name: str = "photo.png") -> Path:
    """Write a 320x400 PNG, big enough for the upload checks."""
    image = Image.new("RGB", (320, 400), (210, 180, 150))
    for y in range(400):
        for x in range(0, 320, 8):
            image.putpixel((x, y), (x % 255, y % 255, 120))
    path = tmp_path / name
    image.save(path)
    return path


def api(console: Any, token: str) -> httpx.Client:
    """Return an HTTP client of the served app with ``token``."""
    return httpx.Client(
        base_url=console.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_sign_up_balance_live_and_paginated_history(
    open_console: Any, axe: Any, console: Any
) -> None:
    b = open_console()
    page = b.page
    page.get_by_role("heading", name="Welcome to Lumiku").wait_for()
    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    b.shoot("sign-in")
    assert axe(page) == []
    # Register with the keyboard alone: Tab through the form, Enter submits.
    email = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    register = page.locator("form", has=page.get_by_role("heading", name="Create an account"))
    register.get_by_label("Name").focus()
    page.keyboard.type("Ana")
    page.keyboard.press("Tab")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Credits", level=1).wait_for()
    expect(page.get_by_role("heading", name="Credits", level=1)).to_be_focused()
    expect(page.locator("[data-figure=balance]")).to_have_text("200")
    expect(page.locator("#credits")).to_have_text("200 credits available")
    expect(
        page.get_by_role("region", name="Credit history table").locator("tbody tr")
    ).to_have_count(1)

    # Grants from an admin arrive as credits:balance events: the figures move, no reload.
    page.evaluate("window.notReloaded = true")
    user_id = page.evaluate(
        f"JSON.parse(atob(sessionStorage.getItem('{TOKEN_KEY}').split('.')[1])).sub"
    )
    _admin, admin_token = runtime_of(console.app).auth.login(
        console.admin_email, console.password, None
    )
    with api(console, str(admin_token.token)) as admin:
        for n in range(11):
            granted = admin.post(
                "/api/admin/credits/grant",
                json={"userId": user_id, "amount": 1, "reason": f"Thanks #{n}"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert granted.status_code == 201, granted.text
    expect(page.locator("[data-figure=balance]")).to_have_text("211")
    expect(page.locator("#credits")).to_have_text("211 credits available")
    assert page.evaluate("window.notReloaded") is True

    go(page, "Plugins")
    go(page, "Credits")
    rows = page.get_by_role("region", name="Credit history table").locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("Thanks #10")
    page.get_by_role("button", name="Show older entries").click()
    expect(rows).to_have_count(12)
    expect(rows.last).to_contain_text("Welcome")
    expect(page.get_by_role("button", name="Show older entries")).to_be_hidden()
    expect(page.get_by_text("12 entries shown.")).to_be_focused()  # not lost with the button
    assert fits_the_screen(page)
    b.shoot("credits")
    assert axe(page) == []
    assert b.console_errors == []


def test_an_error_is_shown_as_its_message(open_console: Any, axe: Any) -> None:
    b = open_console()
    page = b.page
    form = page.locator("form", has=page.get_by_role("heading", name="Sign in"))
    form.get_by_label("Email").fill("nobody@example.com")
    form.get_by_label("Password").fill("not-the-password-at-all")
    form.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("password")
    assert "{" not in alert.inner_text()
    register = page.locator("form", has=page.get_by_role("heading", name="Create an account"))
    register.get_by_label("Email").fill("short@example.com")
    register.get_by_label("Password").fill("short")
    register.get_by_role("button", name="Create account").click()
    expect(alert).to_contain_text("12 characters")
    expect(register.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    assert "{" not in alert.inner_text()
    b.shoot("errors")
    assert axe(page) == []


def test_plugins_show_state_costs_and_health(open_console: Any, axe: Any, console: Any) -> None:
    b = open_console()
    page = b.page
    sign_up(page, "pia")
    go(page, "Plugins")
    cards = page.locator("main li.card")
    expect(cards).to_have_count(3)
    pose = cards.filter(has=page.get_by_role("heading", name="Pose Generator"))
    # Redis is off in the tests: the Pose Generator says it runs degraded (jobs in-process).
    expect(pose).to_contain_text("State: degraded")
    expect(pose).to_contain_text("Health: degraded")
    expect(pose.get_by_role("row", name="generatePose 30")).to_be_visible()
    assert fits_the_screen(page)
    b.shoot("plugins")
    assert axe(page) == []
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Welcome to Lumiku").wait_for()
    expect(page.get_by_role("navigation", name="Sections")).to_be_hidden()

    admin = open_console(viewport={"width": 1280, "height": 900})
    sign_in(admin.page, console.admin_email, console.password)
    go(admin.page, "Plugins")
    # Operators see why a plugin is degraded, and its checks.
    card = admin.page.locator(
        "li.card", has=admin.page.get_by_role("heading", name="Avatar Creator")
    )
    expect(card).to_contain_text("Reason:")
    expect(card.get_by_role("list", name="Checks")).to_contain_text("queue")
    table = admin.page.get_by_role("region", name="Installed plugins")
    expect(table.locator("tr[data-plugin=payments_duitku]")).to_contain_text("running")
    admin.shoot("plugins-admin")
    assert axe(admin.page) == []


def test_avatar_creator_upload_and_generate(open_console: Any, axe: Any, tmp_path: Path) -> None:
    b = open_console()
    page = b.page
    sign_up(page, "ava")
    go(page, "Avatar Creator")
    page.get_by_label("Project name").fill("Headshots")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_label("Current project")).to_contain_text("Headshots")

    upload = page.locator("form", has=page.get_by_role("heading", name="Upload a photo"))
    upload.get_by_label("Avatar name").fill("Me at work")
    upload.get_by_label("Photo").set_input_files(str(photo(tmp_path)))
    upload.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_role("img", name="Avatar Me at work")).to_be_visible()
    expect(page.locator("#credits")).to_have_text("198 credits available")

    generate = page.locator(
        "form", has=page.get_by_role("heading", name="Generate from attributes")
    )
    generate.get_by_label("Avatar name").fill("Studio portrait")
    generate.get_by_label("Description").fill("A friendly portrait with soft light")
    generate.get_by_label("Gender").select_option("female")
    generate.get_by_label("Hair colour").select_option("red")
    generate.get_by_role("button", name="Generate avatar").click()
    image = page.get_by_role("img", name="Generated avatar Studio portrait")
    expect(image).to_be_visible(timeout=60_000)
    # The end came as generation:completed on /avatar-creator (the status URL backs it up).
    expect(page.get_by_role("progressbar", name="Avatar generation")).to_have_attribute(
        "data-source", "event"
    )
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    expect(page.get_by_role("img", name="Avatar Studio portrait", exact=True)).to_be_visible()
    expect(page.locator("#credits")).to_have_text("188 credits available")
    assert fits_the_screen(page)
    b.shoot("avatars")
    assert axe(page) == []
    assert b.console_errors == []


def test_pose_generator_progress_results_background_and_zip(
    open_console: Any, axe: Any, tmp_path: Path
) -> None:
    b = open_console()
    page = b.page
    sign_up(page, "pose")
    go(page, "Pose Generator")
    new = page.locator("form", has=page.get_by_role("heading", name="New project"))
    new.get_by_label("Project name").fill("Catalogue")
    new.get_by_label("Or a photo").set_input_files(str(photo(tmp_path)))
    new.get_by_role("button", name="Create project").click()
    expect(page.get_by_label("Current project")).to_contain_text("Catalogue")

    page.get_by_label("Category", exact=True).select_option("fashion")
    library = page.get_by_role("list", name="Poses of the library")
    expect(library.get_by_role("checkbox").first).to_be_visible()
    thumbnails = library.locator("img")
    assert thumbnails.count() >= 2
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=thumbnails.first.element_handle()
    )
    library.get_by_role("checkbox").nth(0).check()
    library.get_by_role("checkbox").nth(1).check()
    expect(page.locator("#pose-summary")).to_have_text("2 poses picked: 60 credits.")
    b.shoot("library")
    assert axe(page) == []

    page.get_by_role("button", name="Generate 2 poses").click()
    progress = page.locator("#pose-progress")
    # The bar is moved by generation:progress events only (data-source="event").
    expect(progress).to_have_attribute("data-source", "event", timeout=60_000)
    expect(progress).to_have_js_property("value", 100, timeout=60_000)
    expect(page.get_by_text("Done: 2 of 2 poses, 60 credits charged.")).to_be_visible()
    results = page.get_by_role("list", name="Generated poses")
    expect(results.get_by_role("img")).to_have_count(2)
    expect(page.locator("#credits")).to_have_text("140 credits available")
    b.shoot("generated")

    first = results.locator("li").first
    first.get_by_label("Colour").fill("#22aa55")
    first.get_by_role("button", name="Change background (10 credits)").click()
    expect(results.locator("li").first).to_contain_text("Background changed.", timeout=60_000)
    expect(page.locator("#credits")).to_have_text("130 credits available")

    download_form = page.locator("form", has=page.get_by_role("heading", name="Download"))
    download_form.get_by_label("Original size (PNG)").uncheck()
    download_form.get_by_label("TikTok 1080 × 1920").check()
    with page.expect_download() as info:
        download_form.get_by_role("button", name="Download ZIP").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    folders = {name.split("/")[0] for name in archive.namelist()}
    assert folders == {"instagram_feed", "tiktok"}
    assert len(archive.namelist()) == 4
    assert fits_the_screen(page)
    b.shoot("results")
    assert axe(page) == []

    ask = page.locator("form", has=page.get_by_role("heading", name="Ask for a pose"))
    ask.get_by_label("Pose name").fill("Holding an umbrella")
    ask.get_by_label("Description").fill("Standing, open umbrella over the shoulder")
    ask.get_by_role("button", name="Send request").click()
    mine = page.get_by_role("list", name="Your pose requests")
    expect(mine.get_by_role("listitem").first).to_contain_text("Holding an umbrella pending")
    assert b.console_errors == []


def test_buy_credits_and_see_the_balance_change_without_reload(open_console: Any, axe: Any) -> None:
    b = open_console()
    page = b.page
    sign_up(page, "buyer")
    go(page, "Buy credits")
    page.evaluate("window.notReloaded = true")
    choices = page.get_by_role("group", name="Choose a package").get_by_role("radio")
    expect(choices.first).to_be_checked()
    label = choices.first.evaluate("(radio) => radio.labels[0].textContent")
    bought = int(label.split(": ")[1].split(" ")[0])
    page.get_by_role("button", name="Create payment").click()
    pay = page.get_by_role("link", name="Pay now")
    expect(pay).to_be_focused()
    expect(page.get_by_role("region", name="Payments table")).to_contain_text("pending")
    b.shoot("payment")
    assert axe(page) == []

    with b.context.expect_page() as opened:
        pay.click()
    emulator = opened.value
    emulator.get_by_role("heading", name="Duitku emulator").wait_for()
    emulator.get_by_role("button", name="Pay").click()

    expect(page.locator("#credits")).to_have_text(f"{200 + bought} credits available")
    expect(page.get_by_role("status")).to_contain_text("Payment received")
    expect(page.get_by_text("is paid: thank you")).to_be_visible()
    expect(page.get_by_role("link", name="Pay now")).to_have_count(0)
    expect(page.get_by_role("region", name="Payments table")).to_contain_text("paid")
    assert page.evaluate("window.notReloaded") is True
    assert fits_the_screen(page)
    b.shoot("paid")
    assert axe(page) == []
    assert b.console_errors == []


def test_admin_reviews_requests_grants_and_sees_findings(
    open_console: Any, axe: Any, console: Any
) -> None:
    runtime = runtime_of(console.app)
    user = runtime.auth.create_user(f"req-{uuid.uuid4().hex[:6]}@example.com", PASSWORD, "user")
    _user, token = runtime.auth.login(user.email, PASSWORD, None)
    with api(console, str(token.token)) as http:
        for name in ("Jumping with umbrella", "Sitting on stairs"):
            sent = http.post(
                "/api/apps/pose-generator/requests",
                json={"poseName": name, "description": "For a rainy-day campaign"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert sent.status_code == 201, sent.text
    with runtime.engine.begin() as connection:  # a balance changed behind the ledger's back
        connection.execute(
            sa.update(credit_accounts)
            .where(credit_accounts.c.user_id == user.id)
            .values(balance=credit_accounts.c.balance + 7)
        )
    runtime.ledger.reconcile()

    b = open_console(viewport={"width": 1280, "height": 900})
    page = b.page
    sign_in(page, console.admin_email, console.password)
    go(page, "Admin")
    requests = page.get_by_role("region", name="Requests users sent for poses the library lacks")
    umbrella = requests.locator("tr", has_text="Jumping with umbrella")
    umbrella.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("approved")
    stairs = requests.locator("tr", has_text="Sitting on stairs")
    stairs.get_by_label("Reason to reject").fill("We have a similar pose")
    stairs.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("rejected")
    expect(requests.locator("tr", has_text="Sitting on stairs")).to_have_count(0)

    findings = page.get_by_role(
        "region", name="What the periodic reconciliation found, newest first"
    )
    expect(findings.locator("tr", has_text=user.id).first).to_contain_text("balance mismatch")

    grant = page.locator("form", has=page.get_by_role("heading", name="Grant credits"))
    grant.get_by_label("User id").fill(user.id)
    grant.get_by_label("Credits").fill("15")
    grant.get_by_label("Reason").fill("Sorry for the wait")
    grant.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("status")).to_contain_text("Granted 15 credits")
    grant.get_by_label("User id").fill("no-such-user")
    grant.get_by_label("Credits").fill("5")
    grant.get_by_label("Reason").fill("typo")
    grant.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    assert "{" not in page.get_by_role("alert").inner_text()
    b.shoot("admin")
    assert axe(page) == []

    phone = open_console()
    sign_in(phone.page, console.admin_email, console.password)
    go(phone.page, "Admin")
    assert fits_the_screen(phone.page)
    phone.shoot("admin")
    assert axe(phone.page) == []


def test_a_section_whose_plugin_is_off_is_hidden(open_console: Any, console: Any) -> None:
    b = open_console()
    page = b.page

    def without_payments(route: Any) -> None:
        answer = route.fetch()
        apps = [app for app in answer.json()["apps"] if app["id"] != "payments_duitku"]
        route.fulfill(response=answer, json={"apps": apps})

    # As GET /api/apps answers when the payments plugin is not configured (make run).
    page.route("**/api/apps", without_payments)
    sign_up(page, "offline")
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Pose Generator")).to_be_visible()
    expect(nav.get_by_role("link", name="Buy credits")).to_be_hidden()
    page.goto(f"{console.url}/console/#/buy")
    page.get_by_role("heading", name="Not available").wait_for()
    expect(page.get_by_role("link", name="See the plugins")).to_be_visible()
