"""The state building block through the official SDK (sync and aio), a raw gRPC stub and daprd's HTTP API.

Expected codes, messages and reasons are daprd's (pkg/api/errors/state.go, pkg/messages) and
components-contrib state.sqlite's. Most tests use the shared default sandbox (store ``statestore``) with
keys unique to the test; ``stores`` is a sandbox of this module with several state components.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from _waiting import wait_until
from dapr.clients import DaprClient
from dapr.clients.exceptions import DaprGrpcError, DaprInternalError
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import Concurrency, StateItem, StateOptions
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

from dapr_nb.sandbox import Sandbox

MISMATCH = "possible etag mismatch. error from state store"

# query_state warns on every call with a text pyproject's ignore patterns do not cover.
pytestmark = pytest.mark.filterwarnings("ignore:The State Store Query API is an Alpha version:UserWarning")

STORES_YAML = """\
kind: Component
metadata: {name: statestore}
spec:
  type: state.sqlite
  metadata:
  - {name: connectionString, value: state.db}
---
kind: Component
metadata: {name: memstore}
spec: {type: state.in-memory}
---
kind: Component
metadata: {name: byname}
spec:
  type: state.sqlite
  metadata:
  - {name: connectionString, value: shared.db}
  - {name: keyPrefix, value: name}
---
kind: Component
metadata: {name: literal}
spec:
  type: state.sqlite
  metadata:
  - {name: connectionString, value: "file:shared.db"}
  - {name: keyPrefix, value: MyPrefix}
---
kind: Component
metadata: {name: noprefix}
spec:
  type: state.sqlite
  metadata:
  - {name: connectionString, value: shared.db}
  - {name: keyPrefix, value: none}
  - {name: tableName, value: plain}
"""


def http(
    sb: Sandbox, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """Call daprd's HTTP API; ``body`` is JSON-encoded unless it is bytes."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(sb.http_endpoint + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers.items())


def stub_for(sb: Sandbox) -> tuple[grpc.Channel, Any]:
    """Return a channel and a raw generated stub (for what the SDK does not expose)."""
    channel = grpc.insecure_channel(sb.grpc_endpoint)
    return channel, dapr_pb2_grpc.DaprStub(channel)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox with a file store, an in-memory store and three stores sharing a file with other key prefixes."""
    resources = tmp_path_factory.mktemp("state-resources")
    (resources / "stores.yaml").write_text(STORES_YAML, encoding="utf-8")
    with Sandbox(resources_path=resources, data_dir=tmp_path_factory.mktemp("state-data"), app_id="shop") as sb:
        yield sb


@pytest.fixture
def client_for(point_sdk: Callable[[Sandbox], None]) -> Iterator[Callable[[Sandbox], Any]]:
    """Open official sync clients on any sandbox; all are closed after the test."""
    opened: list[Any] = []

    def open_client(sb: Sandbox) -> Any:
        point_sdk(sb)
        client = DaprClient()
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


# --- basics through the official sync client -------------------------------------------------------------


def test_save_get_delete_round_trip(dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("order")
    assert dapr_client.get_state("statestore", key).data == b""
    dapr_client.save_state("statestore", key, b"\x00binary\xff")
    first = dapr_client.get_state("statestore", key)
    assert first.data == b"\x00binary\xff" and first.etag
    dapr_client.save_state("statestore", key, "text")
    second = dapr_client.get_state("statestore", key)
    assert second.data == b"text" and second.etag != first.etag
    dapr_client.delete_state("statestore", key)
    gone = dapr_client.get_state("statestore", key)
    assert (gone.data, gone.etag) == (b"", "")
    dapr_client.delete_state("statestore", key)  # deleting a missing key without etag is fine


def test_bulk_save_and_get_keep_request_order(dapr_client: Any, unique: Callable[[str], str]) -> None:
    keys = [unique(f"bulk-{i}") for i in range(3)]
    dapr_client.save_bulk_state("statestore", [StateItem(key=k, value=f"v{i}") for i, k in enumerate(keys)])
    missing = unique("missing")
    items = dapr_client.get_bulk_state("statestore", [keys[2], missing, keys[0], keys[1]], parallelism=2).items
    assert [i.key for i in items] == [keys[2], missing, keys[0], keys[1]]
    assert [i.data for i in items] == [b"v2", b"", b"v0", b"v1"]
    assert items[1].etag == "" and all(i.etag for i in items if i.key != missing)


def test_etag_mismatch_aborts_save_and_delete(dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("etag")
    dapr_client.save_state("statestore", key, "v1")
    etag = dapr_client.get_state("statestore", key).etag
    with pytest.raises(DaprGrpcError) as saving:
        dapr_client.save_state("statestore", key, "v2", etag="not-the-etag")
    assert saving.value.code() == grpc.StatusCode.ABORTED
    assert saving.value.details() == f"failed saving state in state store statestore: {MISMATCH}"
    assert saving.value.error_code() == "ERR_STATE_SAVE"
    with pytest.raises(DaprGrpcError) as deleting:
        dapr_client.delete_state("statestore", key, etag="not-the-etag")
    assert deleting.value.code() == grpc.StatusCode.ABORTED
    assert deleting.value.details() == f"failed deleting state with key {key}: {MISMATCH}"
    assert deleting.value.error_code() == "ERR_STATE_DELETE"
    assert dapr_client.get_state("statestore", key).data == b"v1"
    dapr_client.save_state("statestore", key, "v3", etag=etag)
    new_etag = dapr_client.get_state("statestore", key).etag
    with pytest.raises(DaprGrpcError):
        dapr_client.save_state("statestore", key, "stale", etag=etag)
    dapr_client.save_state("statestore", key, "unconditional", etag="")  # an empty etag is no etag
    assert dapr_client.get_state("statestore", key).data == b"unconditional"
    with pytest.raises(DaprGrpcError):
        dapr_client.delete_state("statestore", key, etag=new_etag)
    dapr_client.delete_state("statestore", key, etag=dapr_client.get_state("statestore", key).etag)
    assert dapr_client.get_state("statestore", key).data == b""


def test_etag_on_a_missing_key_is_a_mismatch(dapr_client: Any, unique: Callable[[str], str]) -> None:
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_state("statestore", unique("never-saved"), "v", etag="some-etag")
    assert info.value.code() == grpc.StatusCode.ABORTED


def test_first_write_without_etag_is_insert_only(dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("first")
    first_write = StateOptions(concurrency=Concurrency.first_write)
    dapr_client.save_state("statestore", key, "one", options=first_write)
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_state("statestore", key, "two", options=first_write)
    assert info.value.code() == grpc.StatusCode.ABORTED and info.value.error_code() == "ERR_STATE_SAVE"
    etag = dapr_client.get_state("statestore", key).etag
    dapr_client.save_state("statestore", key, "three", etag=etag, options=first_write)
    assert dapr_client.get_state("statestore", key).data == b"three"


def test_several_items_are_saved_one_by_one(dapr_client: Any, unique: Callable[[str], str]) -> None:
    good, bad = unique("good"), unique("bad")
    dapr_client.save_state("statestore", bad, "v")
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_bulk_state("statestore", [StateItem(good, "saved"), StateItem(bad, "x", etag="wrong")])
    assert info.value.code() == grpc.StatusCode.ABORTED
    assert info.value.details() == f"failed saving state in state store statestore: {MISMATCH}: {MISMATCH}"
    assert dapr_client.get_state("statestore", good).data == b"saved"  # not a transaction, as in daprd


def test_empty_key_is_rejected(dapr_client: Any) -> None:
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_state("statestore", "", "v")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details(), info.value.error_code()) == ("state key cannot be empty", "ERR_STATE_SAVE")


def test_illegal_key_has_daprd_details(dapr_client: Any) -> None:
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_state("statestore", "a||b", "v")
    error = info.value
    message = "input key/keyPrefix 'a||b' can't contain '||'"
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details() == message
    assert error.error_code() == "DAPR_STATE_ILLEGAL_KEY"
    details = error.status_details()
    assert details.resource_info["resource_type"] == "state"
    assert details.resource_info["resource_name"] == "statestore"
    assert details.bad_request["field_violations"] == [{"field": "a||b", "description": message}]
    with pytest.raises(DaprGrpcError) as reading:
        dapr_client.get_state("statestore", "x||y")
    assert reading.value.error_code() == "DAPR_STATE_ILLEGAL_KEY"


def test_unknown_store_is_not_found(dapr_client: Any) -> None:
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.get_state("no-such-store", "k")
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "state store no-such-store is not found"
    assert error.error_code() == "DAPR_STATE_NOT_FOUND"
    assert error.status_details().resource_info is None  # daprd skips ResourceInfo here


def test_no_state_store_is_not_configured(
    make_sandbox: Callable[..., Sandbox], client_for: Callable[[Sandbox], Any], tmp_path: Path
) -> None:
    resources = tmp_path / "none"
    resources.mkdir()
    sb = make_sandbox(resources_path=resources)
    with pytest.raises(DaprGrpcError) as info:
        client_for(sb).save_state("statestore", "k", "v")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details() == "state store statestore is not configured"
    assert info.value.error_code() == "DAPR_STATE_NOT_CONFIGURED"
    status, body, _ = http(sb, "GET", "/v1.0/state/statestore/k")
    assert status == 500 and json.loads(body)["errorCode"] == "ERR_STATE_STORE_NOT_CONFIGURED"


def test_json_content_type_stores_the_json(dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("json")
    meta = {"contentType": "application/json"}
    dapr_client.save_state("statestore", key, '{"b": 2.0, "a": "<x>"}', state_metadata=meta)
    assert dapr_client.get_state("statestore", key).data == b'{"a":"\\u003cx\\u003e","b":2}'  # Go's json.Marshal
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_state("statestore", key, "not json", state_metadata=meta)
    assert info.value.code() == grpc.StatusCode.UNKNOWN


def test_capabilities_in_metadata(dapr_client: Any) -> None:
    registered = {c.name: c for c in dapr_client.get_metadata().registered_components}
    assert registered["statestore"].capabilities == ["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "QUERY_API", "ACTOR"]


# --- TTL ----------------------------------------------------------------------------------------------------


def test_ttl_expiry_and_expire_time(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    short, forever = unique("ttl-short"), unique("ttl-never")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    dapr_client.save_state("statestore", short, "soon gone", state_metadata={"ttlInSeconds": "1"})
    dapr_client.save_state("statestore", forever, "stays", state_metadata={"ttlInSeconds": "-1"})
    channel, stub = stub_for(sandbox)
    with channel:
        reply = stub.GetState(state_pb2.GetStateRequest(store_name="statestore", key=short), timeout=10)
        bulk = stub.GetBulkState(state_pb2.GetBulkStateRequest(store_name="statestore", keys=[short, forever]))
    assert reply.data == b"soon gone"
    expires = datetime.strptime(reply.metadata["ttlExpireTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert 0 <= (expires - before).total_seconds() <= 2
    assert bulk.items[0].metadata["ttlExpireTime"] == reply.metadata["ttlExpireTime"]
    assert "ttlExpireTime" not in bulk.items[1].metadata
    status, _, headers = http(sandbox, "GET", f"/v1.0/state/statestore/{short}")
    if status == 200:
        assert {k.lower(): v for k, v in headers.items()}["metadata.ttlexpiretime"] == reply.metadata["ttlExpireTime"]
    wait_until(lambda: not dapr_client.get_state("statestore", short).data, message="the 1 s TTL never expired")
    assert http(sandbox, "GET", f"/v1.0/state/statestore/{short}")[0] == 204
    assert dapr_client.get_bulk_state("statestore", [short]).items[0].data == b""
    assert dapr_client.get_state("statestore", forever).data == b"stays"
    dapr_client.save_state("statestore", short, "again", options=StateOptions(concurrency=Concurrency.first_write))


def test_bad_ttl_is_a_save_error(dapr_client: Any, unique: Callable[[str], str]) -> None:
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.save_state("statestore", unique("ttl"), "v", state_metadata={"ttlInSeconds": "soon"})
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == (
        "failed saving state in state store statestore: error parsing TTL: incorrect value for metadata "
        "'ttlInSeconds': strconv.ParseInt: parsing \"soon\": invalid syntax"
    )


# --- transactions ---------------------------------------------------------------------------------------------


def test_transaction_applies_all_or_nothing(dapr_client: Any, unique: Callable[[str], str]) -> None:
    keep, drop, new = unique("keep"), unique("drop"), unique("new")
    dapr_client.save_bulk_state("statestore", [StateItem(keep, "k0"), StateItem(drop, "d0")])
    dapr_client.execute_state_transaction(
        "statestore",
        [
            TransactionalStateOperation(key=keep, data="k1"),
            TransactionalStateOperation(key=new, data="n1"),
            TransactionalStateOperation(key=drop, operation_type=TransactionOperationType.delete),
        ],
    )
    values = {i.key: i.data for i in dapr_client.get_bulk_state("statestore", [keep, drop, new]).items}
    assert values == {keep: b"k1", drop: b"", new: b"n1"}
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.execute_state_transaction(
            "statestore",
            [
                TransactionalStateOperation(key=keep, data="k2"),
                TransactionalStateOperation(key=new, operation_type=TransactionOperationType.delete),
                TransactionalStateOperation(key=drop, data="d2", etag="stale"),
            ],
        )
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == f"error while executing state transaction: {MISMATCH}"
    assert info.value.error_code() == "ERR_STATE_TRANSACTION"
    after = {i.key: i.data for i in dapr_client.get_bulk_state("statestore", [keep, drop, new]).items}
    assert after == values


def test_transaction_rejects_unknown_operations(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    request = state_pb2.ExecuteStateTransactionRequest(
        storeName="statestore",
        operations=[
            state_pb2.TransactionalStateOperation(operationType="merge", request=common_pb2.StateItem(key="k"))
        ],
    )
    channel, stub = stub_for(sandbox)
    with channel, pytest.raises(grpc.RpcError) as info:
        stub.ExecuteStateTransaction(request, timeout=10)
    error = DaprGrpcError(info.value)
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert (error.details(), error.error_code()) == (
        "operation type merge not supported",
        "ERR_NOT_SUPPORTED_STATE_OPERATION",
    )


def test_delete_bulk_state_uses_item_etags(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    a, b = unique("del-a"), unique("del-b")
    dapr_client.save_bulk_state("statestore", [StateItem(a, "1"), StateItem(b, "2")])
    etag_a = dapr_client.get_state("statestore", a).etag
    channel, stub = stub_for(sandbox)
    items = [common_pb2.StateItem(key=a, etag=common_pb2.Etag(value=etag_a)), common_pb2.StateItem(key=b)]
    with channel:
        stub.DeleteBulkState(state_pb2.DeleteBulkStateRequest(store_name="statestore", states=items), timeout=10)
        dapr_client.save_state("statestore", a, "again")
        stale = [common_pb2.StateItem(key=a, etag=common_pb2.Etag(value=etag_a))]
        with pytest.raises(grpc.RpcError) as info:
            stub.DeleteBulkState(state_pb2.DeleteBulkStateRequest(store_name="statestore", states=stale), timeout=10)
    assert info.value.code() == grpc.StatusCode.ABORTED
    assert DaprGrpcError(info.value).error_code() == "ERR_STATE_BULK_DELETE"
    assert dapr_client.get_state("statestore", b).data == b""


# --- query ----------------------------------------------------------------------------------------------------


def _seed_people(client: Any, run: str) -> None:
    people = [
        ("alice", {"run": run, "age": 31, "person": {"org": "dev", "id": 3}}),
        ("bob", {"run": run, "age": 25, "person": {"org": "ops", "id": 1}}),
        ("carol", {"run": run, "age": 42, "person": {"org": "dev", "id": 5}}),
        ("dave", {"run": run, "age": 25, "person": {"org": "dev", "id": 2}}),
        ("erin", {"run": run, "age": 37, "person": {"org": "qa", "id": 4}}),
    ]
    client.save_bulk_state("statestore", [StateItem(f"{run}-{name}", json.dumps(doc)) for name, doc in people])


def test_query_filters_sorts_and_pages(dapr_client: Any, unique: Callable[[str], str]) -> None:
    run = unique("people")
    _seed_people(dapr_client, run)
    query = {
        "filter": {"AND": [{"EQ": {"run": run}}, {"IN": {"person.org": ["dev", "qa"]}}]},
        "sort": [{"key": "age", "order": "DESC"}, {"key": "person.id"}],
        "page": {"limit": 2},
    }
    keys: list[str] = []
    tokens: list[str] = []
    while True:
        page = dapr_client.query_state("statestore", json.dumps(query))
        keys += [r.key for r in page.results]
        if not page.token:
            break
        tokens.append(page.token)
        query["page"] = {"limit": 2, "token": page.token}
    assert keys == [f"{run}-{n}" for n in ("carol", "erin", "alice", "dave")]
    assert len(tokens) == 2 and len(set(tokens)) == 2
    first = dapr_client.query_state(
        "statestore", json.dumps({"filter": {"EQ": {"run": run}}, "sort": [{"key": "age"}]})
    )
    assert first.token == "" and first.results[0].key == f"{run}-bob"
    assert json.loads(first.results[0].value)["person"]["org"] == "ops" and first.results[0].etag


def test_query_comparisons(dapr_client: Any, unique: Callable[[str], str]) -> None:
    run = unique("cmp")
    _seed_people(dapr_client, run)

    def names(flt: dict[str, Any]) -> set[str]:
        body = {"filter": {"AND": [{"EQ": {"run": run}}, flt]}}
        return {r.key.rsplit("-", 1)[1] for r in dapr_client.query_state("statestore", json.dumps(body)).results}

    assert names({"GT": {"age": 31}}) == {"carol", "erin"}
    assert names({"GTE": {"age": 31}}) == {"alice", "carol", "erin"}
    assert names({"LT": {"age": 31}}) == {"bob", "dave"}
    assert names({"LTE": {"age": 25.0}}) == {"bob", "dave"}
    assert names({"NEQ": {"person.org": "dev"}}) == {"bob", "erin"}
    assert names({"OR": [{"EQ": {"person.id": 1}}, {"EQ": {"age": 42}}]}) == {"bob", "carol"}
    assert names({"EQ": {"person.org": "nobody"}}) == set()


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("not json", None),
        ('{"filter": {"LIKE": {"a": 1}}}', 'failed to parse JSON query body: unsupported filter "LIKE"'),
        (
            '{"filter": {"AND": [{"EQ": {"a": 1}}]}}',
            "failed to parse JSON query body: AND filter must contain at least two entries",
        ),
        ('{"filter": {"GT": {"age": "30"}}}', "unsupported type of value 30; string type not permitted"),
        ('{"filter": {"IN": {"age": []}}}', 'empty IN operator for key "age"'),
        ('{"page": {"limit": 1, "token": "abc"}}', 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ],
)
def test_bad_queries_fail_like_daprd(dapr_client: Any, query: str, detail: str | None) -> None:
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.query_state("statestore", query)
    error = info.value
    assert error.code() == grpc.StatusCode.INTERNAL and error.error_code() == "DAPR_STATE_QUERY_FAILED"
    prefix = "state store statestore query failed: "
    if detail is None:
        assert error.details().startswith(prefix + "failed to parse JSON query body: ")
    else:
        assert error.details() == prefix + detail
    assert error.status_details().resource_info["resource_name"] == "statestore"


# --- the aio client ---------------------------------------------------------------------------------------------


def test_aio_client(sdk_env: Sandbox, unique: Callable[[str], str]) -> None:
    from dapr.aio.clients import DaprClient as AioDaprClient

    key, other, run = unique("aio"), unique("aio-2"), unique("aio-query")

    async def scenario() -> None:
        async with AioDaprClient() as client:
            await client.save_state("statestore", key, "v1")
            got = await client.get_state("statestore", key)
            assert got.data == b"v1" and got.etag
            with pytest.raises(DaprInternalError):  # the aio SDK wraps SaveState errors in DaprInternalError
                await client.save_state("statestore", key, "v2", etag="wrong")
            with pytest.raises(DaprGrpcError) as info:
                await client.delete_state("statestore", key, etag="wrong")
            assert info.value.code() == grpc.StatusCode.ABORTED and info.value.error_code() == "ERR_STATE_DELETE"
            await client.save_bulk_state("statestore", [StateItem(other, "v2"), StateItem(run, json.dumps({"r": run}))])
            bulk = await client.get_bulk_state("statestore", [key, other])
            assert [i.data for i in bulk.items] == [b"v1", b"v2"]
            await client.execute_state_transaction(
                "statestore", [TransactionalStateOperation(key=key, operation_type=TransactionOperationType.delete)]
            )
            assert (await client.get_state("statestore", key)).data == b""
            found = await client.query_state("statestore", json.dumps({"filter": {"EQ": {"r": run}}}))
            assert [r.key for r in found.results] == [run]
            with pytest.raises(DaprGrpcError) as missing:
                await client.get_state("no-such-store", key)
            assert missing.value.error_code() == "DAPR_STATE_NOT_FOUND"

    asyncio.run(scenario())


# --- daprd's HTTP API -------------------------------------------------------------------------------------------


def test_http_save_get_delete(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    obj, text = unique("http-obj"), unique("http-text")
    body = [{"key": obj, "value": {"name": "pen", "price": 1.50, "n": 2.0}}, {"key": text, "value": "plain"}]
    assert http(sandbox, "POST", "/v1.0/state/statestore", body)[0] == 204
    status, data, headers = http(sandbox, "GET", f"/v1.0/state/statestore/{obj}")
    assert status == 200 and data == b'{"n":2,"name":"pen","price":1.5}'
    assert headers["Content-Type"] == "application/json"
    assert headers["ETag"] == dapr_client.get_state("statestore", obj).etag
    assert http(sandbox, "GET", f"/v1.0/state/statestore/{text}")[1] == b'"plain"'  # a JSON string stays one
    assert dapr_client.get_state("statestore", text).data == b'"plain"'
    assert http(sandbox, "GET", f"/v1.0/state/statestore/{unique('nothing')}")[:2] == (204, b"")
    status, data, _ = http(sandbox, "DELETE", f"/v1.0/state/statestore/{obj}", headers={"If-Match": "stale"})
    assert status == 409 and json.loads(data)["errorCode"] == "ERR_STATE_DELETE"
    assert json.loads(data)["message"] == f"failed deleting state with key {obj}: {MISMATCH}"
    status, _, _ = http(sandbox, "DELETE", f"/v1.0/state/statestore/{obj}", headers={"If-Match": headers["ETag"]})
    assert status == 204 and dapr_client.get_state("statestore", obj).data == b""


def test_http_etag_options_and_metadata(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("http-etag")
    assert http(sandbox, "PUT", "/v1.0/state/statestore", [{"key": key, "value": 1}])[0] == 204
    etag = dapr_client.get_state("statestore", key).etag
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore", [{"key": key, "value": 2, "etag": "nope"}])
    assert status == 409 and json.loads(data)["errorCode"] == "ERR_STATE_SAVE"
    first_write = {"key": key, "value": 3, "options": {"concurrency": "first-write"}}
    assert http(sandbox, "POST", "/v1.0/state/statestore", [first_write])[0] == 409
    assert http(sandbox, "POST", "/v1.0/state/statestore", [{"key": key, "value": 4, "etag": etag}])[0] == 204
    status, data, _ = http(
        sandbox, "POST", "/v1.0/state/statestore", [{"key": key, "value": 5, "options": {"concurrency": "x"}}]
    )
    assert status == 500 and "unrecognized concurrency model 'x'" in json.loads(data)["message"]
    assert (
        http(sandbox, "POST", "/v1.0/state/statestore?metadata.ttlInSeconds=60", [{"key": key, "value": 6}])[0] == 204
    )
    status, data, headers = http(sandbox, "GET", f"/v1.0/state/statestore/{key}")
    assert data == b"6" and "metadata.ttlexpiretime" in {k.lower() for k in headers}


def test_http_bulk_and_transaction(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    a, b, c = unique("hb-a"), unique("hb-b"), unique("hb-c")
    dapr_client.save_state("statestore", a, json.dumps({"x": 1}))
    dapr_client.save_state("statestore", b, b"raw bytes")
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore/bulk", {"keys": [a, b, c], "parallelism": 2})
    items = json.loads(data)
    assert status == 200 and [i["key"] for i in items] == [a, b, c]
    assert items[0]["data"] == {"x": 1} and items[0]["etag"] == dapr_client.get_state("statestore", a).etag
    assert items[1]["data"] == "raw bytes" and items[2] == {"key": c}
    ops = {
        "operations": [
            {"operation": "upsert", "request": {"key": c, "value": {"made": "by-http"}}},
            {"operation": "delete", "request": {"key": a}},
        ]
    }
    assert http(sandbox, "POST", "/v1.0/state/statestore/transaction", ops)[0] == 204
    assert dapr_client.get_state("statestore", c).data == b'{"made":"by-http"}'
    assert dapr_client.get_state("statestore", a).data == b""
    stale = {"operations": [{"operation": "upsert", "request": {"key": c, "value": 1, "etag": "stale"}}]}
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore/transaction", stale)
    assert status == 500 and json.loads(data)["errorCode"] == "ERR_STATE_TRANSACTION"
    bad_op = {"operations": [{"operation": "merge", "request": {"key": c}}]}
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore/transaction", bad_op)
    assert status == 400 and json.loads(data) == {
        "errorCode": "ERR_NOT_SUPPORTED_STATE_OPERATION",
        "message": "operation type merge not supported",
    }


def test_http_query(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    run = unique("hq")
    _seed_people(dapr_client, run)
    body = {"filter": {"EQ": {"run": run}}, "sort": [{"key": "person.id"}], "page": {"limit": 3}}
    status, data, _ = http(sandbox, "POST", "/v1.0-alpha1/state/statestore/query", body)
    page = json.loads(data)
    assert status == 200 and [r["key"] for r in page["results"]] == [f"{run}-{n}" for n in ("bob", "dave", "alice")]
    assert page["results"][0]["data"]["age"] == 25 and page["token"] == "3"
    body["page"] = {"limit": 3, "token": "3"}
    page = json.loads(http(sandbox, "PUT", "/v1.0-alpha1/state/statestore/query", body)[1])
    assert [r["key"] for r in page["results"]] == [f"{run}-erin", f"{run}-carol"]
    body["page"] = {"limit": 3, "token": "5"}
    assert http(sandbox, "POST", "/v1.0-alpha1/state/statestore/query", body)[:2] == (204, b"")
    status, data, _ = http(sandbox, "POST", "/v1.0-alpha1/state/statestore/query", b"{")
    assert status == 500 and json.loads(data)["errorCode"] == "ERR_STATE_QUERY"


def test_http_errors(sandbox: Sandbox) -> None:
    status, data, _ = http(sandbox, "GET", "/v1.0/state/nostore/k")
    error = json.loads(data)
    assert status == 400 and error["errorCode"] == "ERR_STATE_STORE_NOT_FOUND"
    assert error["message"] == "state store nostore is not found"
    assert error["details"][0]["metadata"] == {"appID": "sandbox"}
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore", [{"key": "a||b", "value": 1}])
    assert status == 400 and json.loads(data)["errorCode"] == "ERR_MALFORMED_REQUEST"
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore", [{"value": 1}])
    assert (status, json.loads(data)["message"]) == (400, '"key" is a required field')
    status, data, _ = http(sandbox, "POST", "/v1.0/state/statestore", b"{not json")
    assert status == 400 and json.loads(data)["errorCode"] == "ERR_MALFORMED_REQUEST"
    assert http(sandbox, "POST", "/v1.0/state/statestore", [])[0] == 204


# --- other stores, key prefixes, custom paths ------------------------------------------------------------------


def test_in_memory_store(stores: Sandbox, client_for: Callable[[Sandbox], Any], unique: Callable[[str], str]) -> None:
    client = client_for(stores)
    key = unique("mem")
    client.save_state("memstore", key, "in memory", state_metadata={"ttlInSeconds": "30"})
    got = client.get_state("memstore", key)
    assert got.data == b"in memory"
    with pytest.raises(DaprGrpcError) as info:
        client.save_state("memstore", key, "x", etag="wrong")
    assert info.value.code() == grpc.StatusCode.ABORTED
    with pytest.raises(DaprGrpcError) as query:
        client.query_state("memstore", "{}")
    assert query.value.code() == grpc.StatusCode.INTERNAL
    assert query.value.details() == "state store does not support querying"
    assert query.value.error_code() == "DAPR_STATE_QUERYING_NOT_SUPPORTED"
    registered = {c.name: c.capabilities for c in client.get_metadata().registered_components}
    assert registered["memstore"] == ["ETAG", "TRANSACTIONAL", "TTL", "DELETE_WITH_PREFIX", "KEYS_LIKE", "ACTOR"]


def test_key_prefix_strategies(
    stores: Sandbox, client_for: Callable[[Sandbox], Any], unique: Callable[[str], str]
) -> None:
    client = client_for(stores)
    key = unique("prefixed")
    for store in ("statestore", "byname", "literal", "noprefix"):
        client.save_state(store, key, store)
    with sqlite3.connect(f"file:{stores.config.data_dir / 'shared.db'}?mode=ro", uri=True) as db:
        shared = {k for (k,) in db.execute("SELECT key FROM state WHERE key LIKE ?", (f"%{key}",))}
        plain = {k for (k,) in db.execute("SELECT key FROM plain WHERE key LIKE ?", (f"%{key}",))}
    with sqlite3.connect(f"file:{stores.config.data_dir / 'state.db'}?mode=ro", uri=True) as db:
        default = {k for (k,) in db.execute("SELECT key FROM state WHERE key LIKE ?", (f"%{key}",))}
    assert shared == {f"byname||{key}", f"myprefix||{key}"}  # daprd lower-cases the literal prefix
    assert plain == {key} and default == {f"shop||{key}"}
    assert [client.get_state(s, key).data for s in ("byname", "literal", "noprefix")] == [
        b"byname",
        b"literal",
        b"noprefix",
    ]
    client.save_state("byname", unique("doc"), json.dumps({"tag": key}))
    found = client.query_state("byname", json.dumps({"filter": {"EQ": {"tag": key}}}))
    assert [r.key for r in found.results] == [unique("doc")]  # the prefix is stripped


def test_sqlite_file_at_a_custom_path(
    make_sandbox: Callable[..., Sandbox], client_for: Callable[[Sandbox], Any], tmp_path: Path
) -> None:
    database = tmp_path / "elsewhere" / "orders.sqlite"
    resources = tmp_path / "components"
    resources.mkdir()
    (resources / "orders.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: state.sqlite\n"
        "  version: v1\n  metadata:\n  - name: connectionString\n"
        f"    value: {database}\n  - name: tableName\n    value: orders\n  - name: cleanupInterval\n    value: 1m\n",
        encoding="utf-8",
    )
    sb = make_sandbox(resources_path=resources)
    client_for(sb).save_state("orders", "o-1", "first order")
    assert database.exists()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT key, is_binary FROM orders").fetchall() == [("sandbox||o-1", 1)]
    sb.restart()
    assert client_for(sb).get_state("orders", "o-1").data == b"first order"
