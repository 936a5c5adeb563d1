"""Hostile JSON against the sandbox: deep nesting, numbers beyond float64, lone surrogates, odd query pages.

Every answer is daprd's: Go decodes 10,000 levels and refuses deeper input (400), refuses ``1e400``
(400), turns lone surrogates into U+FFFD, and reports a query it cannot parse as a failed query
(``ERR_STATE_QUERY`` / INTERNAL with ``DAPR_STATE_QUERY_FAILED``) — never ERR_INTERNAL / UNKNOWN.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2, state_pb2
from grpc_status import rpc_status

from dapr_nb.sandbox import Sandbox, gojson


def nested(depth: int, leaf: str = "1") -> str:
    """Return ``[[[…leaf…]]]`` nested ``depth`` arrays deep."""
    return "[" * depth + leaf + "]" * depth


def deep_filter(depth: int) -> str:
    """Return a query body whose filter nests AND ``depth`` levels deep."""
    unit = '{"EQ":{"a":1}}'
    return '{"filter":' + '{"AND":[' * depth + unit + f',{unit}]}}' * depth + "}"


def http(sb: Sandbox, method: str, path: str, body: str | None = None) -> tuple[int, Any]:
    """Send a request; return (status, decoded JSON body or raw bytes)."""
    data = body.encode("utf-8", "surrogatepass") if body is not None else None
    request = urllib.request.Request(sb.http_endpoint + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, gojson.loads(raw) if raw else None
    except ValueError:
        return status, raw


@pytest.fixture
def stub(sandbox: Sandbox) -> Iterator[Any]:
    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        yield dapr_pb2_grpc.DaprStub(channel)


def reason(error: grpc.RpcError) -> str:
    """Return the ErrorInfo reason of a Dapr error ('' when there is none)."""
    from google.rpc import error_details_pb2

    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return str(info.reason)
    return ""


# ------------------------------------------------------------------ the decoder and encoders


@pytest.mark.parametrize("depth", [1, 999, 5_000, gojson.MAX_DEPTH])
def test_deep_documents_round_trip(depth: int) -> None:
    arrays, objects = nested(depth), '{"a":' * depth + '"<x>"' + "}" * depth
    assert gojson.dumps(gojson.loads(arrays)) == arrays
    assert gojson.dumps(gojson.loads(objects), escape_html=False) == objects
    assert gojson.compact(gojson.loads(objects)) == objects
    assert gojson.dumps(gojson.loads_first(arrays + " trailing")) == arrays


def test_go_refusals_and_replacements() -> None:
    with pytest.raises(ValueError, match="exceeded max depth"):
        gojson.loads(nested(gojson.MAX_DEPTH + 1))
    for huge in ("1e400", "[-1E+400]", "1" + "0" * 400, nested(2_000, "1e400")):
        with pytest.raises(ValueError, match="cannot unmarshal number"):
            gojson.loads(huge)
    for broken in ("[NaN]", nested(2_000, "1,"), "[" * 2_000, '{"a" 1}'):
        with pytest.raises(ValueError):
            gojson.loads(broken)
    assert gojson.loads('{"\\ud800k": ["\\udfff", "\\ud83d\\ude00"]}') == {"\ufffdk": ["\ufffd", "\U0001f600"]}
    assert gojson.loads(b'"\xed\xa0\x80"') == "\ufffd" * 3  # invalid UTF-8 in a string, byte by byte
    deep = gojson.loads(nested(3_000, '"\\ud800"'))
    for _ in range(3_000):
        deep = deep[0]
    assert deep == "\ufffd"


# ------------------------------------------------------------------ HTTP


def test_http_state_takes_what_go_decodes(sandbox: Sandbox, unique: Any) -> None:
    key = unique("deep")
    for depth in (1_000, 9_000):
        body = json.dumps([{"key": key, "value": 0}]).replace("0}", nested(depth) + "}")
        assert http(sandbox, "POST", "/v1.0/state/statestore", body)[0] == 204
        status, value = http(sandbox, "GET", f"/v1.0/state/statestore/{key}")
        assert status == 200 and gojson.dumps(value) == nested(depth)
    too_deep = json.dumps([{"key": key, "value": 0}]).replace("0}", nested(20_000) + "}")
    for body in (too_deep, f'[{{"key":"{key}","value":1e400}}]'):
        status, error = http(sandbox, "POST", "/v1.0/state/statestore", body)
        assert (status, error["errorCode"]) == (400, "ERR_MALFORMED_REQUEST")


def test_http_lone_surrogate_key_becomes_replacement_char(sandbox: Sandbox, unique: Any) -> None:
    key = unique("s")
    assert http(sandbox, "POST", "/v1.0/state/statestore", f'[{{"key":"\\ud800{key}","value":1}}]')[0] == 204
    status, items = http(sandbox, "POST", "/v1.0/state/statestore/bulk", f'{{"keys":["\\udfff{key}"]}}')
    assert status == 200 and items[0]["key"] == f"\ufffd{key}" and items[0]["data"] == 1


def test_http_queries_fail_as_daprd_fails_them(sandbox: Sandbox) -> None:
    path = "/v1.0-alpha1/state/statestore/query"
    for body in ('{"page":{"limit":1e400}}', '{"page":{"limit":1e30}}', '{"page":{"limit":2.5}}', deep_filter(5_000)):
        status, error = http(sandbox, "POST", path, body)
        assert (status, error["errorCode"]) == (500, "ERR_STATE_QUERY"), body[:40]
        assert "failed to parse JSON query body" in error["message"]
    status, error = http(sandbox, "POST", path, '{"page":{"limit":1e400}}')
    assert "cannot unmarshal number 1e400 into Go struct field Pagination.page.limit of type int" in error["message"]
    assert http(sandbox, "POST", path, '{"x":' + nested(5_000) + '}')[0] == 200  # unknown fields are ignored


def test_http_query_matches_deep_values(sandbox: Sandbox, unique: Any) -> None:
    key, deep = unique("q"), nested(3_000)
    body = f'[{{"key":"{key}","value":{{"v":{deep}}},"metadata":{{"contentType":"application/json"}}}}]'
    assert http(sandbox, "POST", "/v1.0/state/statestore", body)[0] == 204
    query = f'{{"filter":{{"EQ":{{"v":{deep}}}}},"sort":[{{"key":"v"}}]}}'
    status, page = http(sandbox, "POST", "/v1.0-alpha1/state/statestore/query", query)
    assert status == 200 and key in [row["key"] for row in page["results"]]


def test_http_publish_of_deep_json(sandbox: Sandbox, unique: Any) -> None:
    topic = unique("deep")
    assert http(sandbox, "POST", f"/v1.0/publish/pubsub/{topic}", nested(5_000))[0] == 204
    entry = json.dumps([{"entryId": "a", "event": 0, "contentType": "application/json"}])
    entry = entry.replace("0,", nested(3_000) + ",")
    assert http(sandbox, "POST", f"/v1.0-alpha1/publish/bulk/pubsub/{topic}", entry)[0] == 204


# ------------------------------------------------------------------ gRPC


def test_grpc_query_pages_and_filters(stub: Any) -> None:
    for query in ('{"page":{"limit":1e400}}', deep_filter(5_000)):
        with pytest.raises(grpc.RpcError) as failed:
            stub.QueryStateAlpha1(state_pb2.QueryStateRequest(store_name="statestore", query=query))
        assert failed.value.code() == grpc.StatusCode.INTERNAL
        assert reason(failed.value) == "DAPR_STATE_QUERY_FAILED"


def test_grpc_deep_json_values(stub: Any, unique: Any) -> None:
    key, value = unique("g"), nested(5_000).encode()
    item = common_pb2.StateItem(key=key, value=value, metadata={"contentType": "application/json"})
    stub.SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=[item]))
    assert stub.GetState(state_pb2.GetStateRequest(store_name="statestore", key=key)).data == value
    stub.PublishEvent(pubsub_pb2.PublishEventRequest(pubsub_name="pubsub", topic=unique("t"), data=value,
                                                     data_content_type="application/json"))  # fmt: skip
