"""daprd's HTTP API on a stdlib threading server.

Rules: every route lives in a per-block module's ``ROUTES``; the API token is checked here, once,
for every route except the health probes; handlers raise DaprApiError and never write to the socket.
"""

from __future__ import annotations

import hmac
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc

from ..errors import DaprApiError
from ..runtime import Runtime
from . import bindings, configuration, conversation, health, invoke, jobs, lock, pubsub, secrets, state
from ._base import Request, Response, Route, Router, error_response

log = logging.getLogger("dapr_nb.sandbox.http")

TOKEN_EXEMPT = frozenset({"/v1.0/healthz", "/v1.0/healthz/outbound"})

ROUTES: list[Route] = [
    *health.ROUTES,
    *state.ROUTES,
    *pubsub.ROUTES,
    *bindings.ROUTES,
    *secrets.ROUTES,
    *configuration.ROUTES,
    *lock.ROUTES,
    *jobs.ROUTES,
    *conversation.ROUTES,
    *invoke.ROUTES,
]


class HttpApiServer(ThreadingHTTPServer):
    """daprd's HTTP API for one runtime."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], runtime: Runtime, api_token: str = "") -> None:
        self.runtime = runtime
        self.api_token = api_token
        self.router = Router(ROUTES)
        super().__init__(address, _Handler)

    def start(self) -> threading.Thread:
        """Serve on a daemon thread."""
        thread = threading.Thread(target=self.serve_forever, name="dapr-nb-http", daemon=True)
        thread.start()
        return thread


def dispatch(server: HttpApiServer, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
    """Route one request and turn every failure into daprd's error response."""
    url = urlsplit(target)
    if server.api_token and not (method == "GET" and url.path in TOKEN_EXEMPT):  # daprd checks before routing
        supplied = next((v for k, v in headers.items() if k.lower() == "dapr-api-token"), "")
        if not hmac.compare_digest(supplied.encode(), server.api_token.encode()):
            return Response(401, b"invalid api token", "text/plain; charset=utf-8")
    found = server.router.match(method, url.path)
    if found is None:
        return error_response(
            _plain(grpc.StatusCode.NOT_FOUND, "ERR_NOT_FOUND", f"{method} {url.path} is not a Dapr route")
        )
    if found == "method":
        return error_response(
            DaprApiError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"method {method} not allowed",
                error_code="ERR_METHOD_NOT_ALLOWED",
                http_status=405,
            )
        )
    assert not isinstance(found, str)
    route, params = found
    request = Request(method, url.path, params, parse_qs(url.query, keep_blank_values=True), headers, body)
    try:
        return route.handler(server.runtime, request)
    except DaprApiError as error:
        return error_response(error)
    except Exception as exc:  # a bug, not a Dapr error: still answer like daprd and log it
        log.exception("HTTP %s %s failed", method, url.path)
        return error_response(_plain(grpc.StatusCode.INTERNAL, "ERR_INTERNAL", str(exc)))


def _plain(code: grpc.StatusCode, error_code: str, message: str) -> DaprApiError:
    return DaprApiError(code, message, error_code=error_code)


class _Handler(BaseHTTPRequestHandler):
    server: HttpApiServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = dispatch(self.server, self.command, self.path, dict(self.headers.items()), body)
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)
