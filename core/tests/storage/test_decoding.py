"""The process-wide image decoding budget: decodes queue for pixels, a decode that waits
too long is 503 IMAGE_DECODING_BUSY with Retry-After, and only a small preview is kept."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from lumiku.http.errors import error_response
from lumiku.storage.decoding import DecodingBudget
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
