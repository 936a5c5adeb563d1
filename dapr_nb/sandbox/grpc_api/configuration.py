"""gRPC methods of the configuration building block (thin: protobuf <-> blocks.configuration)."""

from __future__ import annotations

from ._base import RpcBase


class ConfigurationRpcs(RpcBase):
    """The configuration RPCs of `dapr.proto.runtime.v1.Dapr`."""
