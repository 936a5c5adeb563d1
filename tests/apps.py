"""Run the apps the app-channel tests invoke: FastAPI (uvicorn), Flask (werkzeug) and ``dapr.ext.grpc.App``.

Each runs on a free 127.0.0.1 port in a daemon thread of the test process and is stopped by the
context manager; they are the official SDK's own app frameworks, unmodified.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import fastapi
import flask
import grpc
from dapr.ext.grpc import App, InvokeMethodRequest, InvokeMethodResponse

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def free_port() -> int:
    """Return a port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until 127.0.0.1:``port`` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


@contextmanager
def serve_asgi(app: Any) -> Iterator[int]:
    """Serve an ASGI app with uvicorn; yield its port."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise TimeoutError("uvicorn did not start")
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(5)


@contextmanager
def serve_wsgi(app: Any) -> Iterator[int]:
    """Serve a WSGI app (Flask) with werkzeug's threaded server; yield its port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-werkzeug", daemon=True)
    thread.start()
    try:
        yield int(server.port)
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def serve_grpc(app: Any) -> Iterator[int]:
    """Run a ``dapr.ext.grpc.App`` on a free port; yield the port."""
    port = free_port()
    thread = threading.Thread(target=app.run, args=(port, "127.0.0.1"), name="test-grpc-app", daemon=True)
    thread.start()
    wait_port(port)
    try:
        yield port
    finally:
        app.stop()
        thread.join(5)


class Echo(http.server.BaseHTTPRequestHandler):
    """Answer every verb with what arrived; ``/status/<code>`` answers that status with ``nope``, ``/slow`` waits,
    ``/healthz`` answers what the server's ``healthy`` says."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle + delayed ACK would cost 40 ms a call

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/healthz":
            self._send(200 if self.server.healthy else 503, b"", "text/plain", [])  # type: ignore[attr-defined]
            return
        if self.path.startswith("/slow"):
            self._send(200, str(self.server.slow()).encode(), "text/plain", [])  # type: ignore[attr-defined]
            return
        if self.path.startswith("/status/"):
            self._send(int(self.path.split("/")[2].split("?")[0]), b"nope", "text/plain", [("X-Reply", "yes")])
            return
        seen = {"verb": self.command, "path": self.path, "headers": [[k.lower(), v] for k, v in self.headers.items()],
                "body": body.decode("latin-1")}  # fmt: skip
        extra = [("X-Reply", "echo"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
        self._send(200, json.dumps(seen).encode(), "application/json", extra)

    def _send(self, status: int, body: bytes, content_type: str, extra: list[tuple[str, str]]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in extra:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any  # noqa: N815 - http.server's hook names

    def log_message(self, *args: object) -> None:
        """Stay quiet."""


class EchoServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that closes its keep-alive connections too when it closes (an app that exits)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Echo)
        self.open: set[socket.socket] = set()
        self.active = 0
        self.peak = 0
        self.healthy = True
        """What ``GET /healthz`` answers: 200 while True, else 503."""
        self.counting = threading.Lock()

    def slow(self) -> int:
        """Take 0.3 s; return how many ``/slow`` requests ran at once at most so far."""
        with self.counting:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.3)
        with self.counting:
            self.active -= 1
            return self.peak

    def process_request(self, request: Any, client_address: Any) -> None:
        self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        for sock in list(self.open):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@contextmanager
def serve_echo_server() -> Iterator[EchoServer]:
    """Serve :class:`Echo` on a free port; yield the server. Leaving closes every connection, as an exiting app."""
    server = EchoServer()
    thread = threading.Thread(target=server.serve_forever, name="test-echo", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_echo() -> Iterator[int]:
    """Serve :class:`Echo` on a free port; yield the port."""
    with serve_echo_server() as server:
        yield int(server.server_address[1])


def fastapi_app(name: str) -> fastapi.FastAPI:
    """Return a FastAPI service: ``/hello`` echoes the call, ``/orders/{id}`` answers 201, ``/fail`` 503."""
    api = fastapi.FastAPI()

    @api.api_route("/hello", methods=["GET", "POST", "PUT", "DELETE"])
    async def hello(request: fastapi.Request) -> fastapi.Response:
        body = await request.body()
        seen = {"app": name, "verb": request.method, "query": request.url.query, "body": body.decode(),
                "headers": {k.lower(): v for k, v in request.headers.items()}}  # fmt: skip
        return fastapi.Response(json.dumps(seen), media_type="application/json", headers={"x-served-by": name})

    @api.post("/orders/{order_id}")
    async def create(order_id: str, request: fastapi.Request) -> fastapi.Response:
        order = await request.json()
        return fastapi.Response(json.dumps({"id": order_id, **order}), status_code=201, media_type="application/json",
                                headers={"location": f"/orders/{order_id}"})  # fmt: skip

    @api.get("/fail")
    async def fail() -> fastapi.Response:
        return fastapi.Response("try later", status_code=503, media_type="text/plain", headers={"retry-after": "1"})

    return api


def flask_app(name: str) -> flask.Flask:
    """Return a Flask service with the same routes as :func:`fastapi_app`."""
    web = flask.Flask(name)
    request = flask.request

    @web.route("/hello", methods=["GET", "POST", "PUT", "DELETE"])
    def hello() -> flask.Response:
        seen = {"app": name, "verb": request.method, "query": request.query_string.decode(),
                "body": request.get_data().decode(), "headers": {k.lower(): v for k, v in request.headers.items()}}
        return flask.Response(json.dumps(seen), mimetype="application/json", headers={"x-served-by": name})  # fmt: skip

    @web.post("/orders/<order_id>")
    def create(order_id: str) -> flask.Response:
        order = request.get_json()
        return flask.Response(json.dumps({"id": order_id, **order}), status=201, mimetype="application/json",
                              headers={"location": f"/orders/{order_id}"})  # fmt: skip

    @web.get("/fail")
    def fail() -> flask.Response:
        return flask.Response("try later", status=503, mimetype="text/plain", headers={"retry-after": "1"})

    return web


def grpc_app(name: str) -> App:
    """Return a ``dapr.ext.grpc.App``: ``hello`` echoes the call, ``shout`` upper-cases, ``boom`` raises."""
    app = App()

    @app.method(name="hello")
    def hello(request: InvokeMethodRequest) -> InvokeMethodResponse:
        seen = {"app": name, "content_type": request.content_type, "body": request.text(),
                "metadata": {k: v[0] for k, v in request.metadata.items() if not k.endswith("-bin")}}  # fmt: skip
        return InvokeMethodResponse(json.dumps(seen), "application/json", headers=(("x-served-by", name),))

    @app.method(name="shout")
    def shout(request: InvokeMethodRequest) -> str:
        return request.text().upper()

    @app.method(name="boom")
    def boom(request: InvokeMethodRequest) -> str:
        raise ValueError("kaboom")

    return app


def _say(request: bytes, context: grpc.ServicerContext) -> bytes:
    if request == b"fail":
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
    context.send_initial_metadata((("x-said", "yes"),))
    return json.dumps({"body": request.decode(), "metadata": metadata}).encode()


def _chat(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for request in requests:
        yield request.upper()


@contextmanager
def serve_raw_grpc() -> Iterator[int]:
    """Serve a plain gRPC service ``test.Echo`` (``Say`` unary, ``Chat`` bidi, raw bytes); yield its port."""
    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(_say),
        "Chat": grpc.stream_stream_rpc_method_handler(_chat),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0)
