"""RecordingPublisher: keeps every event, in order, from any thread."""

from __future__ import annotations

import threading

from lumiku.realtime import Publisher
from lumiku.testing import PublishedEvent, RecordingPublisher


def test_it_records_events_in_order_and_by_user() -> None:
    recorder = RecordingPublisher()
    publisher: Publisher = recorder  # it is a Publisher

    publisher.publish("u1", "generation:started", {"id": "g1"}, namespace="/demo")
    publisher.publish("u2", "generation:started", {"id": "g2"}, namespace="/demo")
    publisher.publish("u1", "generation:completed", {"id": "g1"}, namespace="/demo")

    assert recorder.names() == ["generation:started"] * 2 + ["generation:completed"]
    assert recorder.to("u1") == [
        PublishedEvent("u1", "generation:started", {"id": "g1"}, "/demo"),
        PublishedEvent("u1", "generation:completed", {"id": "g1"}, "/demo"),
    ]
    recorder.clear()
    assert recorder.events == []


def test_it_keeps_a_copy_of_the_data() -> None:
    recorder = RecordingPublisher()
    data = {"percent": 10}
    recorder.publish("u1", "progress", data, namespace="/demo")
    data["percent"] = 90

    assert recorder.events[0].data == {"percent": 10}


def test_workers_may_publish_from_their_threads() -> None:
    recorder = RecordingPublisher()
    threads = [
        threading.Thread(
            target=lambda n=n: [
                recorder.publish(f"u{n}", "tick", {"i": i}, namespace="/demo") for i in range(50)
            ]
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(recorder.events) == 200
    assert [event.data["i"] for event in recorder.to("u2")] == list(range(50))
