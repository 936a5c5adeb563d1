"""gRPC methods of the pubsub building block (thin: protobuf <-> blocks.pubsub)."""

from __future__ import annotations

from ._base import RpcBase


class PubSubRpcs(RpcBase):
    """The pubsub RPCs of `dapr.proto.runtime.v1.Dapr`."""
