"""A local S3-compatible server for tests: moto's server (``moto[server]``) on a free port.

It speaks S3 over real HTTP, so the storage backend is tested through boto3, botocore's
signing and retries, as against a real store. One server serves a whole test session;
each test takes a bucket of its own (:meth:`S3Server.new_bucket`), so tests never see
each other's objects::

    def test_upload_lands_in_the_bucket(s3_env, make_client):
        client = make_client(**s3_env)
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

import boto3
import httpx

from lumiku.testing.server import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Server"]

ACCESS_KEY_ID = "lumiku-test-key"
SECRET_ACCESS_KEY = "lumiku-test-secret-not-real"  # noqa: S105 - moto accepts any key
REGION = "us-east-1"


class S3Server:
    """``moto_server`` started on a free port of 127.0.0.1; stop it with :meth:`stop`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._client: S3Client | None = None

    @property
    def endpoint(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait (at most 30 s) until it answers."""
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.endpoint}/moto-api/", timeout=1.0)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not answer within 30 s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (only the process this object started)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def client(self) -> S3Client:
        """Return a boto3 client for this server (one, made on first use: making one
        loads botocore's service model, about 0.3 s)."""
        if self._client is None:
            self._client = boto3.session.Session().client(
                "s3",
                region_name=REGION,
                endpoint_url=self.endpoint,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )
        return self._client

    def new_bucket(self) -> str:
        """Create an empty bucket with a unique name and return the name."""
        name = f"lumiku-test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def environment(self, bucket: str) -> dict[str, str]:
        """Return the variables that point Lumiku's storage at ``bucket`` on this server."""
        return {
            "LUMIKU_STORAGE": "s3",
            "LUMIKU_S3_BUCKET": bucket,
            "LUMIKU_S3_ENDPOINT": self.endpoint,
            "LUMIKU_S3_REGION": REGION,
            "LUMIKU_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "LUMIKU_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "LUMIKU_S3_CONNECT_TIMEOUT": "2",
            "LUMIKU_S3_READ_TIMEOUT": "10",
            "LUMIKU_S3_MAX_ATTEMPTS": "2",
        }
