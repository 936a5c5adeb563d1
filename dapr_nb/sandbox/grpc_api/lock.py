"""gRPC methods of the lock building block (thin: protobuf <-> blocks.lock)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import lock_pb2 as api

from ..blocks import lock
from ._base import RpcBase, unary


class LockRpcs(RpcBase):
    """TryLockAlpha1 and UnlockAlpha1 (daprd has no stable lock RPCs)."""

    @unary
    def TryLockAlpha1(  # noqa: N802
        self, request: api.TryLockRequest, context: grpc.ServicerContext
    ) -> api.TryLockResponse:
        """Take a lock with an expiry; ``success=false`` when it is held (by anyone)."""
        taken = lock.try_lock(
            self.runtime, request.store_name, request.resource_id, request.lock_owner, request.expiry_in_seconds
        )
        return api.TryLockResponse(success=taken)

    @unary
    def UnlockAlpha1(  # noqa: N802
        self, request: api.UnlockRequest, context: grpc.ServicerContext
    ) -> api.UnlockResponse:
        """Release a lock; the status says whether it existed and whose it was."""
        status = lock.unlock(self.runtime, request.store_name, request.resource_id, request.lock_owner)
        return api.UnlockResponse(status=api.UnlockResponse.Status.Value(status.name))
