"""daprd's HTTP routes for the lock building block (thin: JSON <-> blocks.lock).

Bodies are read as daprd reads them, with protobuf's JSON mapping of ``TryLockRequest`` /
``UnlockRequest`` (``resourceId``, ``lockOwner``, ``expiryInSeconds``; snake_case accepted too;
unknown fields ignored); the store name comes from the path.
"""

from __future__ import annotations

from dapr.proto.runtime.v1 import lock_pb2

from ..blocks import lock
from ..runtime import Runtime
from ._base import Request, Response, Route, json_response


def try_lock(runtime: Runtime, request: Request) -> Response:
    """``{"success": bool}``."""
    body = request.proto(lock_pb2.TryLockRequest)
    taken = lock.try_lock(runtime, request.params["store"], body.resource_id, body.lock_owner, body.expiry_in_seconds)
    return json_response({"success": taken})


def unlock(runtime: Runtime, request: Request) -> Response:
    """``{"status": n}`` with the status as a number, as daprd sends it."""
    body = request.proto(lock_pb2.UnlockRequest)
    status = lock.unlock(runtime, request.params["store"], body.resource_id, body.lock_owner)
    return json_response({"status": int(status)})


ROUTES: list[Route] = [
    Route("POST", "/v1.0-alpha1/lock/{store}", try_lock),
    Route("POST", "/v1.0-alpha1/unlock/{store}", unlock),
]
