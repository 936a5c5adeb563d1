"""daprd's HTTP routes for the lock building block (thin: JSON <-> blocks.lock).

Bodies are read as daprd reads them, with protobuf's JSON mapping of ``TryLockRequest`` /
``UnlockRequest`` (``resourceId``, ``lockOwner``, ``expiryInSeconds``; snake_case accepted too;
unknown fields ignored); the store name comes from the path.
"""

from __future__ import annotations

from typing import Any

import grpc
from dapr.proto.runtime.v1 import lock_pb2
from google.protobuf import json_format

from ..blocks import lock
from ..errors import DaprApiError
from ..runtime import Runtime
from ._base import Request, Response, Route, json_response


def _parse(request: Request, message: Any) -> Any:
    if request.body:
        try:
            json_format.Parse(request.body, message, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise DaprApiError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"failed deserializing HTTP body: {exc}",
                error_code="ERR_MALFORMED_REQUEST",
            ) from exc
    return message


def try_lock(runtime: Runtime, request: Request) -> Response:
    """``{"success": bool}``."""
    body = _parse(request, lock_pb2.TryLockRequest())
    taken = lock.try_lock(runtime, request.params["store"], body.resource_id, body.lock_owner, body.expiry_in_seconds)
    return json_response({"success": taken})


def unlock(runtime: Runtime, request: Request) -> Response:
    """``{"status": n}`` with the status as a number, as daprd sends it."""
    body = _parse(request, lock_pb2.UnlockRequest())
    status = lock.unlock(runtime, request.params["store"], body.resource_id, body.lock_owner)
    return json_response({"status": int(status)})


ROUTES: list[Route] = [
    Route("POST", "/v1.0-alpha1/lock/{store}", try_lock),
    Route("POST", "/v1.0-alpha1/unlock/{store}", unlock),
]
