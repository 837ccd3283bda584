"""The process-wide image decoding budget: decodes queue for pixels, a decode that waits
too long is 503 IMAGE_DECODING_BUSY with Retry-After, and only a small preview is kept."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from lumiku.http.errors import error_response
from lumiku.storage.decoding import DecodingBudget, decoding_owner
from lumiku.storage.errors import DecodingBusy
from lumiku.storage.images import PREVIEW_SIDE, check_image, make_thumbnail


def png(side: int, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (side, side), (10, 20, 30, 40) if mode == "RGBA" else 7).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_decode_that_cannot_get_its_pixels_in_time_is_503_with_retry_after() -> None:
    budget = DecodingBudget(1_000_000, wait=0.2, on_idle=lambda: None)
    with budget.hold(1_000_000):
        started = time.perf_counter()
        with pytest.raises(DecodingBusy) as caught:
            check_image(png(512), budget=budget)
        assert 0.15 < time.perf_counter() - started < 2
    response = error_response(caught.value)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert b'"IMAGE_DECODING_BUSY"' in response.body
    assert budget.in_flight == 0
    check_image(png(512), budget=budget)  # free again


def test_decodes_queue_for_the_budget_and_give_it_back() -> None:
    released: list[int] = []
    budget = DecodingBudget(600 * 600, wait=30, on_idle=lambda: released.append(1))
    peak = 0
    errors: list[BaseException] = []
    data = png(512)

    def decode() -> None:
        try:
            check_image(data, budget=budget)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def watch(stop: threading.Event) -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, budget.in_flight)

    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,))
    watcher.start()
    threads = [threading.Thread(target=decode) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    assert errors == []
    assert peak <= 600 * 600  # one 512x512 decode at a time
    assert budget.in_flight == 0
    assert released  # memory handed back when the burst ended


def test_an_image_larger_than_the_whole_budget_runs_alone() -> None:
    budget = DecodingBudget(100, wait=0.1, on_idle=lambda: None)
    assert check_image(png(300), budget=budget).width == 300


def test_a_checked_image_keeps_only_a_preview_and_thumbnails_still_work() -> None:
    budget = DecodingBudget(on_idle=lambda: None)
    checked = check_image(png(2048), budget=budget)
    assert (checked.width, checked.height) == (2048, 2048)
    assert max(checked.pixels.size) == PREVIEW_SIDE
    small = Image.open(io.BytesIO(make_thumbnail(checked, max_side=256)))
    assert small.size == (256, 256)
    # Larger than the preview: decoded again from the checked bytes, at full quality.
    large = Image.open(io.BytesIO(make_thumbnail(checked, max_side=1500)))
    assert large.size == (1500, 1500)
    # A small image keeps its own pixels.
    assert check_image(png(300), budget=budget).pixels.size == (300, 300)


def test_budget_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least"):
        DecodingBudget(0)
    with pytest.raises(ValueError, match="at least"):
        DecodingBudget(10, wait=-1)


def test_one_user_holds_at_most_half_the_budget_so_another_users_decode_gets_its_share() -> None:
    budget = DecodingBudget(1000, wait=10, on_idle=lambda: None)
    first_held = threading.Event()
    release_first = threading.Event()
    order: list[str] = []

    def alice_first() -> None:
        with budget.hold(400, owner="user:alice"):
            first_held.set()
            release_first.wait(10)

    def alice_second() -> None:
        with budget.hold(400, owner="user:alice"):
            order.append("alice second")

    first = threading.Thread(target=alice_first)
    first.start()
    assert first_held.wait(5)
    second = threading.Thread(target=alice_second)
    second.start()
    time.sleep(0.2)
    # 800 of 1000 would fit the budget, but not Alice's half: her second decode waits...
    assert order == []
    assert budget.held_by("user:alice") == 400
    # ...and Bob's upload gets its share at once.
    started = time.perf_counter()
    with budget.hold(400, owner="user:bob"):
        assert time.perf_counter() - started < 1
        assert budget.in_flight == 800
    release_first.set()
    first.join(5)
    second.join(5)
    assert order == ["alice second"]
    assert budget.in_flight == 0
    assert budget.held_by("user:alice") == budget.held_by("user:bob") == 0


def test_a_user_past_half_the_budget_is_busy_while_the_budget_has_room() -> None:
    budget = DecodingBudget(1000, wait=0.1, on_idle=lambda: None)
    with budget.hold(300, owner="address:203.0.113.9"):
        with pytest.raises(DecodingBusy), budget.hold(300, owner="address:203.0.113.9"):
            pass
        with budget.hold(200, owner="address:203.0.113.9"):  # exactly half: allowed
            assert budget.held_by("address:203.0.113.9") == 500
        with budget.hold(500, owner="address:198.51.100.7"):  # another client address
            assert budget.in_flight == 800
    assert budget.in_flight == 0


def test_a_users_first_decode_runs_even_past_half_and_unowned_decodes_share_the_whole() -> None:
    budget = DecodingBudget(1000, wait=0.1, on_idle=lambda: None)
    with budget.hold(900, owner="user:alice"):
        assert budget.held_by("user:alice") == 900
    with budget.hold(400), budget.hold(400), budget.hold(200):  # jobs, commands: no owner
        assert budget.in_flight == 1000


def test_the_owner_named_by_the_context_is_used_by_check_image() -> None:
    budget = DecodingBudget(512 * 512 * 3, wait=0.1, on_idle=lambda: None)
    seen: list[int] = []
    with decoding_owner("user:alice"), budget.hold(512 * 512):
        seen.append(budget.held_by("user:alice"))
        # A second decode would take Alice past half (3 x 512^2 / 2): busy, the budget has room.
        with pytest.raises(DecodingBusy):
            check_image(png(512), budget=budget)
        with decoding_owner("user:bob"):
            check_image(png(512), budget=budget)
    assert seen == [512 * 512]
    assert budget.in_flight == 0
