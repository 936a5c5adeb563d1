"""State on the sandbox and on daprd, field by field: gRPC and HTTP answers, etags, TTL metadata and errors."""

from __future__ import annotations

import re
from typing import Any

from dapr.clients import DaprClient
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import StateItem
from dapr.proto.runtime.v1 import state_pb2
from differential import OnBoth, Sidecar, Stub, as_dict, http, iso_time, raises, same, scrub, token

STORE = "statestore"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def grpc_round_trip(sidecar: Sidecar) -> Any:
    """Save, get (etag, metadata), overwrite with the etag, get a missing key, stale etag on save and delete."""
    key = token("k")
    with DaprClient(sidecar.grpc_endpoint) as client:
        client.save_state(STORE, key, '{"n": 1}')
        first = client.get_state(STORE, key)
        client.save_state(STORE, key, '{"n": 2}', etag=first.etag)
        second = client.get_state(STORE, key)
        missing = client.get_state(STORE, key + "-missing")
        stale_save = raises(lambda: client.save_state(STORE, key, "x", etag=first.etag))
        stale_delete = raises(lambda: client.delete_state(STORE, key, etag=first.etag))
        bad_etag = raises(lambda: client.save_state(STORE, key, "x", etag="not-a-number"))
        client.delete_state(STORE, key)
        deleted = client.get_state(STORE, key)
    answer = {
        "etag_format": ["uuid" if UUID.match(e) else f"other: {e}" for e in (first.etag, second.etag)],
        "first": (first.data, bool(first.etag), first.headers.get("metadata")),
        "second": (second.data, second.etag != first.etag and bool(second.etag)),
        "missing": (missing.data, missing.etag),
        "stale_save": stale_save,
        "stale_delete": stale_delete,
        "bad_etag": bad_etag,
        "deleted": (deleted.data, deleted.etag),
    }
    return scrub(answer, {key: "KEY", first.etag: "ETAG"})


def test_grpc_round_trip_and_etags(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(grpc_round_trip)
    assert on_sandbox["first"][:2] == (b'{"n": 1}', True) and on_sandbox["stale_save"]["code"] == "ABORTED"
    assert on_sandbox["etag_format"] == ["uuid", "uuid"]
    same(on_sandbox, on_daprd)


def grpc_bulk_and_transaction(sidecar: Sidecar) -> Any:
    """Bulk save, bulk get (one key missing), a transaction, then a transaction with a stale etag."""
    a, b, c = token("a"), token("b"), token("c")
    with DaprClient(sidecar.grpc_endpoint) as client:
        client.save_bulk_state(STORE, [StateItem(a, "va"), StateItem(b, '{"b": true}')])
        bulk = client.get_bulk_state(STORE, [a, b, c]).items
        client.execute_state_transaction(
            STORE,
            [
                TransactionalStateOperation(operation_type=TransactionOperationType.upsert, key=c, data="vc"),
                TransactionalStateOperation(operation_type=TransactionOperationType.delete, key=a),
            ],
        )
        after = client.get_bulk_state(STORE, [a, b, c]).items
        stale = raises(
            lambda: client.execute_state_transaction(
                STORE,
                [
                    TransactionalStateOperation(operation_type=TransactionOperationType.upsert, key=a, data="x"),
                    TransactionalStateOperation(
                        operation_type=TransactionOperationType.upsert, key=b, data="y", etag="12345"
                    ),
                ],
            )
        )
        unchanged = client.get_state(STORE, a)
    rows = [sorted((i.key, i.data, bool(i.etag), i.error) for i in items) for items in (bulk, after)]  # any order
    answer = {"bulk": rows[0], "after": rows[1], "stale": stale, "unchanged": unchanged.data}
    return scrub(answer, {a: "A", b: "B", c: "C"})


def test_grpc_bulk_and_transactions(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(grpc_bulk_and_transaction)
    assert on_sandbox["after"][0][:2] == ("A", b"") and on_sandbox["unchanged"] == b""
    same(on_sandbox, on_daprd)


def grpc_ttl(sidecar: Sidecar) -> Any:
    """Save with ttlInSeconds and read the metadata daprd sends back (the expiry time), single and bulk."""
    key = token("ttl")
    with DaprClient(sidecar.grpc_endpoint) as client:
        client.save_state(STORE, key, "short-lived", state_metadata={"ttlInSeconds": "600"})
        bad = raises(lambda: client.save_state(STORE, key, "x", state_metadata={"ttlInSeconds": "soon"}))
    with Stub(sidecar) as dapr:
        got = as_dict(dapr.GetState(state_pb2.GetStateRequest(store_name=STORE, key=key)))
        bulk = as_dict(dapr.GetBulkState(state_pb2.GetBulkStateRequest(store_name=STORE, keys=[key])))["items"][0]
    for item in (got, bulk):
        item["etag"] = bool(item["etag"])
        item["metadata"]["ttlExpireTime"] = iso_time(item["metadata"].get("ttlExpireTime"))
    return scrub({"get": got, "bulk": bulk, "bad_ttl": bad}, {key: "KEY"})


def test_grpc_ttl_metadata(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(grpc_ttl)
    assert on_sandbox["get"]["metadata"] == {"ttlExpireTime": "rfc3339"}
    same(on_sandbox, on_daprd)


def grpc_unknown_store(sidecar: Sidecar) -> Any:
    """Every state call on a store that does not exist."""
    with DaprClient(sidecar.grpc_endpoint) as client:
        return {
            "get": raises(lambda: client.get_state("nostore", "k")),
            "save": raises(lambda: client.save_state("nostore", "k", "v")),
            "delete": raises(lambda: client.delete_state("nostore", "k")),
            "bulk_get": raises(lambda: client.get_bulk_state("nostore", ["k"])),
            "bulk_save": raises(lambda: client.save_bulk_state("nostore", [StateItem("k", "v")])),
            "transaction": raises(
                lambda: client.execute_state_transaction(
                    "nostore",
                    [TransactionalStateOperation(operation_type=TransactionOperationType.upsert, key="k", data="v")],
                )
            ),
        }


def test_grpc_unknown_store_errors(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(grpc_unknown_store)
    assert on_sandbox["get"]["code"] == "INVALID_ARGUMENT"
    same(on_sandbox, on_daprd)


def http_state(sidecar: Sidecar) -> Any:
    """The HTTP state API: save, get (ETag header), missing key, bulk, etag mismatch, transaction, errors."""
    a, b = token("a"), token("b")
    base = f"/v1.0/state/{STORE}"
    answer = {
        "save": http(sidecar, "POST", base, [{"key": a, "value": {"n": 1}}, {"key": b, "value": "text"}]),
        "get": http(sidecar, "GET", f"{base}/{a}"),
        "get_text": http(sidecar, "GET", f"{base}/{b}"),
        "missing": http(sidecar, "GET", f"{base}/{a}-missing"),
        "bulk": http(sidecar, "POST", f"{base}/bulk", {"keys": [a, b, a + "-missing"]}),
        "stale": http(sidecar, "POST", base, [{"key": a, "value": 2, "etag": "999999"}]),
        "stale_delete": http(sidecar, "DELETE", f"{base}/{a}", headers={"If-Match": "999999"}),
        "transaction": http(
            sidecar,
            "POST",
            f"{base}/transaction",
            {"operations": [{"operation": "delete", "request": {"key": b}}]},
        ),
        "after": http(sidecar, "GET", f"{base}/{b}"),
        "ttl_save": http(sidecar, "POST", f"{base}?metadata.ttlInSeconds=600", [{"key": b + "-ttl", "value": 1}]),
        "ttl_get": http(sidecar, "GET", f"{base}/{b}-ttl"),
        "unknown_store": http(sidecar, "GET", "/v1.0/state/nostore/k"),
        "unknown_store_save": http(sidecar, "POST", "/v1.0/state/nostore", [{"key": "k", "value": 1}]),
        "malformed": http(sidecar, "POST", base, '[{"key": '),
        "not_a_list": http(sidecar, "POST", base, {"key": a, "value": 1}),
        "no_key": http(sidecar, "POST", base, [{"value": 1}]),
        "bad_transaction": http(sidecar, "POST", f"{base}/transaction", {"operations": [{"operation": "nope"}]}),
    }
    for item in answer["bulk"]["body"]:
        item["etag"] = bool(item.get("etag"))
    return scrub(answer, {a: "A", b: "B"})


def test_http_state_api(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(http_state)
    assert on_sandbox["get"]["body"] == {"n": 1} and on_sandbox["get"]["etag"]
    assert on_sandbox["missing"]["status"] == 204 and on_sandbox["stale"]["status"] == 409
    assert on_sandbox["ttl_get"]["metadata_headers"] == {"metadata.ttlexpiretime": "rfc3339"}
    same(on_sandbox, on_daprd)
