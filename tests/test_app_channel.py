"""The sandbox's app channel through the official SDK, unmodified: FastAPI, Flask and gRPC apps, over real sockets.

Three sandboxes, each with its own app (``orders``: FastAPI, ``shop``: Flask, ``grpcsvc``: a
``dapr.ext.grpc.App``), find each other by app id through the session's name-resolution directory:
an invocation from ``orders`` of ``shop`` goes orders' sidecar → shop's sidecar → shop's app.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from dapr.clients import DaprClient
from dapr.clients.exceptions import DaprHttpError
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dapr_nb.errors import DaprError
from dapr_nb.sandbox import Sandbox, SandboxStartError
from dapr_nb.sandbox.appchannel import direct, nameres
from dapr_nb.sandbox.appchannel.health import HealthSettings
from dapr_nb.sandbox.appchannel.pool import ConnectionPool
from tests.apps import (
    TRACEPARENT,
    fastapi_app,
    flask_app,
    free_port,
    grpc_app,
    serve_asgi,
    serve_grpc,
    serve_raw_grpc,
    serve_wsgi,
)
from tests.clienthelp import async_client_for, client_for, run
from tests.conftest import point_sdk_at

APP_TOKEN = "app-secret-token"
pytestmark = pytest.mark.filterwarnings(
    # The SDK's sync HTTP invoke_method makes a new event loop per call and never closes it (nor its sockets).
    "ignore::pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Sandbox ``orders`` with a FastAPI app (and an app token for it)."""
    with serve_asgi(fastapi_app("orders")) as port, Sandbox(
        app_id="orders", app_port=port, app_api_token=APP_TOKEN, data_dir=tmp_path_factory.mktemp("orders")
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Sandbox ``shop`` with a Flask app."""
    with serve_wsgi(flask_app("shop")) as port, Sandbox(
        app_id="shop", app_port=port, data_dir=tmp_path_factory.mktemp("shop")
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def grpcsvc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Sandbox ``grpcsvc`` with a ``dapr.ext.grpc.App``."""
    with serve_grpc(grpc_app("grpcsvc")) as port, Sandbox(
        app_id="grpcsvc", app_port=port, app_protocol="grpc", data_dir=tmp_path_factory.mktemp("grpcsvc")
    ) as sb:
        yield sb


@pytest.fixture
def via(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Return a function that points the SDK at a sandbox, over HTTP (default) or gRPC invocation."""

    def point(sb: Sandbox, protocol: str = "http") -> DaprClient:
        point_sdk_at(monkeypatch, sb)
        monkeypatch.setenv("DAPR_API_METHOD_INVOCATION_PROTOCOL", protocol)
        return DaprClient()

    yield point
    # The SDK's sync HTTP invoke_method leaves a new event loop set as current: close it here, in this test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:  # this test made no HTTP invocation
            loop = None
    if loop is not None:
        loop.close()
    asyncio.set_event_loop(None)
    gc.collect()


def test_fastapi_app_answers_invoke_method_with_headers_query_and_body(orders: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(orders) as client:
        query = (("a", "1"), ("b", "x y"))
        resp = client.invoke_method("orders", "hello", data=b"ping", http_verb="PUT", http_querystring=query,
                                    metadata=(("x-custom", "c1"),))  # fmt: skip
    seen = json.loads(resp.data)
    assert (resp.status_code, seen["app"], seen["verb"], seen["body"]) == (200, "orders", "PUT", "ping")
    assert seen["query"] == "a=1&b=x+y"
    assert seen["headers"]["x-custom"] == "c1"
    assert seen["headers"]["dapr-api-token"] == APP_TOKEN  # APP_API_TOKEN reaches the app, as daprd sends it
    assert "dapr-caller-app-id" not in seen["headers"]  # a sidecar's own app: no caller headers, as daprd
    assert _header(resp, "x-served-by") == ["orders"]
    assert _header(resp, "traceparent")[0].startswith("00-")


def test_status_codes_and_response_headers_pass_through(orders: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(orders) as client:
        made = client.invoke_method("orders", "orders/7", data=json.dumps({"qty": 2}), http_verb="POST")
        assert (made.status_code, made.json(), _header(made, "location")) == (201, {"id": "7", "qty": 2}, ["/orders/7"])
        with pytest.raises(DaprHttpError) as failed:
            client.invoke_method("orders", "fail", data=b"", http_verb="GET")
    assert failed.value.status_code == 503


def test_flask_app_is_invoked_from_another_sandbox_with_caller_headers(orders: Sandbox, shop: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(orders) as client:
        resp = client.invoke_method("shop", "hello", data=b"hi", http_verb="POST",
                                    metadata=(("traceparent", TRACEPARENT), ("x-custom", "c2")))  # fmt: skip
        made = client.invoke_method("shop", "orders/9", data=json.dumps({"qty": 1}), http_verb="POST")
    seen = json.loads(resp.data)
    assert (seen["app"], seen["verb"], seen["body"]) == ("shop", "POST", "hi")
    headers = seen["headers"]
    assert (headers["dapr-caller-app-id"], headers["dapr-callee-app-id"], headers["dapr-caller-namespace"]) == (
        "orders", "shop", "default")  # fmt: skip
    assert headers["x-custom"] == "c2" and "x-forwarded-for" in headers and "forwarded" in headers
    assert "dapr-api-token" not in headers  # shop has no app token; orders' never leaves orders
    trace_id = TRACEPARENT.split("-")[1]
    assert headers["traceparent"].split("-")[1] == trace_id != headers["traceparent"].split("-")[2]
    assert _header(resp, "traceparent")[0].split("-")[1] == trace_id
    assert (made.status_code, _header(made, "location")) == (201, ["/orders/9"])


def test_the_other_way_round_over_grpc(orders: Sandbox, shop: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(shop, "grpc") as client:
        resp = client.invoke_method("orders", "hello", data=b"from-shop", http_verb="DELETE",
                                    http_querystring=(("k", "v"),))  # fmt: skip
        with pytest.raises(grpc.RpcError) as failed:
            client.invoke_method("orders", "fail", data=b"", http_verb="GET")
    seen = json.loads(resp.data)
    assert (seen["app"], seen["verb"], seen["query"], seen["body"]) == ("orders", "DELETE", "k=v", "from-shop")
    assert (seen["headers"]["dapr-caller-app-id"], seen["headers"]["dapr-api-token"]) == ("shop", APP_TOKEN)
    assert _header(resp, "dapr-http-status") == ["200"]
    assert _header(resp, "x-served-by") == ["orders"]
    error = failed.value
    assert (error.code().name, error.details()) == ("UNAVAILABLE", "Service Unavailable")
    info = _error_info(error)
    assert info.reason == "Service Unavailable"
    assert dict(info.metadata) == {"http.code": "503", "http.error_message": "try later"}


def test_grpc_app_method_over_http_and_grpc(grpcsvc: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(grpcsvc) as client:
        over_http = client.invoke_method("grpcsvc", "hello", data=b"x", content_type="text/plain",
                                         http_verb="POST", http_querystring=(("q", "1"),))  # fmt: skip
        with pytest.raises(DaprHttpError) as boom:
            client.invoke_method("grpcsvc", "boom", data=b"", http_verb="POST")
    with via(grpcsvc, "grpc") as client:
        over_grpc = client.invoke_method("grpcsvc", "shout", data=b"quiet", content_type="text/plain")
    seen = json.loads(over_http.data)
    assert (seen["app"], seen["content_type"], seen["body"]) == ("grpcsvc", "text/plain", "x")
    assert seen["metadata"]["dapr-content-type"] == "text/plain"  # HTTP's permanent headers get a dapr- prefix
    assert _header(over_http, "x-served-by") == ["grpcsvc"]
    assert boom.value.status_code == 500
    assert json.loads(boom.value._raw_response_bytes) == {"code": 2, "message": "Exception calling application: kaboom"}
    assert over_grpc.data == b"QUIET"


def test_grpc_app_invoked_from_another_sandbox(orders: Sandbox, grpcsvc: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(orders, "grpc") as client:
        resp = client.invoke_method("grpcsvc", "hello", data=b"{}", content_type="application/json")
        with pytest.raises(grpc.RpcError) as missing:
            client.invoke_method("grpcsvc", "nope", data=b"")
    seen = json.loads(resp.data)
    assert (seen["metadata"]["dapr-caller-app-id"], seen["metadata"]["dapr-callee-app-id"]) == ("orders", "grpcsvc")
    assert _header(resp, "x-served-by") == ["grpcsvc"]
    assert missing.value.code().name == "UNIMPLEMENTED"


def test_unknown_app_id_gives_daprds_error(orders: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(orders) as client, pytest.raises(DaprHttpError) as over_http:
        client.invoke_method("ghost", "hello", data=b"", http_verb="GET")
    with via(orders, "grpc") as client, pytest.raises(grpc.RpcError) as over_grpc:
        client.invoke_method("ghost", "hello", data=b"")
    assert over_http.value.status_code == 500
    assert over_http.value.error_code == "ERR_DIRECT_INVOKE"
    assert over_http.value.message == "failed to invoke, id: ghost, err: couldn't find service: ghost"
    assert over_grpc.value.details() == "failed to invoke, id: ghost, err: couldn't find service: ghost"


def test_metadata_reports_the_app_connection(orders: Sandbox, grpcsvc: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(orders) as client:
        meta = client.get_metadata()
    with via(grpcsvc) as client:
        grpc_meta = client.get_metadata()
    assert meta.application_id == "orders"
    props = json.loads(_http_get(orders, "/v1.0/metadata"))["appConnectionProperties"]
    assert props == {"port": props["port"], "protocol": "http", "channelAddress": "127.0.0.1"} and props["port"] > 0
    assert json.loads(_http_get(grpcsvc, "/v1.0/metadata"))["appConnectionProperties"]["protocol"] == "grpc"
    assert grpc_meta.application_id == "grpcsvc"


def test_a_stopped_sandbox_leaves_the_registry(make_sandbox, via) -> None:  # type: ignore[no-untyped-def]
    caller = make_sandbox(app_id="caller")
    with serve_wsgi(flask_app("brief")) as port:
        brief = make_sandbox(app_id="brief", app_port=port)
        with via(caller) as client:
            assert client.invoke_method("brief", "hello", data=b"", http_verb="GET").json()["app"] == "brief"
        brief.stop()
    assert nameres.Registry().lookup("brief") is None
    with via(caller) as client, pytest.raises(DaprHttpError) as gone:
        client.invoke_method("brief", "hello", data=b"", http_verb="GET")
    assert gone.value.message == "failed to invoke, id: brief, err: couldn't find service: brief"


def test_entries_of_dead_processes_are_ignored(tmp_path: Path) -> None:
    registry = nameres.Registry(tmp_path)
    dead = nameres.Entry("ghost", 2**22 + 17, "127.0.0.1", 1, 2, "s")  # beyond pid_max: never a live process
    registry.register(dead)
    assert registry.lookup("ghost") is None
    assert list(tmp_path.iterdir()) == []  # the stale entry is removed when seen


def test_without_an_app_port_the_own_app_id_keeps_daprds_error(sandbox: Sandbox, via) -> None:  # type: ignore[no-untyped-def]
    with via(sandbox) as client, pytest.raises(DaprHttpError) as failed:
        client.invoke_method(sandbox.app_id, "hello", data=b"", http_verb="GET")
    assert failed.value.message.endswith("err: cannot invoke local endpoint: app channel not initialized")


def test_start_waits_for_the_app_port_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(SandboxStartError, match=rf"did not listen on 127\.0\.0\.1:{port}"):
        Sandbox(app_id="late", app_port=port, app_wait_timeout=0.5, data_dir=tmp_path, start_timeout=30).start()


def _error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    """Return the ErrorInfo detail of a gRPC error."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info


def _header(resp: object, name: str) -> list[str]:
    """Return the values of a response header, whatever case the sidecar wrote its name in."""
    found = {k.lower(): v for k, v in resp.headers.items()}  # type: ignore[attr-defined]
    return list(found[name])


def _http_get(sb: Sandbox, path: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(f"{sb.http_endpoint}{path}", timeout=10) as resp:  # noqa: S310 - loopback sandbox
        return bytes(resp.read())


def test_a_token_protected_sandbox_is_reached_through_the_hop_secret(make_sandbox, via) -> None:  # type: ignore[no-untyped-def]
    caller = make_sandbox(app_id="tok-caller", api_token="caller-token")
    with serve_wsgi(flask_app("guarded")) as port:
        guarded = make_sandbox(app_id="guarded", app_port=port, api_token="guarded-token")
        with via(caller) as client:
            seen = client.invoke_method("guarded", "hello", data=b"", http_verb="GET").json()
        assert seen["app"] == "guarded" and "dapr-api-token" not in seen["headers"]  # neither sidecar's token
        status, _ = _post(guarded, direct.INTERNAL_PATH, b"{}", {direct.SECRET_HEADER: "guess"})
        assert status == 401
        status, _ = _post(guarded, "/v1.0/invoke/guarded/method/hello", b"", {})
        assert status == 401  # the public route still wants the API token


def test_registry_entries_are_private_to_the_user(tmp_path: Path) -> None:
    registry = nameres.Registry(tmp_path / "nr")
    registry.register(nameres.Entry("me", os.getpid(), "127.0.0.1", 1, 2, "secret"))
    (entry,) = (tmp_path / "nr").iterdir()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "nr").stat().st_mode) == 0o700
    assert registry.lookup("me") == nameres.Entry("me", os.getpid(), "127.0.0.1", 1, 2, "secret")
    registry.unregister()
    assert registry.lookup("me") is None


def test_the_pool_resends_on_a_connection_the_app_closed_while_idle() -> None:
    answered: list[int] = []

    def serve_one_per_connection(listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                answered.append(1)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive, then hangs up

    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=serve_one_per_connection, args=(listener,), daemon=True).start()
    pool = ConnectionPool("127.0.0.1", listener.getsockname()[1], timeout=5)
    try:
        for _ in range(3):
            assert pool.request("GET", "/", [], b"").body == b"ok"
    finally:
        pool.close()
        listener.close()
    assert len(answered) == 3


def _post(sb: Sandbox, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", sb.http_port, timeout=10)
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_the_command_line_takes_app_port_from_the_environment(tmp_path: Path) -> None:
    with serve_wsgi(flask_app("envapp")) as port:
        env = {**os.environ, "APP_PORT": str(port), "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, "-m", "dapr_nb.sandbox", "--grpc-port", "0", "--http-port", "0", "--app-id", "envapp",
                "--data-dir", str(tmp_path)]  # fmt: skip
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            http_port = int(line.split("http=")[1].split()[0].rsplit(":", 1)[1])
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            conn.request("GET", "/v1.0/invoke/envapp/method/hello")
            seen = json.loads(conn.getresponse().read())
            conn.close()
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
    assert seen["app"] == "envapp"


def test_grpc_proxying_into_a_token_protected_sandbox(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    with serve_raw_grpc() as port:
        guarded = make_sandbox(app_id="gguard", app_port=port, app_protocol="grpc", api_token="g-token")
        caller = make_sandbox(app_id="gcall")
        say = grpc.insecure_channel(f"127.0.0.1:{caller.grpc_port}").unary_unary("/test.Echo/Say")
        seen = json.loads(say(b"x", metadata=[("dapr-app-id", "gguard")], timeout=10))
        assert seen["metadata"]["dapr-caller-app-id"] == "gcall"
        assert direct.SECRET_HEADER not in seen["metadata"] and "dapr-api-token" not in seen["metadata"]
        direct_say = grpc.insecure_channel(f"127.0.0.1:{guarded.grpc_port}").unary_unary("/test.Echo/Say")
        with pytest.raises(grpc.RpcError) as denied:
            direct_say(b"x", metadata=[("dapr-app-id", "gguard")], timeout=10)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        secret = nameres.Registry().lookup("gguard")
        assert secret is not None
        api = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{guarded.grpc_port}"))
        with pytest.raises(grpc.RpcError) as still_denied:  # the hop secret opens proxying only, not the Dapr API
            api.GetMetadata(metadata_pb2.GetMetadataRequest(), metadata=[(direct.SECRET_HEADER, secret.secret)])
        assert still_denied.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_dapr_nb_clients_invoke_the_apps(orders: Sandbox, shop: Sandbox) -> None:
    with client_for(orders) as client:
        made = client.invoke_method("shop", "orders/5", {"qty": 3})
        with pytest.raises(DaprError) as failed:
            client.invoke_method("orders", "fail")
    assert (made.status, made.data, made.headers.get("location")) == (201, {"id": "5", "qty": 3}, "/orders/5")
    assert failed.value.http_status == 503

    async def over_aio() -> object:
        async with async_client_for(shop) as aio:
            return (await aio.invoke_method("orders", "hello", verb="GET", query={"q": "1"})).data

    seen = run(over_aio())
    assert isinstance(seen, dict) and (seen["app"], seen["query"]) == ("orders", "q=1")


def test_health_checks_of_a_grpc_app(make_sandbox, via) -> None:  # type: ignore[no-untyped-def]
    app = grpc_app("healthy")
    app.register_health_check(lambda: None)  # without one the SDK answers UNIMPLEMENTED: unhealthy, as for daprd
    with serve_grpc(app) as port:
        health = HealthSettings(interval=1.0, timeout=0.5, threshold=1)
        sb = make_sandbox(app_id="healthy", app_port=port, app_protocol="grpc", app_health=health)
        with via(sb, "grpc") as client:
            assert client.invoke_method("healthy", "shout", data=b"ok").data == b"OK"
        props = json.loads(_http_get(sb, "/v1.0/metadata"))["appConnectionProperties"]
    assert props["health"] == {"healthProbeInterval": "1s", "healthProbeTimeout": "500ms", "healthThreshold": 1}


def test_an_in_process_sandbox_with_an_app(tmp_path: Path) -> None:
    with serve_wsgi(flask_app("inproc")) as port, Sandbox(
        app_id="inproc", app_port=port, in_process=True, data_dir=tmp_path
    ) as sb:
        conn = http.client.HTTPConnection("127.0.0.1", sb.http_port, timeout=10)
        conn.request("GET", "/v1.0/invoke/inproc/method/hello?k=v")
        seen = json.loads(conn.getresponse().read())
        conn.close()
        assert nameres.Registry().lookup("inproc") is not None
    assert (seen["app"], seen["query"]) == ("inproc", "k=v")
    assert nameres.Registry().lookup("inproc") is None
