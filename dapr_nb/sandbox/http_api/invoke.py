"""daprd's HTTP route for service invocation: ``/v1.0/invoke/{app_id}/method/{method*}`` with any verb.

Thin: the sandbox has no app channel, so blocks.invoke only says which error daprd would answer.
The same handler is daprd's fallback for every path and method no other route takes.
"""

from __future__ import annotations

from urllib.parse import unquote

from ..blocks import invoke
from ..runtime import Runtime
from ._base import Request, Response, Route


def invoke_service(runtime: Runtime, request: Request) -> Response:
    """Answer daprd's ERR_DIRECT_INVOKE for the app id in the path or the ``dapr-app-id`` header."""
    target = invoke.target_of(unquote(request.path), request.headers)
    raise invoke.invoke(runtime, target) if target else invoke.no_app_id()


ROUTES: list[Route] = [Route("*", "/v1.0/invoke/{rest*}", invoke_service)]
FALLBACK = Route("*", "/{rest*}", invoke_service)
"""daprd's fallback for unknown paths and methods: invoke the ``dapr-app-id`` header's app with the path."""
