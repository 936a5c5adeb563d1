"""The lock building block as the official SDK (sync and aio), a raw stub and raw HTTP see it.

Semantics are those of lock.redis: set-if-absent with expiry, not re-entrant, owner-checked unlock.
Errors are daprd's legacy lock errors: a code and a message, no ErrorInfo.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from _waiting import wait_until
from dapr.clients.grpc._response import UnlockResponseStatus
from dapr.proto.runtime.v1 import dapr_pb2_grpc, lock_pb2
from grpc_status import rpc_status

from dapr_nb.sandbox import Sandbox

STORE = "lockstore"

pytestmark = pytest.mark.filterwarnings("ignore:The Distributed Lock API is an Alpha version:UserWarning")


def http(sb: Sandbox, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(sb.http_endpoint + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def stub_call(sb: Sandbox, method: str, request: Any) -> Any:
    with grpc.insecure_channel(sb.grpc_endpoint) as channel:
        return getattr(dapr_pb2_grpc.DaprStub(channel), method)(request, timeout=10)


def rpc_error(sb: Sandbox, method: str, request: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        stub_call(sb, method, request)
    return info.value


def assert_legacy(error: grpc.RpcError, code: grpc.StatusCode, message: str) -> None:
    """daprd's lock errors are plain APIErrors: code and message, no rich details."""
    assert error.code() == code
    assert error.details() == message
    status = rpc_status.from_call(error)
    assert status is None or not status.details


def test_try_lock_is_exclusive_and_not_reentrant(dapr_client: Any, unique: Callable[[str], str]) -> None:
    resource = unique("order")
    assert dapr_client.try_lock(STORE, resource, "alice", 60).success
    assert not dapr_client.try_lock(STORE, resource, "bob", 60).success
    assert not dapr_client.try_lock(STORE, resource, "alice", 60).success
    assert dapr_client.try_lock(STORE, unique("other"), "bob", 60).success


def test_unlock_statuses(dapr_client: Any, unique: Callable[[str], str]) -> None:
    resource = unique("order")
    assert dapr_client.unlock(STORE, resource, "alice").status == UnlockResponseStatus.lock_does_not_exist
    assert dapr_client.try_lock(STORE, resource, "alice", 60)
    assert dapr_client.unlock(STORE, resource, "bob").status == UnlockResponseStatus.lock_belongs_to_others
    assert dapr_client.unlock(STORE, resource, "alice").status == UnlockResponseStatus.success
    assert dapr_client.unlock(STORE, resource, "alice").status == UnlockResponseStatus.lock_does_not_exist
    assert dapr_client.try_lock(STORE, resource, "bob", 60)


def test_context_manager_unlocks_on_exit(dapr_client: Any, unique: Callable[[str], str]) -> None:
    resource = unique("order")
    with dapr_client.try_lock(STORE, resource, "alice", 60) as lock:
        assert lock
        with dapr_client.try_lock(STORE, resource, "bob", 60) as other:
            assert not other
    assert dapr_client.try_lock(STORE, resource, "bob", 60)


def test_lock_expires(dapr_client: Any, unique: Callable[[str], str]) -> None:
    resource = unique("order")
    assert dapr_client.try_lock(STORE, resource, "alice", 1)
    assert not dapr_client.try_lock(STORE, resource, "bob", 1)
    wait_until(lambda: dapr_client.try_lock(STORE, resource, "bob", 60), 10, "the lock never expired", interval=0.2)
    assert dapr_client.unlock(STORE, resource, "alice").status == UnlockResponseStatus.lock_belongs_to_others


def test_expired_lock_does_not_exist_for_unlock(dapr_client: Any, unique: Callable[[str], str]) -> None:
    resource = unique("order")
    assert dapr_client.try_lock(STORE, resource, "alice", 1)

    def expired() -> bool:
        status = dapr_client.unlock(STORE, resource, "bob").status
        assert status in (UnlockResponseStatus.lock_belongs_to_others, UnlockResponseStatus.lock_does_not_exist)
        return bool(status == UnlockResponseStatus.lock_does_not_exist)

    wait_until(expired, 10, "the lock never expired", interval=0.2)
    assert dapr_client.unlock(STORE, resource, "alice").status == UnlockResponseStatus.lock_does_not_exist


def test_aio_client(sdk_env: Sandbox, unique: Callable[[str], str]) -> None:
    from dapr.aio.clients import DaprClient

    resource = unique("order")

    async def scenario() -> None:
        async with DaprClient() as client:
            async with await client.try_lock(STORE, resource, "alice", 60) as lock:
                assert lock.success
                assert not (await client.try_lock(STORE, resource, "bob", 60)).success
                status = (await client.unlock(STORE, resource, "bob")).status
                assert status == UnlockResponseStatus.lock_belongs_to_others
            assert (await client.unlock(STORE, resource, "alice")).status == UnlockResponseStatus.lock_does_not_exist
            assert (await client.try_lock(STORE, resource, "bob", 60)).success

    asyncio.run(scenario())


def test_validation_errors_in_daprds_order(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    def try_lock(store: str, resource: str, owner: str, expiry: int) -> grpc.RpcError:
        request = lock_pb2.TryLockRequest(
            store_name=store, resource_id=resource, lock_owner=owner, expiry_in_seconds=expiry
        )
        return rpc_error(sandbox, "TryLockAlpha1", request)

    bad = grpc.StatusCode.INVALID_ARGUMENT
    assert_legacy(try_lock("nope", "", "", 0), bad, "ExpiryInSeconds is not positive in lock store nope")
    assert_legacy(try_lock(STORE, "r", "o", -5), bad, f"ExpiryInSeconds is not positive in lock store {STORE}")
    assert_legacy(try_lock("nope", "", "", 10), bad, "ResourceId is empty in lock store nope")
    assert_legacy(try_lock("nope", "r", "", 10), bad, "LockOwner is empty in lock store nope")
    assert_legacy(try_lock("nope", "r", "o", 10), bad, "lock store nope not found")
    assert_legacy(
        try_lock(STORE, "a||b", "o", 10),
        grpc.StatusCode.INTERNAL,
        "failed to try acquiring lock: input key/keyPrefix 'a||b' can't contain '||'",
    )


def test_unlock_validation_errors(sandbox: Sandbox) -> None:
    def unlock(store: str, resource: str, owner: str) -> grpc.RpcError:
        request = lock_pb2.UnlockRequest(store_name=store, resource_id=resource, lock_owner=owner)
        return rpc_error(sandbox, "UnlockAlpha1", request)

    bad = grpc.StatusCode.INVALID_ARGUMENT
    assert_legacy(unlock("nope", "", ""), bad, "ResourceId is empty in lock store nope")
    assert_legacy(unlock(STORE, "r", ""), bad, f"LockOwner is empty in lock store {STORE}")
    assert_legacy(unlock("nope", "r", "o"), bad, "lock store nope not found")
    assert_legacy(
        unlock(STORE, "a||b", "o"),
        grpc.StatusCode.INTERNAL,
        "failed to release lock: input key/keyPrefix 'a||b' can't contain '||'",
    )


def test_sdk_sees_unknown_store_error(dapr_client: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        dapr_client.try_lock("nope", "r", "o", 10)
    assert_legacy(info.value, grpc.StatusCode.INVALID_ARGUMENT, "lock store nope not found")


def test_http_lock_and_unlock(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str]) -> None:
    resource = unique("order")
    body = {"resourceId": resource, "lockOwner": "alice", "expiryInSeconds": 60}
    assert http(sandbox, "POST", f"/v1.0-alpha1/lock/{STORE}", body) == (200, {"success": True})
    assert http(sandbox, "POST", f"/v1.0-alpha1/lock/{STORE}", {**body, "lockOwner": "bob"}) == (
        200,
        {"success": False},
    )
    assert not dapr_client.try_lock(STORE, resource, "carol", 60), "HTTP and gRPC share the store"
    unlock = f"/v1.0-alpha1/unlock/{STORE}"
    assert http(sandbox, "POST", unlock, {"resourceId": resource, "lockOwner": "bob"}) == (200, {"status": 2})
    assert http(sandbox, "POST", unlock, {"resource_id": resource, "lock_owner": "alice"}) == (200, {"status": 0})
    assert http(sandbox, "POST", unlock, {"resourceId": resource, "lockOwner": "alice"}) == (200, {"status": 1})


def test_http_errors(sandbox: Sandbox) -> None:
    lock = f"/v1.0-alpha1/lock/{STORE}"
    status, body = http(sandbox, "POST", lock, {"resourceId": "r", "lockOwner": "o"})
    assert status == 400
    assert body == {
        "errorCode": "ERR_MALFORMED_REQUEST",
        "message": f"ExpiryInSeconds is not positive in lock store {STORE}",
    }
    status, body = http(
        sandbox, "POST", "/v1.0-alpha1/lock/nope", {"resourceId": "r", "lockOwner": "o", "expiryInSeconds": 5}
    )
    assert (status, body["errorCode"], body["message"]) == (
        400,
        "ERR_LOCK_STORE_NOT_FOUND",
        "lock store nope not found",
    )
    status, body = http(sandbox, "POST", lock, {"resourceId": "x||y", "lockOwner": "o", "expiryInSeconds": 5})
    assert (status, body["errorCode"]) == (500, "ERR_TRY_LOCK")
    status, body = http(sandbox, "POST", f"/v1.0-alpha1/unlock/{STORE}", {"resourceId": "x||y", "lockOwner": "o"})
    assert (status, body["errorCode"]) == (500, "ERR_UNLOCK")
    status, body = http(sandbox, "POST", lock, b"{not json")
    assert (status, body["errorCode"]) == (400, "ERR_MALFORMED_REQUEST")
    assert body["message"].startswith("failed deserializing HTTP body: ")


def test_no_lock_store_configured(make_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "state.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: only-state\n"
        "spec:\n  type: state.in-memory\n  version: v1\n"
    )
    sb = make_sandbox(resources_path=resources)
    request = lock_pb2.TryLockRequest(store_name=STORE, resource_id="r", lock_owner="o", expiry_in_seconds=5)
    assert_legacy(
        rpc_error(sb, "TryLockAlpha1", request), grpc.StatusCode.FAILED_PRECONDITION, "lock store is not configured"
    )
    status, body = http(sb, "POST", f"/v1.0-alpha1/unlock/{STORE}", {"resourceId": "r", "lockOwner": "o"})
    assert (status, body) == (
        500,
        {"errorCode": "ERR_LOCK_STORE_NOT_CONFIGURED", "message": "lock store is not configured"},
    )
