"""Distributed lock (Alpha1): try_lock and unlock.

Rule: a lock is not re-entrant — trying again while held (even by the same owner) answers "not acquired";
unlock answers a status word instead of raising for the ordinary outcomes.
"""

from __future__ import annotations

from typing import Literal

from dapr.proto.runtime.v1 import lock_pb2

from .ops import Call, Op
from .results import LockResult

UnlockStatus = Literal["success", "lock_does_not_exist", "lock_belongs_to_others", "internal_error"]
_UNLOCK = ("success", "lock_does_not_exist", "lock_belongs_to_others", "internal_error")


def try_lock(store: str, resource: str, owner: str, expiry_seconds: int = 60) -> Op[LockResult]:
    """Try once to take the lock on ``resource`` for ``owner``; the result is truthy when acquired."""
    request = lock_pb2.TryLockRequest(
        store_name=store, resource_id=resource, lock_owner=owner, expiry_in_seconds=expiry_seconds
    )
    reply: lock_pb2.TryLockResponse = yield Call("TryLockAlpha1", request)
    return LockResult(store, resource, owner, bool(reply.success))


def unlock(store: str, resource: str, owner: str) -> Op[UnlockStatus]:
    """Release the lock; return ``success``, ``lock_does_not_exist`` or ``lock_belongs_to_others``."""
    request = lock_pb2.UnlockRequest(store_name=store, resource_id=resource, lock_owner=owner)
    reply: lock_pb2.UnlockResponse = yield Call("UnlockAlpha1", request)
    status = int(reply.status)
    return _UNLOCK[status] if 0 <= status < len(_UNLOCK) else "internal_error"  # type: ignore[return-value]
