"""The test kit of Lumiku and its plugins: fixtures, fakes and helpers, documented in
``docs/plugins.md`` ("Testing a plugin").

Installing ``lumiku`` installs the pytest plugin (``lumiku.testing.pytest_plugin``) that
provides the fixtures: ``make_client``, ``api_client``, ``signed_in_user``,
``make_plugin_harness``, ``manual_clock``, ``database_url`` and the others listed there.
The names below are for use inside tests.
"""

from lumiku.testing.app import build_test_app, job_queue, runtime_of, test_environment
from lumiku.testing.client import PASSWORD, SignedInUser, sign_up
from lumiku.testing.clock import ManualClock
from lumiku.testing.context import PluginHarness, build_plugin_harness, plugin_context
from lumiku.testing.jobs import FAST_RETRIES, StubJobs, drain, stub_jobs
from lumiku.testing.plugins import define_plugin
from lumiku.testing.queue import RecordedJob, RecordingJobQueue
from lumiku.testing.realtime import PublishedEvent, RecordingPublisher
from lumiku.testing.redis_server import RedisProcess
from lumiku.testing.templates import ScratchDatabase, TestDatabases

__all__ = [
    "FAST_RETRIES",
    "PASSWORD",
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
    "TestDatabases",
    "build_plugin_harness",
    "build_test_app",
    "define_plugin",
    "drain",
    "job_queue",
    "plugin_context",
    "runtime_of",
    "sign_up",
    "stub_jobs",
    "test_environment",
]
