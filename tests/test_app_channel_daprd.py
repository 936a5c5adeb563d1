"""Differential tests of the app channel: the same app behind the sandbox and behind real daprd 1.18.2.

Each case runs against both sidecars (the daprd cases skip with one line when daprd is not built)
and asserts what daprd does: the request the app sees, the status, headers and body the caller
gets, daprd's translation between gRPC callers and HTTP apps, and between HTTP callers and gRPC
apps, and the headers a second sidecar adds when one app invokes another by app id.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import ExitStack
from typing import Any

import grpc
import pytest
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, invoke_pb2, metadata_pb2
from google.protobuf import any_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dapr_nb.daprd import Daprd, binaries
from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.appchannel.health import HealthSettings
from tests.apps import TRACEPARENT, EchoServer, grpc_app, serve_echo, serve_echo_server, serve_grpc, serve_raw_grpc
from tests.sidecars import Sidecar

APP_TOKEN = "app-token-123"
TRACE_ID = TRACEPARENT.split("-")[1]
class Sidecars:
    """Start sidecars of one kind with an app port, and the apps behind them; all stop with ``stack``."""

    def __init__(self, kind: str, stack: ExitStack, tmp: pytest.TempPathFactory) -> None:
        self.kind = kind
        self.stack = stack
        self.tmp = tmp

    def start(self, app_id: str, port: int, protocol: str = "http", token: str = "", max_concurrency: int = -1,
              health: HealthSettings | None = None) -> Sidecar:  # fmt: skip
        """Start one sidecar for the app on ``port``."""
        if self.kind == "daprd":
            checks: dict[str, object] | None = None
            if health is not None:
                checks = {"check-path": health.path, "probe-interval": round(health.interval),
                          "probe-timeout": round(health.timeout * 1000), "threshold": health.threshold}  # fmt: skip
            sidecar: Sidecar = Daprd(app_id=app_id, app_port=port, app_protocol=protocol, app_api_token=token,
                                     redis=False, app_max_concurrency=max_concurrency,
                                     app_health_check=checks)  # fmt: skip
        else:
            sidecar = Sandbox(app_id=app_id, app_port=port, app_protocol=protocol, app_api_token=token,
                              data_dir=self.tmp.mktemp(app_id), app_max_concurrency=max_concurrency,
                              app_health=health)  # fmt: skip
        return self.stack.enter_context(sidecar)


@pytest.fixture(scope="module", params=["sandbox", "daprd"])
def sidecars(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecars]:
    """Sidecars of one kind (sandbox, then daprd); everything started stops at the module's end."""
    if request.param == "daprd" and not binaries().present():
        pytest.skip("daprd not built: run `dapr-nb daprd build`")
    with ExitStack() as stack:
        yield Sidecars(str(request.param), stack, tmp_path_factory)


@pytest.fixture(scope="module")
def echo(sidecars: Sidecars) -> Sidecar:
    """A sidecar ``echo`` in front of the echo app, with an app token."""
    return sidecars.start("echo", sidecars.stack.enter_context(serve_echo()), token=APP_TOKEN)


@pytest.fixture(scope="module")
def grpc_sidecar(sidecars: Sidecars) -> Sidecar:
    """A sidecar ``gsvc`` in front of a ``dapr.ext.grpc.App``."""
    port = sidecars.stack.enter_context(serve_grpc(grpc_app("gsvc")))
    return sidecars.start("gsvc", port, protocol="grpc", token=APP_TOKEN)


@pytest.fixture(scope="module")
def orphan(sidecars: Sidecars) -> tuple[Sidecar, int]:
    """A sidecar ``orphan`` whose app stopped after the sidecar started; and the app's port."""
    with serve_echo() as port:
        sidecar = sidecars.start("orphan", port)
    return sidecar, port


@pytest.fixture(scope="module")
def limited(sidecars: Sidecars) -> Sidecar:
    """A sidecar ``limited`` with ``--app-max-concurrency 2``."""
    return sidecars.start("limited", sidecars.stack.enter_context(serve_echo()), max_concurrency=2)


@pytest.fixture(scope="module")
def watched(sidecars: Sidecars) -> tuple[Sidecar, EchoServer]:
    """A sidecar ``watched`` probing its app's ``/healthz`` every second (one failure: unhealthy); and the app."""
    app = sidecars.stack.enter_context(serve_echo_server())
    health = HealthSettings("/healthz", interval=1.0, timeout=0.5, threshold=1)
    return sidecars.start("watched", int(app.server_address[1]), health=health), app


@pytest.fixture(scope="module")
def pair(sidecars: Sidecars) -> tuple[Sidecar, Sidecar]:
    """Two sidecars, ``appa`` and ``appb``, each in front of its own echo app."""
    a = sidecars.start("appa", sidecars.stack.enter_context(serve_echo()))
    b = sidecars.start("appb", sidecars.stack.enter_context(serve_echo()))
    return a, b


def call(sidecar: Sidecar, verb: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
         ) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
    """Send one HTTP request to the sidecar; return status, headers (lower-case names) and body."""
    conn = http.client.HTTPConnection("127.0.0.1", sidecar.http_port, timeout=30)
    try:
        conn.request(verb, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, [(k.lower(), v) for k, v in resp.getheaders()], resp.read()
    finally:
        conn.close()


def values(pairs: list[tuple[str, str]] | list[list[str]], name: str) -> list[str]:
    """Return every value of header ``name``."""
    return [v for k, v in pairs if k == name]


def stub(sidecar: Sidecar) -> dapr_pb2_grpc.DaprStub:
    """Return a Dapr API stub on the sidecar's gRPC port."""
    return dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))


def grpc_invoke(sidecar: Sidecar, app_id: str, method: str, data: bytes = b"", content_type: str = "",
                verb: int | None = None, query: str = "") -> tuple[Any, dict[str, list[str]]]:  # fmt: skip
    """Call InvokeService; return the response and the initial metadata (raises grpc.RpcError)."""
    message = common_pb2.InvokeRequest(method=method, data=any_pb2.Any(value=data), content_type=content_type)
    if verb is not None:
        message.http_extension.verb = verb  # type: ignore[assignment]
        message.http_extension.querystring = query
    request = invoke_pb2.InvokeServiceRequest(id=app_id, message=message)
    response, rpc = stub(sidecar).InvokeService.with_call(request, metadata=[("x-grpc-meta", "m1")], timeout=30)
    initial: dict[str, list[str]] = {}
    for key, value in rpc.initial_metadata():
        initial.setdefault(key, []).append(value)
    return response, initial


def test_http_invocation_passes_verb_path_query_headers_and_body(echo: Sidecar) -> None:
    headers = {"Content-Type": "application/json", "X-Custom": "c1", "traceparent": TRACEPARENT, "Cookie": "k=v"}
    status, answer, body = call(echo, "POST", "/v1.0/invoke/echo/method/hello/world?x=1&y=a%20b", b'{"a":1}', headers)
    seen = json.loads(body)
    assert (status, seen["verb"], seen["path"], seen["body"]) == (200, "POST", "/hello/world?x=1&y=a%20b", '{"a":1}')
    assert (values(seen["headers"], "x-custom"), values(seen["headers"], "cookie")) == (["c1"], ["k=v"])
    assert values(seen["headers"], "content-type") == ["application/json"]
    assert values(seen["headers"], "dapr-api-token") == [APP_TOKEN]
    assert values(seen["headers"], "dapr-caller-app-id") == []  # its own app: no caller headers
    (sent,) = values(seen["headers"], "traceparent")
    assert sent.split("-")[1] == TRACE_ID and sent != TRACEPARENT  # a child span of the caller's
    assert values(answer, "traceparent") == [sent]
    assert values(answer, "x-reply") == ["echo"]
    assert values(answer, "set-cookie") == ["a=1", "b=2"]
    assert values(answer, "content-type") == ["application/json"]


def test_the_dapr_app_id_header_form_and_method_normalization(echo: Sidecar) -> None:
    status, _, body = call(echo, "GET", "/hello2?q=2", headers={"dapr-app-id": "echo"})
    seen = json.loads(body)
    assert (status, seen["verb"], seen["path"], values(seen["headers"], "dapr-app-id")) == (200, "GET", "/hello2?q=2",
                                                                                           [])  # fmt: skip
    auth = "Basic " + base64.b64encode(b"dapr-app-id:echo").decode()
    seen = json.loads(call(echo, "PUT", "/hello3/x?y=1", b"b", {"Authorization": auth})[2])
    assert (seen["verb"], seen["path"], values(seen["headers"], "authorization")) == ("PUT", "/hello3/x?y=1", [auth])
    assert json.loads(call(echo, "GET", "/v1.0/invoke/echo/method/a/../b//c")[2])["path"] == "/b/c"
    assert json.loads(call(echo, "GET", "/v1.0/invoke/echo/method/")[2])["path"] == "/"


@pytest.mark.parametrize("verb, code", [("DELETE", 418), ("GET", 500), ("PUT", 404)])
def test_app_status_codes_and_headers_pass_through(echo: Sidecar, verb: str, code: int) -> None:
    status, answer, body = call(echo, verb, f"/v1.0/invoke/echo/method/status/{code}")
    assert (status, body, values(answer, "x-reply"), values(answer, "content-type")) == (code, b"nope", ["yes"],
                                                                                        ["text/plain"])  # fmt: skip


def test_unknown_app_id(echo: Sidecar) -> None:
    status, _, body = call(echo, "GET", "/v1.0/invoke/nope/method/x")
    assert (status, json.loads(body)) == (500, {
        "errorCode": "ERR_DIRECT_INVOKE", "message": "failed to invoke, id: nope, err: couldn't find service: nope"})


def test_unknown_app_id_over_grpc(echo: Sidecar) -> None:
    # Another id than the HTTP case's: daprd's mDNS answers a lookup that joins a browse still running
    # for the same id with "timeout waiting for address for app id …" instead.
    with pytest.raises(grpc.RpcError) as failed:
        grpc_invoke(echo, "nope-grpc", "x", verb=common_pb2.HTTPExtension.GET)
    assert failed.value.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
    assert failed.value.details() == (  # type: ignore[attr-defined]
        "failed to invoke, id: nope-grpc, err: couldn't find service: nope-grpc")


def test_grpc_caller_to_http_app(echo: Sidecar) -> None:
    response, initial = grpc_invoke(echo, "echo", "echo", b"payload", "text/plain", common_pb2.HTTPExtension.POST,
                                    "k=v&z=1")  # fmt: skip
    seen = json.loads(response.data.value)
    assert (seen["verb"], seen["path"], seen["body"]) == ("POST", "/echo?k=v&z=1", "payload")
    assert values(seen["headers"], "content-type") == ["text/plain"]
    assert values(seen["headers"], "x-grpc-meta") == ["m1"]
    assert values(seen["headers"], "dapr-api-token") == [APP_TOKEN]
    assert response.content_type == "application/json"
    assert (initial["dapr-http-status"], initial["dapr-content-type"], initial["x-reply"]) == (
        ["200"], ["application/json"], ["echo"])  # fmt: skip
    assert initial["set-cookie"] == ["a=1", "b=2"] and len(initial["traceparent"]) == 1


def test_grpc_caller_gets_an_http_error_status_as_grpc_status(echo: Sidecar) -> None:
    with pytest.raises(grpc.RpcError) as failed:
        grpc_invoke(echo, "echo", "status/404", verb=common_pb2.HTTPExtension.GET)
    error = failed.value
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "Not Found")  # type: ignore[attr-defined]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == ("Not Found", "dapr.io", {
        "http.code": "404", "http.error_message": "nope"})  # fmt: skip


def test_grpc_caller_without_http_extension(echo: Sidecar) -> None:
    with pytest.raises(grpc.RpcError) as failed:
        grpc_invoke(echo, "echo", "noverb", b"x", "application/json")
    assert failed.value.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
    assert failed.value.details() == (  # type: ignore[attr-defined]
        "failed to invoke, id: echo, err: rpc error: code = InvalidArgument desc = missing HTTP extension field")


def test_metadata_reports_app_connection_properties(echo: Sidecar, grpc_sidecar: Sidecar) -> None:
    for sidecar, protocol in ((echo, "http"), (grpc_sidecar, "grpc")):
        _, _, body = call(sidecar, "GET", "/v1.0/metadata")
        props = json.loads(body)["appConnectionProperties"]
        assert props == {"port": props["port"], "protocol": protocol, "channelAddress": "127.0.0.1"}
        over_grpc = stub(sidecar).GetMetadata(metadata_pb2.GetMetadataRequest(), timeout=10).app_connection_properties
        assert (over_grpc.port, over_grpc.protocol, over_grpc.channel_address) == (props["port"], protocol, "127.0.0.1")


def test_app_max_concurrency_holds_calls_back(limited: Sidecar) -> None:
    props = json.loads(call(limited, "GET", "/v1.0/metadata")[2])["appConnectionProperties"]
    assert props["maxConcurrency"] == 2
    with futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: call(limited, "GET", "/v1.0/invoke/limited/method/slow"), range(5)))
    assert [status for status, _, _ in answers] == [200] * 5
    assert max(int(body) for _, _, body in answers) == 2  # never more than two at once in the app


def _until(check: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_app_health_checks(watched: tuple[Sidecar, EchoServer]) -> None:
    sidecar, app = watched
    props = json.loads(call(sidecar, "GET", "/v1.0/metadata")[2])["appConnectionProperties"]
    assert props["health"] == {"healthCheckPath": "/healthz", "healthProbeInterval": "1s",
                               "healthProbeTimeout": "500ms", "healthThreshold": 1}  # fmt: skip
    path = "/v1.0/invoke/watched/method/hello"
    assert _until(lambda: call(sidecar, "GET", path)[0] == 200)
    app.healthy = False
    try:
        assert _until(lambda: call(sidecar, "GET", path)[0] == 500)
        assert json.loads(call(sidecar, "GET", path)[2]) == {"errorCode": "ERR_DIRECT_INVOKE", "message": (
            "failed to invoke, id: watched, err: rpc error: code = Internal desc = app is not in a healthy state")}
    finally:
        app.healthy = True
    assert _until(lambda: call(sidecar, "GET", path)[0] == 200)


def test_an_app_that_went_away(orphan: tuple[Sidecar, int]) -> None:
    sidecar, port = orphan
    status, _, body = call(sidecar, "POST", "/v1.0/invoke/orphan/method/gone?x=1", b"x")
    refused = f'Post "http://127.0.0.1:{port}/gone?x=1": dial tcp 127.0.0.1:{port}: connect: connection refused'
    assert (status, json.loads(body)) == (500, {
        "errorCode": "ERR_DIRECT_INVOKE", "message": f"failed to invoke, id: orphan, err: {refused}"})  # fmt: skip


def test_http_caller_to_grpc_app(grpc_sidecar: Sidecar) -> None:
    headers = {"Content-Type": "application/json", "X-Custom": "c1", "Accept": "text/html"}
    status, answer, body = call(grpc_sidecar, "POST", "/v1.0/invoke/gsvc/method/hello?x=1", b'{"a":1}', headers)
    seen = json.loads(body)
    assert (status, seen["content_type"], seen["body"]) == (200, "application/json", '{"a":1}')
    md = seen["metadata"]
    assert (md["dapr-accept"], md["dapr-content-type"], md["x-custom"], md["dapr-api-token"]) == (
        "text/html", "application/json", "c1", APP_TOKEN)  # fmt: skip
    assert md["traceparent"] == values(answer, "traceparent")[0]
    assert (values(answer, "x-served-by"), values(answer, "content-type")) == (["gsvc"], ["application/json"])


@pytest.mark.parametrize("method, status, code", [("boom", 500, 2), ("missing", 501, 12)])
def test_grpc_app_failures_become_http_statuses(grpc_sidecar: Sidecar, method: str, status: int, code: int) -> None:
    got, answer, body = call(grpc_sidecar, "GET", f"/v1.0/invoke/gsvc/method/{method}")
    assert (got, json.loads(body)["code"]) == (status, code)
    assert values(answer, "content-type") == ["text/plain; charset=utf-8"]
    assert json.loads(body)["message"].startswith("Exception calling application: ")


def test_grpc_caller_to_grpc_app(grpc_sidecar: Sidecar) -> None:
    response, initial = grpc_invoke(grpc_sidecar, "gsvc", "shout", b"quiet", "text/plain")
    assert (response.data.value, response.content_type) == (b"QUIET", "application/json; charset=utf-8")
    assert list(initial) == ["traceparent"]
    response, initial = grpc_invoke(grpc_sidecar, "gsvc", "hello", b"x", "text/plain")
    assert initial["x-served-by"] == ["gsvc"]
    assert json.loads(response.data.value)["metadata"]["x-grpc-meta"] == "m1"
    with pytest.raises(grpc.RpcError) as failed:
        grpc_invoke(grpc_sidecar, "gsvc", "boom")
    assert (failed.value.code(), failed.value.details()) == (  # type: ignore[attr-defined]
        grpc.StatusCode.UNKNOWN, "Exception calling application: kaboom")


def test_one_app_invokes_another_by_app_id(pair: tuple[Sidecar, Sidecar]) -> None:
    a, _ = pair
    status, answer, body = call(a, "PUT", "/v1.0/invoke/appb/method/hi?z=1", b"x",
                                {"traceparent": TRACEPARENT, "X-A": "1"})  # fmt: skip
    seen = json.loads(body)
    assert (status, seen["verb"], seen["path"], seen["body"]) == (200, "PUT", "/hi?z=1", "x")
    heard = dict(seen["headers"])
    assert (heard["dapr-caller-app-id"], heard["dapr-callee-app-id"], heard["dapr-caller-namespace"]) == (
        "appa", "appb", "default")  # fmt: skip
    assert heard["x-a"] == "1" and heard["x-forwarded-for"] and heard["x-forwarded-host"]
    assert heard["forwarded"].startswith("for=")
    assert heard["traceparent"].split("-")[1] == TRACE_ID
    assert values(answer, "traceparent")[0].split("-")[1] == TRACE_ID
    assert values(answer, "set-cookie") == ["a=1", "b=2"]
    status, answer, body = call(a, "GET", "/v1.0/invoke/appb.default/method/status/404")
    assert (status, body, values(answer, "x-reply")) == (404, b"nope", ["yes"])


def test_one_app_invokes_another_over_grpc(pair: tuple[Sidecar, Sidecar]) -> None:
    a, _ = pair
    response, initial = grpc_invoke(a, "appb", "hi", b"g", "text/plain", common_pb2.HTTPExtension.PATCH, "q=1")
    seen = json.loads(response.data.value)
    assert (seen["verb"], seen["path"], dict(seen["headers"])["dapr-caller-app-id"]) == ("PATCH", "/hi?q=1", "appa")
    assert initial["dapr-http-status"] == ["200"]


def test_metadata_without_an_app_port(sidecar: Sidecar) -> None:
    _, _, body = call(sidecar, "GET", "/v1.0/metadata")
    assert json.loads(body)["appConnectionProperties"] == {"protocol": "http", "channelAddress": "127.0.0.1"}


@pytest.fixture(scope="module")
def proxied(sidecars: Sidecars) -> tuple[Sidecar, Sidecar]:
    """``gapp`` in front of a plain gRPC service, and ``gcaller`` (no app) beside it."""
    app = sidecars.start("gapp", sidecars.stack.enter_context(serve_raw_grpc()), protocol="grpc", token=APP_TOKEN)
    with serve_echo() as port:  # daprd wants an app port to start with: any app that then goes away
        caller = sidecars.start("gcaller", port)
    return app, caller


def raw(sidecar: Sidecar, method: str) -> Any:
    """Return a raw-bytes unary callable for ``method`` on the sidecar's gRPC port."""
    return grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}").unary_unary(method)


def test_grpc_proxying_to_the_own_app(proxied: tuple[Sidecar, Sidecar]) -> None:
    app, _ = proxied
    answer, rpc = raw(app, "/test.Echo/Say").with_call(b"hi", metadata=[("dapr-app-id", "gapp"), ("x-custom", "c")],
                                                        timeout=30)  # fmt: skip
    seen = json.loads(answer)
    assert (seen["body"], seen["metadata"]["x-custom"], seen["metadata"]["dapr-api-token"]) == ("hi", "c", APP_TOKEN)
    assert "dapr-caller-app-id" not in seen["metadata"]
    assert ("x-said", "yes") in tuple(rpc.initial_metadata())
    with pytest.raises(grpc.RpcError) as failed:
        raw(app, "/test.Echo/Say")(b"fail", metadata=[("dapr-app-id", "gapp")], timeout=30)
    assert (failed.value.code(), failed.value.details()) == (  # type: ignore[attr-defined]
        grpc.StatusCode.NOT_FOUND, "no such thing")


def test_grpc_proxying_through_another_sidecar_and_streams(proxied: tuple[Sidecar, Sidecar]) -> None:
    _, caller = proxied
    seen = json.loads(raw(caller, "/test.Echo/Say")(b"yo", metadata=[("dapr-app-id", "gapp")], timeout=30))
    assert (seen["metadata"]["dapr-caller-app-id"], seen["metadata"]["dapr-callee-app-id"]) == ("gcaller", "gapp")
    chat = grpc.insecure_channel(f"127.0.0.1:{caller.grpc_port}").stream_stream("/test.Echo/Chat")
    assert list(chat(iter([b"a", b"b", b"c"]), metadata=[("dapr-app-id", "gapp")], timeout=30)) == [b"A", b"B", b"C"]


def test_grpc_proxying_without_an_app_id(proxied: tuple[Sidecar, Sidecar]) -> None:
    app, _ = proxied
    with pytest.raises(grpc.RpcError) as failed:
        raw(app, "/test.Echo/Say")(b"hi", timeout=30)
    assert (failed.value.code(), failed.value.details()) == (grpc.StatusCode.UNKNOWN,  # type: ignore[attr-defined]
        "cannot proxy request: missing dapr-callee-app-id or dapr-app-id metadata")  # fmt: skip


def test_grpc_proxying_to_an_unknown_app(proxied: tuple[Sidecar, Sidecar]) -> None:
    app, _ = proxied
    with pytest.raises(grpc.RpcError) as failed:
        raw(app, "/test.Echo/Say")(b"hi", metadata=[("dapr-app-id", "nobody-here")], timeout=30)
    assert failed.value.code() == grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
    # daprd's mDNS answers either, depending on its browse timing (seen: the second on a first lookup here).
    assert failed.value.details() in (  # type: ignore[attr-defined]
        "couldn't find service: nobody-here", "timeout waiting for address for app id nobody-here")


def test_one_app_invokes_a_grpc_app_by_app_id(pair: tuple[Sidecar, Sidecar], grpc_sidecar: Sidecar) -> None:
    a, _ = pair
    status, answer, body = call(a, "POST", "/v1.0/invoke/gsvc/method/hello", b"{}", {"Content-Type": "text/plain"})
    md = json.loads(body)["metadata"]
    assert status == 200 and (md["dapr-caller-app-id"], md["dapr-callee-app-id"]) == ("appa", "gsvc")
    assert md["dapr-api-token"] == APP_TOKEN and md["dapr-content-type"] == "text/plain"
    assert values(answer, "x-served-by") == ["gsvc"]
    response, initial = grpc_invoke(a, "gsvc", "shout", b"far", "text/plain")
    assert response.data.value == b"FAR" and "traceparent" in initial
    with pytest.raises(grpc.RpcError) as failed:
        grpc_invoke(a, "gsvc", "boom")
    assert (failed.value.code(), failed.value.details()) == (  # type: ignore[attr-defined]
        grpc.StatusCode.UNKNOWN, "Exception calling application: kaboom")
