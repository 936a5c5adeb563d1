"""daprd's HTTP API on a stdlib threading server, framed by :mod:`.wire` within :mod:`.limits`.

Rules: every route lives in a per-block module's ``ROUTES``; anything unmatched goes to daprd's
fallback (service invocation). The API token is checked here, once, from the headers alone, for
every route except the health probes, and the route is found before the body is read, as daprd's
middlewares do; handlers raise DaprApiError and never write to the socket. One thread serves one
connection, and at most ``limits.max_connections`` are open.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc

from ..errors import DaprApiError
from ..runtime import Runtime
from . import bindings, configuration, conversation, health, invoke, jobs, lock, pubsub, secrets, state, workflows
from ._base import Request, Response, Route, Router, error_response
from .limits import HttpLimits
from .wire import BodyError, Head, Wire, WireError, response_head

log = logging.getLogger("dapr_nb.sandbox.http")

_TEXT = "text/plain; charset=utf-8"
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
    *workflows.ROUTES,
    *invoke.ROUTES,
]


class HttpApiServer(socketserver.ThreadingTCPServer):
    """daprd's HTTP API for one runtime: a thread per connection, at most ``limits.max_connections`` of them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(
        self, address: tuple[str, int], runtime: Runtime, api_token: str = "", limits: HttpLimits | None = None
    ) -> None:
        self.runtime = runtime
        self.api_token = api_token
        self.limits = limits or HttpLimits()
        self.router = Router(ROUTES, fallback=invoke.FALLBACK)
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Connection)

    def start(self) -> threading.Thread:
        """Serve on a daemon thread."""
        thread = threading.Thread(target=self.serve_forever, name="dapr-nb-http", daemon=True)
        thread.start()
        return thread

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on its own thread, or answer 503 at once when ``max_connections`` are open."""
        with self._open_lock:
            admitted = len(self._open) < self.limits.max_connections
            if admitted:
                self._open.add(request)
        if admitted:
            super().process_request(request, client_address)
            return
        limit = self.limits.max_connections
        busy = WireError(503, f"too many open connections: the sandbox serves {limit} (--http-max-connections)")
        try:
            request.settimeout(1.0)
            request.sendall(busy.answer())
        except OSError:
            pass
        self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        """Forget a finished connection and close it."""
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Close the listener and every open connection, so no connection thread outlives the server."""
        super().server_close()
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@dataclass(frozen=True)
class Admitted:
    """A request that passed the token check and found its route; its body is not read yet."""

    route: Route
    params: dict[str, str]
    path: str
    query: str


def admit(server: HttpApiServer, method: str, target: str, headers: dict[str, str]) -> Admitted | Response:
    """Check the token and find the route from the head alone, as daprd's middlewares do before any body read."""
    url = urlsplit(target)
    exempt = (method == "GET" and url.path in TOKEN_EXEMPT) or url.path == invoke.INTERNAL_PATH  # checks its own secret
    if server.api_token and not exempt:
        supplied = next((v for k, v in headers.items() if k.lower() == "dapr-api-token"), "")
        if not hmac.compare_digest(supplied.encode(), server.api_token.encode()):
            return Response(401, b"invalid api token\n", _TEXT, {"X-Content-Type-Options": "nosniff"})
    route, params = server.router.match(method, url.path)
    return Admitted(route, params, url.path, url.query)


def dispatch(server: HttpApiServer, method: str, admitted: Admitted, headers: dict[str, str], body: bytes) -> Response:
    """Run the route's handler and turn every failure into daprd's error response."""
    query = parse_qs(admitted.query, keep_blank_values=True)
    request = Request(method, admitted.path, admitted.params, query, headers, body, admitted.query)
    try:
        return admitted.route.handler(server.runtime, request)
    except DaprApiError as error:
        return error_response(error)
    except Exception as exc:  # a bug, not a Dapr error: still answer like daprd and log it
        log.exception("HTTP %s %s failed", method, admitted.path)
        return error_response(DaprApiError(grpc.StatusCode.INTERNAL, str(exc), error_code="ERR_INTERNAL"))


def body_read_error(why: str) -> DaprApiError:
    """Return daprd's ERR_BODY_READ (``failed to read request body: stream too large`` past the body limit)."""
    message = f"failed to read request body: {why}"
    return DaprApiError(grpc.StatusCode.INVALID_ARGUMENT, message, error_code="ERR_BODY_READ")


class _Connection(socketserver.BaseRequestHandler):
    """Serve requests on one connection until it closes, goes idle, or an answer must close it."""

    server: HttpApiServer

    def handle(self) -> None:
        wire = Wire(self.request, self.server.limits)
        first = True
        try:
            while self._serve_one(wire, first):
                first = False
        except WireError as error:  # Go's server answers these itself and hangs up
            with contextlib.suppress(OSError):
                wire.send(error.answer())
            wire.finish()
        except OSError:  # the client went away mid-answer
            pass

    def _serve_one(self, wire: Wire, first: bool) -> bool:
        head = wire.read_head(first)
        if head is None:
            return False
        response, keep = self._respond(wire, head)
        keep = keep and head.keep_alive and wire.can_continue()
        if keep:
            extra = [("Connection", "keep-alive")] if head.version == "HTTP/1.0" else []
        else:
            extra = [("Connection", "close")]
        log.debug("%s %s -> %d", head.method, head.target, response.status)
        body = b"" if head.method == "HEAD" else response.body
        wire.send(_head_bytes(response, extra) + body)
        if not keep:
            wire.finish()
        return keep

    def _respond(self, wire: Wire, head: Head) -> tuple[Response, bool]:
        """Answer one request; the flag says whether the connection may serve another."""
        if head.method == "OPTIONS" and head.target == "*":  # Go's server answers this itself
            return Response(200), True
        admitted = admit(self.server, head.method, head.target, head.headers)
        if isinstance(admitted, Response):
            return admitted, True
        try:
            body = wire.read_body()
        except BodyError as exc:
            return error_response(body_read_error(str(exc))), False
        return dispatch(self.server, head.method, admitted, head.headers, body), True


def _head_bytes(response: Response, extra: list[tuple[str, str]]) -> bytes:
    headers = [("Content-Type", response.content_type)] if response.content_type else []
    headers += [*response.headers.items(), *response.more_headers, ("Content-Length", str(len(response.body))), *extra]
    return response_head(response.status, headers)
