"""The S3 backend: its settings, its health check, an unreachable store, a whole app on it.

The common behaviour (keys, scoping, signed reads, the file route) runs on both backends
through the parametrized ``storage`` fixture; this module covers what only S3 has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mypy_boto3_s3 import S3Client

from lumiku.errors import ConfigurationError, ServiceUnavailable
from lumiku.settings import load_settings
from lumiku.storage.errors import StorageUnavailable
from lumiku.storage.health import check_storage
from lumiku.storage.local import LocalStorage
from lumiku.storage.opening import open_storage
from lumiku.storage.s3 import S3Storage, make_client
from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.s3_server import S3Server
from lumiku.testing.server import free_port

from .conftest import FOLDERS, s3_settings, stored


@pytest.fixture
def base(tmp_path: Path) -> dict[str, str]:
    """Return a valid test environment with an empty ``lumiku.toml``."""
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    return {"LUMIKU_ENV": "test", "JWT_SECRET": "x" * 40, "LUMIKU_CONFIG": str(config)}


def problems_of(base: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """Return the settings problems of ``env`` by variable."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**base, **env})
    return {p["variable"]: p["rule"] for p in caught.value.details["problems"]}


def test_local_disk_is_the_default(base: dict[str, str]) -> None:
    settings = load_settings(base)

    assert settings.s3 is None
    assert settings.public_view()["storage"] == "local"


def test_s3_settings_are_read_with_their_defaults(base: dict[str, str]) -> None:
    settings = load_settings(
        {
            **base,
            "LUMIKU_STORAGE": "s3",
            "LUMIKU_S3_BUCKET": "lumiku-files",
            "LUMIKU_S3_ENDPOINT": "http://127.0.0.1:9000/",
            "LUMIKU_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "LUMIKU_S3_SECRET_ACCESS_KEY": "very-secret-value",
            "LUMIKU_S3_PREFIX": "prod",
        }
    )

    s3 = settings.s3
    assert s3 is not None
    assert (s3.bucket, s3.region, s3.endpoint_url, s3.prefix) == (
        "lumiku-files",
        "us-east-1",
        "http://127.0.0.1:9000",
        "prod/",
    )
    assert (s3.connect_timeout, s3.read_timeout, s3.max_attempts) == (5.0, 30.0, 3)
    assert settings.public_view()["storage"] == "s3"
    shown = repr(settings) + repr(s3) + repr(settings.public_view())
    assert "very-secret-value" not in shown
    assert "AKIAEXAMPLE" not in shown
    assert "9000" not in shown


def test_every_s3_problem_is_reported_at_once(base: dict[str, str]) -> None:
    problems = problems_of(
        base,
        {
            "LUMIKU_STORAGE": "s3",
            "LUMIKU_S3_ENDPOINT": "ftp://store",
            "LUMIKU_S3_REGION": "Mars Base",
            "LUMIKU_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "LUMIKU_S3_PREFIX": "../up",
            "LUMIKU_S3_CONNECT_TIMEOUT": "0",
            "LUMIKU_S3_READ_TIMEOUT": "soon",
            "LUMIKU_S3_MAX_ATTEMPTS": "99",
            "PORT": "0",  # a problem of another setting, reported in the same list
        },
    )

    assert set(problems) == {
        "LUMIKU_S3_BUCKET",
        "LUMIKU_S3_ENDPOINT",
        "LUMIKU_S3_REGION",
        "LUMIKU_S3_SECRET_ACCESS_KEY",
        "LUMIKU_S3_PREFIX",
        "LUMIKU_S3_CONNECT_TIMEOUT",
        "LUMIKU_S3_READ_TIMEOUT",
        "LUMIKU_S3_MAX_ATTEMPTS",
        "PORT",
    }
    assert "required" in problems["LUMIKU_S3_BUCKET"]
    assert "AKIAEXAMPLE" not in str(problems)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LUMIKU_STORAGE": "ftp"}, "LUMIKU_STORAGE"),
        ({"LUMIKU_STORAGE": "s3", "LUMIKU_S3_BUCKET": "Upper_Case"}, "LUMIKU_S3_BUCKET"),
        ({"LUMIKU_STORAGE": "s3", "LUMIKU_S3_BUCKET": "a..b"}, "LUMIKU_S3_BUCKET"),
        ({"LUMIKU_STORAGE": "s3", "LUMIKU_S3_BUCKET": "ab"}, "LUMIKU_S3_BUCKET"),
        (
            {"LUMIKU_STORAGE": "s3", "LUMIKU_S3_BUCKET": "ok-bucket", "LUMIKU_S3_ENDPOINT": "x"},
            "LUMIKU_S3_ENDPOINT",
        ),
        (
            {
                "LUMIKU_STORAGE": "s3",
                "LUMIKU_S3_BUCKET": "ok-bucket",
                "LUMIKU_S3_ENDPOINT": "http://user:pw@store:9000",
            },
            "LUMIKU_S3_ENDPOINT",
        ),
        (
            {
                "LUMIKU_STORAGE": "s3",
                "LUMIKU_S3_BUCKET": "ok-bucket",
                "LUMIKU_S3_ENDPOINT": "http://store:9000/bucket?x=1",
            },
            "LUMIKU_S3_ENDPOINT",
        ),
        (
            {
                "LUMIKU_STORAGE": "s3",
                "LUMIKU_S3_BUCKET": "ok-bucket",
                "LUMIKU_S3_ENDPOINT": "http://store:99999",
            },
            "LUMIKU_S3_ENDPOINT",
        ),
        (
            {
                "LUMIKU_STORAGE": "s3",
                "LUMIKU_S3_BUCKET": "ok-bucket",
                "LUMIKU_S3_SECRET_ACCESS_KEY": "only-the-secret",
            },
            "LUMIKU_S3_ACCESS_KEY_ID",
        ),
    ],
)
def test_each_bad_s3_setting_names_its_variable(
    base: dict[str, str], env: dict[str, str], variable: str
) -> None:
    assert variable in problems_of(base, env)


def test_production_wants_https_to_the_store(base: dict[str, str]) -> None:
    problems = problems_of(
        base,
        {
            "LUMIKU_ENV": "production",
            "LUMIKU_STORAGE": "s3",
            "LUMIKU_S3_BUCKET": "ok-bucket",
            "LUMIKU_S3_ENDPOINT": "http://store:9000",
        },
    )
    assert "https" in problems["LUMIKU_S3_ENDPOINT"]


def test_the_client_has_bounded_timeouts_and_retries(s3_server: S3Server) -> None:
    settings = s3_settings(s3_server, "b" * 3, connect_timeout=3.0, max_attempts=4)
    client = make_client(settings, connections=64)

    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (3.0, 10.0)
    assert config.retries["total_max_attempts"] == 4  # the first try included
    assert config.retries["mode"] == "standard"
    assert config.max_pool_connections == 64


def test_a_prefix_goes_before_every_object(s3_server: S3Server, s3_client: S3Client) -> None:
    bucket = s3_server.new_bucket()
    storage = S3Storage(s3_settings(s3_server, bucket, prefix="tenant-a/"), client=s3_client)

    key = storage.scoped("outputs").put(b"data", suffix=".png")

    assert stored(storage) == {f"tenant-a/{key}": b"data"}
    assert storage.scoped("outputs").read(key) == b"data"


def test_the_health_check_reports_the_bucket_reachable(
    s3_server: S3Server, s3_client: S3Client
) -> None:
    storage = S3Storage(s3_settings(s3_server, s3_server.new_bucket()), client=s3_client)

    result = check_storage(storage, folders=FOLDERS)

    assert (result.status, result.detail) == ("ok", "S3 bucket reachable")


def test_a_missing_bucket_is_down_without_naming_it(
    s3_server: S3Server, s3_client: S3Client
) -> None:
    storage = S3Storage(s3_settings(s3_server, "no-such-bucket-here"), client=s3_client)

    result = check_storage(storage, folders=FOLDERS)

    assert result.status == "down"
    assert "no-such-bucket-here" not in result.detail
    assert str(s3_server.port) not in result.detail


def unreachable_storage(s3_server: S3Server) -> S3Storage:
    """Return a storage whose endpoint is a free port nobody listens on."""
    settings = s3_settings(
        s3_server,
        "some-bucket",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        connect_timeout=1.0,
        max_attempts=1,
    )
    return S3Storage(settings)


def test_an_unreachable_store_is_down_without_its_endpoint(s3_server: S3Server) -> None:
    storage = unreachable_storage(s3_server)

    result = check_storage(storage)

    assert result.status == "down"
    assert result.detail == "S3 store unreachable (EndpointConnectionError)"


def test_operations_on_an_unreachable_store_are_503(s3_server: S3Server) -> None:
    scoped = unreachable_storage(s3_server).scoped("outputs")
    key = "outputs/2025/03/0123456789abcdef0123456789abcdef.png"

    operations = (
        lambda: scoped.put(b"data", suffix=".png"),
        lambda: scoped.read(key),
        lambda: scoped.exists(key),
        lambda: scoped.delete(key),
        lambda: scoped.open(key),
    )
    for operation in operations:
        with pytest.raises(StorageUnavailable) as caught:
            operation()
        assert isinstance(caught.value, ServiceUnavailable)
        assert "127.0.0.1" not in caught.value.message
        assert caught.value.details == {"reason": "EndpointConnectionError"}


def test_an_app_on_s3_stores_there_and_reports_the_bucket(
    make_client: Any, s3_env: dict[str, str], s3_server: S3Server
) -> None:
    client = make_client([], **s3_env)

    public = client.get("/health")
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS)

    assert public.status_code == 200
    assert detailed.json()["checks"]["storage"]["status"] == "ok"
    assert detailed.json()["checks"]["storage"]["detail"] == "S3 bucket reachable"
    assert detailed.json()["settings"]["storage"] == "s3"
    for response in (public, detailed, client.get("/health/readiness")):
        text = response.text
        assert s3_env["LUMIKU_S3_BUCKET"] not in text
        assert s3_server.endpoint not in text
        assert s3_env["LUMIKU_S3_SECRET_ACCESS_KEY"] not in text
        assert s3_env["LUMIKU_S3_ACCESS_KEY_ID"] not in text


def test_the_settings_open_a_bucket_with_a_connection_per_thread(
    base: dict[str, str], s3_env: dict[str, str]
) -> None:
    settings = load_settings({**base, **s3_env, "SERVER_THREADS": "12"})

    storage = open_storage(settings)

    assert isinstance(storage, S3Storage)
    assert storage.bucket == s3_env["LUMIKU_S3_BUCKET"]
    assert storage.client.meta.config.max_pool_connections == 12
    assert isinstance(open_storage(load_settings(base)), LocalStorage)
