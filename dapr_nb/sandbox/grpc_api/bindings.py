"""gRPC methods of the bindings building block (thin: protobuf <-> blocks.bindings)."""

from __future__ import annotations

from ._base import RpcBase


class BindingRpcs(RpcBase):
    """The bindings RPCs of `dapr.proto.runtime.v1.Dapr`."""
