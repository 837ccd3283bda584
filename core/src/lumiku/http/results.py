"""What a handler returns, rendered as a response: a body, ``Accepted`` (202), a Response, None."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import cattrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from lumiku.http.endpoint import Endpoint

T = TypeVar("T")


@attrs.frozen
class Accepted(Generic[T]):
    """Queued work: answered ``202 Accepted`` with ``Location: status_url`` and ``body``.

    ``status_url`` is where the client polls the work's status. A path starting with ``/``
    is used as is; a relative one (``"generations/42"``) is resolved under the route's mount,
    so a plugin need not know its own ``route_prefix``. Declare the route with
    ``status=202``.
    """

    body: T
    status_url: str


def _location(request: Request, status_url: str) -> str:
    if status_url.startswith(("/", "http://", "https://")):
        return status_url
    root = request.scope.get("root_path", "").rstrip("/")
    return f"{root}/{status_url}"


def render(
    converter: cattrs.Converter, endpoint: Endpoint, request: Request, result: Any
) -> Response:
    """Return the response for a handler's ``result`` under its declaration.

    A ``Response`` is sent as is; ``Accepted`` gives 202 with ``Location``; ``None`` gives
    204 (or the declared status, empty); anything else is JSON with the declared status.
    Raises ``TypeError`` when the result contradicts the declared status (``Accepted`` from
    a route not declared ``status=202``, or the reverse): that is a bug in the route.
    """
    if isinstance(result, Response):
        return result
    if isinstance(result, Accepted) != (endpoint.status == 202):
        raise TypeError(
            f"{endpoint.method} {endpoint.path}: a route declared with status=202 returns "
            "lumiku.Accepted(body, status_url=...), and only such a route does"
        )
    if isinstance(result, Accepted):
        return JSONResponse(
            converter.unstructure(result.body),
            status_code=202,
            headers={"Location": _location(request, result.status_url)},
        )
    if result is None:
        return Response(status_code=204 if endpoint.status == 200 else endpoint.status)
    return JSONResponse(converter.unstructure(result), status_code=endpoint.status)
