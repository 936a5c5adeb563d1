"""daprd's HTTP route for service invocation: ``/v1.0/invoke/{app_id}/method/{method*}`` with any verb.

Thin: the request becomes an :class:`~..appchannel.InvokeRequest` (verb, raw query string,
content type, the caller's headers without ``dapr-app-id`` and ``dapr-api-token``), blocks.invoke
sends it, and the app's status, headers and body are written back. The same handler is daprd's
fallback for every path and method no other route takes. ``INTERNAL_PATH`` serves other sandboxes'
hops into this sandbox's app; it checks their secret instead of the API token.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping
from urllib.parse import unquote

from ..appchannel import direct, render
from ..appchannel.channel import go_clean
from ..appchannel.messages import InvokeRequest
from ..blocks import invoke
from ..runtime import Runtime
from ._base import Request, Response, Route

INTERNAL_PATH = direct.INTERNAL_PATH
_DROPPED = frozenset({invoke.APP_ID_HEADER, "dapr-api-token", "host"})


def invoke_service(runtime: Runtime, request: Request) -> Response:
    """Invoke the app named in the path or the ``dapr-app-id`` header and answer what it answered."""
    path = unquote(request.path)
    target, method = _target_and_method(path, request.headers)
    if not target:
        raise invoke.no_app_id()
    call = InvokeRequest(
        method=method,
        verb=request.method.upper(),
        query=request.raw_query,
        content_type=request.header("content-type"),
        data=request.body,
        headers=tuple((k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED),
    )
    answer = render.for_http(invoke.call(runtime, target, call))
    return Response(answer.status, answer.body, answer.content_type, more_headers=answer.headers)


def _target_and_method(path: str, headers: Mapping[str, str]) -> tuple[str, str]:
    """Find the target and method as daprd does: ``dapr-app-id``, Basic auth ``dapr-app-id:<id>``, else the path.

    With a header the whole path is the method; in the path form the method follows ``/method/``.
    """
    named = next((v for k, v in headers.items() if k.lower() == invoke.APP_ID_HEADER and v), "") or _basic(headers)
    if named:
        return named, go_clean(path).lstrip("/")
    target = invoke.target_of(path, headers)
    if not target:
        return "", ""
    cleaned = go_clean(path[path.find("/method/") + len("/method/") :])
    return target, "" if cleaned == "." else cleaned


def _basic(headers: Mapping[str, str]) -> str:
    """Return the app id of ``Authorization: Basic base64("dapr-app-id:<id>")``, ``""`` for anything else."""
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not auth.startswith("Basic "):
        return ""
    try:
        pair = base64.b64decode(auth[len("Basic ") :], validate=True).decode().split(":")
    except (ValueError, UnicodeDecodeError):
        return ""
    return pair[1] if len(pair) == 2 and pair[0].lower() == invoke.APP_ID_HEADER else ""


def internal_call(runtime: Runtime, request: Request) -> Response:
    """Serve another sandbox's hop into this sandbox's app (its secret instead of an API token)."""
    messaging = invoke.messaging(runtime)
    supplied = request.header(direct.SECRET_HEADER)
    if messaging is None or not hmac.compare_digest(supplied.encode(), messaging.secret.encode()):
        return Response(401, b"invalid internal token\n", "text/plain; charset=utf-8")
    answered: list[Response] = []

    def reply(status: int, body: dict[str, object]) -> None:
        answered.append(Response(status, json.dumps(body).encode(), "application/json"))

    direct.serve_hop(messaging, request.body, reply)
    return answered[0]


ROUTES: list[Route] = [
    Route("POST", INTERNAL_PATH, internal_call),
    Route("*", "/v1.0/invoke/{rest*}", invoke_service),
]
FALLBACK = Route("*", "/{rest*}", invoke_service)
"""daprd's fallback for unknown paths and methods: invoke the ``dapr-app-id`` header's app with the path."""
