"""A ``lumiku worker``-like process for the kill test: the app's runtime, a slow provider.

Run as ``python worker_process.py LOG_PATH`` with the app's environment; it builds the
runtime the way ``lumiku worker`` does (events published through Redis), with the Pose
Generator plugin and a provider that appends each render's seed to ``LOG_PATH`` and takes
a while, then prints ``ready`` and consumes until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dramatiq

from lumiku import GeneratedImage, ImageProvider, ImageRequest
from lumiku.bootstrap import build_runtime
from lumiku.images import LocalImageProvider
from lumiku.jobs.broker import boot_process
from lumiku.realtime.publisher import RedisPublisher
from lumiku.settings import load_settings
from lumiku.testing import define_plugin
from lumiku_pose_generator.plugin import spec

RENDER_SECONDS = 0.4


class SlowCountingProvider(ImageProvider):
    """The local provider, slowed down, logging each render's seed."""

    name = "counting"

    def __init__(self, log: Path) -> None:
        self._log = log
        self._inner = LocalImageProvider()

    def generate(self, request: ImageRequest) -> GeneratedImage:
        time.sleep(RENDER_SECONDS)
        with self._log.open("a", encoding="utf-8") as file:
            file.write(f"{request.seed}\n")
        return self._inner.generate(request)


def counting_plugin(log: Path) -> object:
    """Return the in-memory plugin registering the counting provider."""
    return define_plugin(
        "pose_test_counting",
        register_image_providers=lambda: {"counting": SlowCountingProvider(log)},
    )


def main() -> None:
    """Consume the plugin's queue until killed."""
    log = Path(sys.argv[1])
    settings = load_settings()
    runtime = build_runtime(settings, plugins=[spec, counting_plugin(log)])
    assert settings.redis.url
    runtime.publisher.target = RedisPublisher(settings.redis.url)
    boot_process(runtime.broker)
    worker = dramatiq.Worker(runtime.broker, queues={"pose_generator"}, worker_threads=1)
    worker.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
