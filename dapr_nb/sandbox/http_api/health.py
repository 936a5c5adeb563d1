"""Health, metadata and shutdown routes."""

from __future__ import annotations

import grpc

from ..blocks.metadata import get_metadata, to_http_json
from ..errors import DaprApiError
from ..runtime import Runtime
from ._base import Request, Response, Route, encoder_response, no_content


def healthz(runtime: Runtime, request: Request) -> Response:
    """Answer 204 when ready; ``?appid=`` must name this app, as daprd checks."""
    appid = request.arg("appid")
    if appid and appid != runtime.app_id:
        raise DaprApiError(
            grpc.StatusCode.INTERNAL,
            f"dapr app-id does not match: {appid}",
            error_code="ERR_HEALTH_APPID_NOT_MATCH",
            http_status=500,
        )
    return no_content()


def outbound(runtime: Runtime, request: Request) -> Response:
    """Answer 204: the sandbox's components are ready as soon as it listens."""
    return no_content()


def metadata(runtime: Runtime, request: Request) -> Response:
    """Return daprd's metadata JSON."""
    return encoder_response(to_http_json(get_metadata(runtime)))


def set_metadata(runtime: Runtime, request: Request) -> Response:
    """Set an extended metadata attribute from the raw body."""
    runtime.set_metadata(request.params["key"], request.body.decode("utf-8", "replace"))
    return no_content()


def shutdown(runtime: Runtime, request: Request) -> Response:
    """Ask the sandbox to stop."""
    runtime.shutdown_requested.set()
    return no_content()


ROUTES = [
    Route("GET", "/v1.0/healthz", healthz),
    Route("GET", "/v1.0/healthz/outbound", outbound),
    Route("GET", "/v1.0/metadata", metadata),
    Route("PUT", "/v1.0/metadata/{key}", set_metadata),
    Route("POST", "/v1.0/shutdown", shutdown),
]
