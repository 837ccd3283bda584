"""The test kit of Lumiku and its plugins: fixtures, fakes and helpers, documented in
``docs/plugins.md`` ("Testing a plugin").

Installing ``lumiku`` installs the pytest plugin (``lumiku.testing.pytest_plugin``) that
provides the fixtures: ``api_client``, ``signed_in_user``, ``make_client``,
``make_plugin_harness``, ``manual_clock``, ``database_url`` and the others listed there.
The names below are for use inside tests. They are loaded on first use, so that pytest
starts as fast in a project that does not use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lumiku.testing.app import build_test_app, job_queue_of, runtime_of, test_environment
    from lumiku.testing.client import OPERATOR_HEADERS, PASSWORD, SignedInUser, sign_up
    from lumiku.testing.clock import ManualClock
    from lumiku.testing.context import PluginHarness, build_plugin_harness
    from lumiku.testing.jobs import FAST_RETRIES, StubJobs, drain, stub_jobs
    from lumiku.testing.plugins import define_plugin
    from lumiku.testing.processes import (
        LumikuProcess,
        LumikuProcesses,
        install_plugins,
        lumiku_command,
        process_env,
        wait_ready,
    )
    from lumiku.testing.queue import RecordedJob, RecordingJobQueue
    from lumiku.testing.realtime import PublishedEvent, RecordingPublisher
    from lumiku.testing.redis_server import RedisProcess
    from lumiku.testing.server import free_port, serve_in_thread
    from lumiku.testing.socket_client import listening
    from lumiku.testing.tcp_proxy import TcpProxy
    from lumiku.testing.templates import ScratchDatabase, TestDatabases

_LAZY = {
    "build_test_app": "lumiku.testing.app",
    "job_queue_of": "lumiku.testing.app",
    "runtime_of": "lumiku.testing.app",
    "test_environment": "lumiku.testing.app",
    "OPERATOR_HEADERS": "lumiku.testing.client",
    "PASSWORD": "lumiku.testing.client",
    "SignedInUser": "lumiku.testing.client",
    "sign_up": "lumiku.testing.client",
    "ManualClock": "lumiku.testing.clock",
    "PluginHarness": "lumiku.testing.context",
    "build_plugin_harness": "lumiku.testing.context",
    "FAST_RETRIES": "lumiku.testing.jobs",
    "StubJobs": "lumiku.testing.jobs",
    "drain": "lumiku.testing.jobs",
    "stub_jobs": "lumiku.testing.jobs",
    "define_plugin": "lumiku.testing.plugins",
    "LumikuProcess": "lumiku.testing.processes",
    "LumikuProcesses": "lumiku.testing.processes",
    "install_plugins": "lumiku.testing.processes",
    "lumiku_command": "lumiku.testing.processes",
    "process_env": "lumiku.testing.processes",
    "wait_ready": "lumiku.testing.processes",
    "RecordedJob": "lumiku.testing.queue",
    "RecordingJobQueue": "lumiku.testing.queue",
    "PublishedEvent": "lumiku.testing.realtime",
    "RecordingPublisher": "lumiku.testing.realtime",
    "RedisProcess": "lumiku.testing.redis_server",
    "free_port": "lumiku.testing.server",
    "serve_in_thread": "lumiku.testing.server",
    "listening": "lumiku.testing.socket_client",
    "TcpProxy": "lumiku.testing.tcp_proxy",
    "ScratchDatabase": "lumiku.testing.templates",
    "TestDatabases": "lumiku.testing.templates",
}

__all__ = [
    "FAST_RETRIES",
    "OPERATOR_HEADERS",
    "PASSWORD",
    "LumikuProcess",
    "LumikuProcesses",
    "ManualClock",
    "PluginHarness",
    "PublishedEvent",
    "RecordedJob",
    "RecordingJobQueue",
    "RecordingPublisher",
    "RedisProcess",
    "ScratchDatabase",
    "SignedInUser",
    "StubJobs",
    "TcpProxy",
    "TestDatabases",
    "build_plugin_harness",
    "build_test_app",
    "define_plugin",
    "drain",
    "free_port",
    "install_plugins",
    "job_queue_of",
    "listening",
    "lumiku_command",
    "process_env",
    "runtime_of",
    "serve_in_thread",
    "sign_up",
    "stub_jobs",
    "test_environment",
    "wait_ready",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lumiku.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
