"""gRPC methods of the state building block (thin: protobuf <-> blocks.state)."""

from __future__ import annotations

from ._base import RpcBase


class StateRpcs(RpcBase):
    """The state RPCs of `dapr.proto.runtime.v1.Dapr`."""
