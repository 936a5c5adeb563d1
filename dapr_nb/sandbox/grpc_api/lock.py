"""gRPC methods of the lock building block (thin: protobuf <-> blocks.lock)."""

from __future__ import annotations

from ._base import RpcBase


class LockRpcs(RpcBase):
    """The lock RPCs of `dapr.proto.runtime.v1.Dapr`."""
