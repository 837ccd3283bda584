"""The Hugging Face provider: text-to-image through the inference HTTP API.

``POST {base_url}/models/{model}`` with ``{"inputs": prompt, "parameters": {...}}`` answers
with image bytes. 429, 500, 502, 503 and 504 answers, timeouts and network errors are
retried with exponential backoff (honouring ``Retry-After`` or the ``estimated_time`` of a
loading model); other 4xx answers are the request's fault and are raised at once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import httpx

from lumiku.images.errors import (
    ProviderBadOutput,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from lumiku.images.huggingface_config import HuggingFaceConfig
from lumiku.images.png import to_png
from lumiku.images.prompt import build_prompt
from lumiku.images.provider import GeneratedImage, ImageProvider, ImageRequest
from lumiku.images.retry import Backoff, parse_estimated_time, parse_retry_after

__all__ = ["HuggingFaceConfig", "HuggingFaceProvider", "build_prompt"]

RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
_ERROR_BODY_LIMIT = 64 * 1024
_RETRYABLE_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


@attrs.frozen
class _Failure:
    """One failed attempt: what happened and how long the server asked us to wait."""

    message: str
    status: int | None = None
    hint: float | None = None


CONNECT_TIMEOUT = 10.0
"""Seconds to connect to the inference server (the read timeout is ``HUGGINGFACE_TIMEOUT``)."""


class HuggingFaceProvider(ImageProvider):
    """Generate images with a Hugging Face inference model; thread-safe.

    Pass ``client`` to share a connection pool (the provider then does not close it) and
    ``sleep`` to control waiting in tests.
    """

    name = "huggingface"

    def __init__(
        self,
        config: HuggingFaceConfig,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        logger: logging.Logger | None = None,
    ) -> None:
        self._config = config
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client()
        self._sleep = sleep
        self._log = logger or logging.getLogger(__name__)
        self._backoff = Backoff(config.backoff_base, config.backoff_max, config.backoff_jitter)
        self._rng = random.Random()  # jitter only; never used for anything secret
        self._last_failure: str | None = None

    def generate(self, request: ImageRequest) -> GeneratedImage:
        """Generate ``request`` remotely, retrying transient failures; see the module doc."""
        if request.transparent:
            raise ProviderError(
                "the huggingface provider cannot cut a subject out (transparent=True); "
                "use the local provider for background changes",
                provider=self.name,
                retryable=False,
            )
        payload = self._payload(request)
        failure: _Failure | None = None
        attempts = self._config.max_retries + 1
        for attempt in range(attempts):
            if failure is not None:
                delay = self._backoff.delay(attempt - 1, self._rng, failure.hint)
                self._log.warning(
                    "huggingface %s: %s; retry %d/%d in %.1fs",
                    self._config.model,
                    failure.message,
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
            try:
                status, headers, body = self._post(payload)
            except _RETRYABLE_ERRORS as error:
                failure = _Failure(self._redact(f"{type(error).__name__}: {error}"))
                continue
            except httpx.HTTPError as error:
                raise self._remember(
                    ProviderError(
                        self._redact(
                            f"cannot call Hugging Face at {self._config.base_url}: {error}; "
                            "check the base_url setting"
                        ),
                        provider=self.name,
                        retryable=False,
                    )
                ) from error
            if 200 <= status < 300:
                return self._image(request, status, body)
            if status in RETRYABLE_STATUSES:
                hint = parse_retry_after(headers.get("retry-after"))
                hint = hint if hint is not None else parse_estimated_time(body)
                failure = _Failure(f"HTTP {status}: {self._server_message(body)}", status, hint)
                continue
            raise self._remember(self._rejected(status, body))
        assert failure is not None  # the loop ran at least once and every pass set it or returned
        raise self._remember(
            ProviderUnavailable(
                f"Hugging Face model {self._config.model} failed {attempts} times, last with "
                f"{failure.message}; the job can be retried later",
                provider=self.name,
                status=failure.status,
                retry_after=failure.hint,
            )
        )

    def health(self) -> Mapping[str, Any]:
        """Report the model and the last failure, without calling the API (calls cost quota)."""
        return {
            "ok": self._last_failure is None,
            "model": self._config.model,
            "baseUrl": self._config.base_url,
            "lastFailure": self._last_failure,
        }

    def close(self) -> None:
        """Close the HTTP client if the provider created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HuggingFaceProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _payload(self, request: ImageRequest) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "width": request.width,
            "height": request.height,
            "seed": request.seed,
        }
        if request.negative_prompt.strip():
            parameters["negative_prompt"] = request.negative_prompt.strip()
        return {"inputs": build_prompt(request), "parameters": parameters}

    def _post(self, payload: dict[str, Any]) -> tuple[int, httpx.Headers, bytes]:
        headers = {
            "Authorization": f"Bearer {self._config.api_key}",
            "Accept": "image/png",
            "Content-Type": "application/json",
        }
        content = json.dumps(payload).encode("utf-8")
        # Generation may take the whole read timeout; reaching the server may not.
        connect = min(CONNECT_TIMEOUT, self._config.timeout)
        timeout = httpx.Timeout(self._config.timeout, connect=connect, pool=connect)
        with self._client.stream(
            "POST", self._config.url, content=content, headers=headers, timeout=timeout
        ) as response:
            ok = 200 <= response.status_code < 300
            limit = self._config.max_response_bytes if ok else _ERROR_BODY_LIMIT
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    if ok:
                        raise self._remember(
                            ProviderBadOutput(
                                f"Hugging Face sent more than {limit} bytes; raise "
                                "max_response_bytes if the model really makes images that large",
                                provider=self.name,
                                status=response.status_code,
                            )
                        )
                    break
            return response.status_code, response.headers, bytes(body)

    def _image(self, request: ImageRequest, status: int, body: bytes) -> GeneratedImage:
        try:
            data, width, height = to_png(body, max_pixels=self._config.max_image_pixels)
        except ValueError as error:
            raise self._remember(
                ProviderBadOutput(
                    f"Hugging Face answered {status} but {error}: {self._server_message(body)}",
                    provider=self.name,
                    status=status,
                )
            ) from error
        self._last_failure = None
        return GeneratedImage(data, width, height, provider=self.name, seed=request.seed)

    def _rejected(self, status: int, body: bytes) -> ProviderError:
        message = self._server_message(body)
        advice = {
            401: "check HUGGINGFACE_API_KEY",
            403: "the token lacks permission for this model (accept its licence on the hub, "
            "or use a token with inference access)",
            404: f"check the model name {self._config.model!r}",
        }.get(status, "fix the request (prompt, size, parameters)")
        if 300 <= status < 400:
            return ProviderError(
                f"Hugging Face redirected ({status}); point base_url at the final address",
                provider=self.name,
                retryable=False,
                status=status,
            )
        if not 400 <= status < 500:
            return ProviderError(
                f"Hugging Face answered {status}: {message}; this model cannot serve the request",
                provider=self.name,
                retryable=False,
                status=status,
            )
        return ProviderRejected(
            f"Hugging Face rejected the request ({status}): {message}; {advice}",
            provider=self.name,
            status=status,
        )

    def _server_message(self, body: bytes) -> str:
        text = body[:2000].decode("utf-8", "replace")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            text = "; ".join(map(str, error)) if isinstance(error, list) else str(error)
        text = " ".join(text.split())[:300] or "(empty body)"
        return self._redact(text)

    def _redact(self, text: str) -> str:
        # Servers and proxies sometimes echo headers back; the key must never reach a log.
        return text.replace(self._config.api_key, "[redacted]")

    def _remember(self, error: ProviderError) -> ProviderError:
        if not isinstance(error, ProviderRejected) or error.status in {401, 403}:
            self._last_failure = error.code
        return error
