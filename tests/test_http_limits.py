"""The sandbox's HTTP server over raw sockets: chunked bodies, daprd's body/header limits, the token checked before
the body is read, read timeouts, bounded connections, Go's answers to bad framing, daprd's fallback route, IPv6.

Every wait is bounded by a socket timeout or a bounded polling loop; nothing asserts on elapsed time.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from clienthelp import client_for
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2

from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.http_api import limits
from dapr_nb.sandbox.http_api.limits import HttpLimits, parse_quantity

WAIT = 30.0
MIB = 1 << 20
STREAM_MB = 256


class Conn:
    """One raw HTTP/1.1 connection: send bytes, read whole responses in order."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=WAIT)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """Read one response: (status, lower-cased headers, body)."""
        status_line = self.file.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers, self.file.read(int(headers.get("content-length", "0")))

    def json(self) -> tuple[int, Any]:
        status, _, body = self.response()
        return status, json.loads(body) if body else None

    def closed_by_server(self) -> bool:
        """Wait (bounded by the socket timeout) until the server closes; True on EOF or reset."""
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def conns() -> Iterator[Callable[..., Conn]]:
    """Open raw connections; all are closed after the test."""
    opened: list[Conn] = []

    def connect(port: int, host: str = "127.0.0.1") -> Conn:
        opened.append(Conn(port, host))
        return opened[-1]

    yield connect
    for conn in opened:
        conn.close()


def request(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    """Build a request with Content-Length (or none without a body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: sandbox", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def chunked(method: str, path: str, body: bytes, size: int = 7) -> bytes:
    """Build a chunked request of ``size``-byte chunks, with a chunk extension and a trailer."""
    head = f"{method} {path} HTTP/1.1\r\nHost: sandbox\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    parts = [f"{len(body[i:i + size]):x};ext=1\r\n".encode() + body[i:i + size] + b"\r\n"
             for i in range(0, len(body), size)]  # fmt: skip
    return head + b"".join(parts) + b"0\r\nX-Trailer: yes\r\n\r\n"


def rss_kib(pid: int) -> int:
    """Return the resident set size of ``pid`` in KiB, read from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def stream_zeros(sock: socket.socket, megabytes: int, chunk_framing: bool) -> threading.Thread:
    """Send ``megabytes`` of zeros (raw or as 1 MiB chunks) on a thread, stopping quietly when the server closes."""
    block = bytes(MIB)
    framed = b"100000\r\n" + block + b"\r\n" if chunk_framing else block

    def run() -> None:
        try:
            for _ in range(megabytes):
                sock.sendall(framed)
        except OSError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# ------------------------------------------------------------------ chunked bodies


def test_chunked_bodies_round_trip_on_one_keep_alive_connection(sandbox: Sandbox, conns: Any, unique: Any) -> None:
    key, topic, file_name = unique("chunked"), unique("chunked"), unique("chunked") + ".txt"
    conn = conns(sandbox.http_port)
    with client_for(sandbox) as client, client.subscribe("pubsub", topic) as sub:
        saved = json.dumps([{"key": key, "value": {"deep": ["chunked", 1]}}]).encode()
        conn.send(chunked("POST", "/v1.0/state/statestore", saved))
        assert conn.response()[0] == 204
        conn.send(request("GET", f"/v1.0/state/statestore/{key}"))
        assert conn.json() == (200, {"deep": ["chunked", 1]})

        conn.send(chunked("POST", f"/v1.0/publish/pubsub/{topic}", b'{"order": "chunked"}', size=3))
        assert conn.response()[0] == 204
        message = sub.next_message(WAIT)
        assert message is not None and message.data == '{"order": "chunked"}'  # no content type: text
        sub.success(message)

    created = json.dumps({"operation": "create", "data": "chunked file", "metadata": {"fileName": file_name}})
    conn.send(chunked("POST", "/v1.0/bindings/localfiles", created.encode()))
    assert conn.response()[0] == 200
    got = json.dumps({"operation": "get", "metadata": {"fileName": file_name}})
    conn.send(chunked("PUT", "/v1.0/bindings/localfiles", got.encode(), size=50))
    assert conn.response()[::2] == (200, b"chunked file")

    conn.send(chunked("POST", "/v1.0/invoke/other/method/echo", b"x" * 100))
    status, answer = conn.json()
    assert (status, answer["errorCode"]) == (500, "ERR_DIRECT_INVOKE")
    conn.send(request("GET", "/v1.0/healthz"))  # the chunks were consumed, not parsed as requests
    assert conn.response()[0] == 204


def test_malformed_chunks_are_a_body_read_error_and_close(sandbox: Sandbox, conns: Any) -> None:
    conn = conns(sandbox.http_port)
    conn.send(b"POST /v1.0/state/statestore HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n")
    status, headers, body = conn.response()
    assert (status, json.loads(body)["errorCode"], headers["connection"]) == (400, "ERR_BODY_READ", "close")
    assert conn.closed_by_server()


def test_expect_100_continue(sandbox: Sandbox, conns: Any, unique: Any) -> None:
    conn = conns(sandbox.http_port)
    body = json.dumps([{"key": unique("expect"), "value": 1}]).encode()
    conn.send(request("POST", "/v1.0/state/statestore", None, {"Expect": "100-continue",
                                                                "Content-Length": str(len(body))}))
    assert conn.file.readline() == b"HTTP/1.1 100 Continue\r\n" and conn.file.readline() == b"\r\n"
    conn.send(body)
    assert conn.response()[0] == 204
    conn.send(request("POST", "/v1.0/state/statestore", None, {"Expect": "100-continue",
                                                                "Content-Length": str(STREAM_MB * MIB)}))
    status, headers, _ = conn.response()  # refused without inviting the body
    assert (status, headers["connection"]) == (400, "close")


# ------------------------------------------------------------------ Go's own answers to bad framing


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: -1",
        "Content-Length: abc",
        "Content-Length: +5",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length:",
        "Bad Header Name: x",
    ],
)
def test_bad_framing_is_gos_plain_400(sandbox: Sandbox, conns: Any, framing: str) -> None:
    conn = conns(sandbox.http_port)
    conn.send(f"POST /v1.0/state/statestore HTTP/1.1\r\nHost: s\r\n{framing}\r\n\r\n".encode())
    status, headers, body = conn.response()
    assert (status, body, headers["connection"]) == (400, b"400 Bad Request", "close")
    assert conn.closed_by_server()


def test_unknown_transfer_encoding_is_501_and_huge_head_is_431(sandbox: Sandbox, conns: Any) -> None:
    conn = conns(sandbox.http_port)
    conn.send(b"POST /v1.0/state/statestore HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: gzip\r\n\r\n")
    assert conn.response()[::2] == (501, b"Unsupported transfer encoding")
    conn = conns(sandbox.http_port)
    conn.send(request("GET", "/v1.0/healthz", None, {"X-Big": "b" * 9000}))  # over 4Ki + Go's 4 KiB slack
    assert conn.response()[::2] == (431, b"431 Request Header Fields Too Large")
    conn = conns(sandbox.http_port)
    conn.send(request("GET", "/v1.0/healthz", None, {"X-Fits": "f" * 7000}))
    assert conn.response()[0] == 204


# ------------------------------------------------------------------ daprd's fallback route


@pytest.mark.parametrize(("method", "path"), [("OPTIONS", "/v1.0/state/statestore"), ("FOO", "/v1.0/state/s/k"),
                                              ("GET", "/v1.0/nope"), ("DELETE", "/v1.0/publish/pubsub/t")])
def test_unknown_routes_and_methods_fall_back_to_invocation(sandbox: Sandbox, conns: Any, method: str,
                                                            path: str) -> None:
    conn = conns(sandbox.http_port)
    conn.send(request(method, path))
    assert conn.json() == (404, {"errorCode": "ERR_DIRECT_INVOKE",
                                 "message": "failed getting app id either from the URL path or the header dapr-app-id"})
    conn.send(request(method, path, None, {"dapr-app-id": "other"}))
    assert conn.json() == (500, {"errorCode": "ERR_DIRECT_INVOKE",
                                 "message": "failed to invoke, id: other, err: couldn't find service: other"})


def test_options_star_is_answered_by_the_server(sandbox: Sandbox, conns: Any) -> None:
    conn = conns(sandbox.http_port)
    conn.send(b"OPTIONS * HTTP/1.1\r\nHost: s\r\n\r\n")
    assert conn.response()[::2] == (200, b"")


# ------------------------------------------------------------------ body limit and memory


@pytest.mark.parametrize("chunk_framing", [False, True], ids=["content-length", "chunked"])
def test_oversize_body_is_refused_without_memory_growth(make_sandbox: Any, conns: Any, chunk_framing: bool,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    sb = make_sandbox()
    before = rss_kib(sb.pid)
    conn = conns(sb.http_port)
    framing = "Transfer-Encoding: chunked" if chunk_framing else f"Content-Length: {STREAM_MB * MIB}"
    conn.send(f"POST /v1.0/state/statestore HTTP/1.1\r\nHost: s\r\n{framing}\r\n\r\n".encode())
    sender = stream_zeros(conn.sock, STREAM_MB, chunk_framing)
    status, headers, body = conn.response()
    assert (status, json.loads(body)) == (400, {"errorCode": "ERR_BODY_READ",
                                                "message": "failed to read request body: stream too large"})
    assert headers["connection"] == "close"
    sender.join(WAIT)
    after = rss_kib(sb.pid)
    with capsys.disabled():
        print(f"\nsandbox RSS around a {STREAM_MB} MB {'chunked ' if chunk_framing else ''}body: "
              f"{before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after")
    assert after - before < 16 * 1024  # the 4 MiB limit plus a little, never the 256 MB


def test_body_limit_is_configurable_and_exact(make_sandbox: Any, conns: Any, unique: Any) -> None:
    sb = make_sandbox(http_limits=HttpLimits(max_body_size=1000))
    conn = conns(sb.http_port)
    fits = json.dumps([{"key": unique("k"), "value": "v" * 500}]).encode().ljust(1000)
    conn.send(request("POST", "/v1.0/state/statestore", fits))
    assert conn.response()[0] == 204
    conn.send(request("POST", "/v1.0/state/statestore", fits + b" "))
    assert conn.json()[1]["message"] == "failed to read request body: stream too large"
    conn = conns(sb.http_port)
    conn.send(chunked("POST", "/v1.0/state/statestore", fits + b" ", size=100))
    assert conn.json()[0] == 400


def test_unauthenticated_headers_get_401_before_any_body_byte(make_sandbox: Any, conns: Any) -> None:
    sb = make_sandbox(api_token="s3cret")
    before = rss_kib(sb.pid)
    conn = conns(sb.http_port)
    conn.send(f"POST /v1.0/state/statestore HTTP/1.1\r\nHost: s\r\nContent-Length: {STREAM_MB * MIB}\r\n\r\n".encode())
    status, headers, body = conn.response()  # not one body byte was sent
    assert (status, body, headers["connection"]) == (401, b"invalid api token\n", "close")
    assert rss_kib(sb.pid) - before < 8 * 1024
    conn = conns(sb.http_port)  # a small unauthenticated body is dropped and the connection stays usable
    conn.send(request("POST", "/v1.0/state/statestore", b"[]") + request("GET", "/v1.0/healthz"))
    assert conn.response()[0] == 401 and conn.response()[0] == 204


# ------------------------------------------------------------------ timeouts and connection bounds


def test_half_sent_requests_are_closed_after_the_read_timeout(make_sandbox: Any, conns: Any) -> None:
    sb = make_sandbox(http_limits=HttpLimits(read_timeout=0.5, idle_timeout=0.5))
    half_head = conns(sb.http_port)
    half_head.send(b"POST /v1.0/state/statestore HTTP/1.1\r\nHost: s\r\n")
    silent = conns(sb.http_port)
    half_body = conns(sb.http_port)
    half_body.send(request("POST", "/v1.0/state/statestore", None, {"Content-Length": "100"}) + b"[{")
    idle = conns(sb.http_port)
    idle.send(request("GET", "/v1.0/healthz"))
    assert idle.response()[0] == 204
    assert half_head.closed_by_server() and silent.closed_by_server() and idle.closed_by_server()
    status, answer = half_body.json()
    assert (status, answer["errorCode"]) == (400, "ERR_BODY_READ")
    assert half_body.closed_by_server()


def test_half_sent_requests_do_not_starve_others(make_sandbox: Any, conns: Any) -> None:
    sb = make_sandbox(http_limits=HttpLimits(read_timeout=600))
    stalled = [conns(sb.http_port) for _ in range(50)]
    for conn in stalled:
        conn.send(b"POST /v1.0/state/statestore HTTP/1.1\r\nContent-Length: 10\r\n\r\n[")
    for _ in range(20):
        conn = conns(sb.http_port)
        conn.send(request("GET", "/v1.0/healthz"))
        assert conn.response()[0] == 204
        conn.close()
    for conn in stalled:  # all 50 are still waiting, none was closed to make room
        conn.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn.sock.recv(1)


def test_connections_beyond_the_limit_get_503(make_sandbox: Any, conns: Any) -> None:
    sb = make_sandbox(http_limits=HttpLimits(max_connections=3, read_timeout=600))
    held = [conns(sb.http_port) for _ in range(3)]
    for conn in held:
        conn.send(b"GET /v1.0/healthz HTTP/1.1\r\n")
    refused = conns(sb.http_port)
    status, headers, body = refused.response()
    assert (status, headers["connection"]) == (503, "close") and b"--http-max-connections" in body
    held[0].close()
    for _ in range(200):  # the freed slot is reused once the server has seen the close
        conn = conns(sb.http_port)
        conn.send(request("GET", "/v1.0/healthz"))
        if conn.response()[0] == 204:
            break
    else:
        pytest.fail("no connection was served after one closed")


# ------------------------------------------------------------------ IPv6 and flags


def test_ipv6_loopback_serves_http_and_grpc(make_sandbox: Any, conns: Any) -> None:
    sb = make_sandbox(host="::1")
    assert sb.http_endpoint == f"http://[::1]:{sb.http_port}" and sb.grpc_endpoint == f"[::1]:{sb.grpc_port}"
    conn = conns(sb.http_port, "::1")
    conn.send(request("GET", "/v1.0/healthz"))
    assert conn.response()[0] == 204
    with grpc.insecure_channel(sb.grpc_endpoint) as channel:
        reply = dapr_pb2_grpc.DaprStub(channel).GetMetadata(metadata_pb2.GetMetadataRequest(), timeout=WAIT)
    assert reply.id == "sandbox"


@pytest.mark.parametrize(("text", "size"), [("4Mi", 4 * MIB), ("16M", 16_000_000), ("1e6", 10**6), ("4096", 4096),
                                            ("1.5Ki", 1536), ("0", 0), ("-1", -1)])
def test_sizes_are_parsed_as_daprd_quantities(text: str, size: int) -> None:
    assert parse_quantity(text) == size


@pytest.mark.parametrize("text", ["4MB", "abc", "", "0.5", "1e99999999999"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_quantity(text)


def test_flags_build_the_limits_and_new_flags_win() -> None:
    parser = argparse.ArgumentParser()
    limits.add_arguments(parser)
    assert limits.from_arguments(parser.parse_args([])) == HttpLimits()
    args = parser.parse_args(["--dapr-http-max-request-size", "16", "--dapr-http-read-buffer-size", "8"])
    assert (limits.from_arguments(args).max_body_size, limits.from_arguments(args).read_buffer_size) == (16 * MIB, 8192)
    args = parser.parse_args(["--max-body-size", "1Gi", "--dapr-http-max-request-size", "16", "--http-read-timeout",
                              "2m", "--http-max-connections", "9"])
    got = limits.from_arguments(args)
    assert (got.max_body_size, got.read_timeout, got.max_connections) == (1 << 30, 120.0, 9)
    assert limits.from_arguments(parser.parse_args(got.arguments())) == got
    for bad in (["--max-body-size", "4MB"], ["--http-read-timeout", "0"], ["--http-max-connections", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
