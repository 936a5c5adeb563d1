"""The app channel's pure parts without a network: header translation, method cleaning, spans, rendering, JSON hop."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import error_details_pb2

from dapr_nb.sandbox.appchannel import headers, render
from dapr_nb.sandbox.appchannel.channel import ChannelError, clean_method, go_clean
from dapr_nb.sandbox.appchannel.health import AppHealth, HealthSettings
from dapr_nb.sandbox.appchannel.messages import InvokeRequest, InvokeResult, child_traceparent

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_headers_towards_an_http_app() -> None:
    sent = headers.to_http((
        ("X-Custom", "1"), ("Content-Type", "a/b"), ("Content-Length", "3"), ("traceparent", PARENT),
        ("Connection", "keep-alive, X-Hop"), ("X-Hop", "gone"), ("Transfer-Encoding", "chunked"),
        (":authority", "h:1"), ("grpc-accept-encoding", "gzip"), ("x-bin-bin", "AAA="), ("Host", "h"),
    ))  # fmt: skip
    assert sent == (("X-Custom", "1"), ("Dapr-Authority", "h:1"), ("Dapr-Grpc-Accept-Encoding", "gzip"))


def test_headers_towards_grpc() -> None:
    from_http = headers.to_grpc((("Accept", "t/h"), ("X-Custom", "c"), ("Host", "h"), ("Content-Type", "a/b")), True)
    assert from_http == (("dapr-accept", "t/h"), ("x-custom", "c"), ("dapr-content-type", "a/b"))
    from_grpc = headers.to_grpc((("user-agent", "u"), ("x-meta", "m"), ("content-type", "application/grpc")), False)
    assert from_grpc == (("x-meta", "m"),)


@pytest.mark.parametrize(
    "method, cleaned",
    [("a/../b//c", "b/c"), ("", ""), (".", ""), ("../../x", "x"), ("..", ""), ("/abs/./p", "/abs/p"), ("m", "m")],
)
def test_methods_are_cleaned_like_go(method: str, cleaned: str) -> None:
    assert clean_method(method) == cleaned


def test_forbidden_method_characters() -> None:
    with pytest.raises(ChannelError) as bad:
        clean_method("a\x01b")
    assert bad.value.reason.startswith("rpc error: code = InvalidArgument desc = invalid method: ")
    assert go_clean("//x/") == "/x"


def test_spans_continue_the_callers_trace() -> None:
    child = child_traceparent(PARENT)
    assert child.split("-")[1] == PARENT.split("-")[1] and child.split("-")[2] != PARENT.split("-")[2]
    fresh = child_traceparent("not a traceparent")
    assert len(fresh.split("-")[1]) == 32 and fresh.endswith("-01")


def test_the_hop_round_trips_requests_and_results() -> None:
    request = InvokeRequest("m", "PUT", "a=1", "t/p", b"\x00\xff", "type/x", (("k", "v"),), True, PARENT)
    assert InvokeRequest.from_json(json.loads(json.dumps(request.to_json()))) == request
    result = InvokeResult(404, True, (("X", "1"),), "t/p", b"nope", "", "", (b"\x01",), (("t", "2"),), PARENT)
    assert InvokeResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_an_http_error_for_a_grpc_caller() -> None:
    answer = render.for_grpc(InvokeResult(503, True, (("Date", "d"),), "text/plain", b"x" * 100))
    assert (answer.code, answer.message) == (grpc.StatusCode.UNAVAILABLE, "Service Unavailable")
    assert ("dapr-date", "d") in answer.initial and ("dapr-http-status", "503") in answer.initial
    info = error_details_pb2.ErrorInfo()
    assert answer.status().details[0].Unpack(info)
    assert dict(info.metadata) == {"http.code": "503", "http.error_message": "x" * 63}


def test_a_grpc_failure_for_an_http_caller() -> None:
    answer = render.for_http(InvokeResult(5, False, message="gone"))
    assert (answer.status, answer.content_type, json.loads(answer.body)) == (
        404, "text/plain; charset=utf-8", {"code": 5, "message": "gone"})  # fmt: skip


def test_health_needs_threshold_failures_in_a_row() -> None:
    verdicts = iter([True, False, False, True, False, False, False])
    health = AppHealth(HealthSettings(threshold=3), lambda timeout: next(verdicts))
    assert not health.healthy  # unhealthy until the first probe succeeds, as daprd
    seen = []
    for _ in range(7):
        health.probe_once()
        seen.append(health.healthy)
    assert seen == [True, True, True, True, True, True, False]
    assert HealthSettings(interval=60.0, timeout=1.5).metadata("grpc") == {
        "healthProbeInterval": "1m0s", "healthProbeTimeout": "1.5s", "healthThreshold": 3}  # fmt: skip
