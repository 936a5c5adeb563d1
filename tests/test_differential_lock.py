"""Distributed locks on the sandbox (``lock.sandbox``) and on daprd (``lock.redis``): grants, owners, errors."""

from __future__ import annotations

from typing import Any

import pytest
from dapr.clients import DaprClient
from dapr.proto.runtime.v1 import lock_pb2
from differential import OnBoth, Sidecar, Stub, http, raises, same, scrub, token
from sidecars import is_daprd

STORE = "lockstore"
pytestmark = pytest.mark.filterwarnings("ignore:The Distributed Lock API is an Alpha version:UserWarning")


def locks(sidecar: Sidecar) -> Any:
    """Lock, contend, unlock by a stranger, unlock, unlock again; an unknown store; the HTTP routes."""
    if is_daprd(sidecar) and sidecar.redis_address is None:  # type: ignore[union-attr]
        pytest.skip("daprd runs without Redis here, so it has no lockstore")
    resource = token("r")
    with DaprClient(sidecar.grpc_endpoint) as client:
        first = client.try_lock(STORE, resource, "alice", 30).success
        second = client.try_lock(STORE, resource, "bob", 30).success
        stranger = client.unlock(STORE, resource, "bob").status.name
        owner = client.unlock(STORE, resource, "alice").status.name
        again = client.unlock(STORE, resource, "alice").status.name
        unknown = raises(lambda: client.try_lock("nostore", resource, "alice", 30))
    with Stub(sidecar) as dapr:
        lock, unlock = lock_pb2.TryLockRequest, lock_pb2.UnlockRequest
        bad_expiry = raises(lambda: dapr.TryLockAlpha1(lock(store_name=STORE, resource_id=resource, lock_owner="a")))
        no_owner = raises(
            lambda: dapr.TryLockAlpha1(lock(store_name=STORE, resource_id=resource, expiry_in_seconds=5))
        )
        no_resource = raises(lambda: dapr.UnlockAlpha1(unlock(store_name=STORE, lock_owner="a")))
    base = f"/v1.0-alpha1/lock/{STORE}"
    answer = {
        "grpc": [first, second, stranger, owner, again],
        "unknown": unknown,
        "bad_expiry": bad_expiry,
        "no_owner": no_owner,
        "no_resource": no_resource,
        "http_lock": http(sidecar, "POST", base, {"resourceId": resource, "lockOwner": "carol", "expiryInSeconds": 30}),
        "http_busy": http(sidecar, "POST", base, {"resourceId": resource, "lockOwner": "dave", "expiryInSeconds": 30}),
        "http_unlock": http(
            sidecar, "POST", f"/v1.0-alpha1/unlock/{STORE}", {"resourceId": resource, "lockOwner": "carol"}
        ),
        "http_unknown": http(sidecar, "POST", "/v1.0-alpha1/lock/nostore", {"resourceId": resource, "lockOwner": "c"}),
    }
    return scrub(answer, {resource: "RESOURCE"})


def test_locks(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(locks)
    assert on_sandbox["grpc"] == [True, False, "lock_belongs_to_others", "success", "lock_does_not_exist"]
    same(on_sandbox, on_daprd)
