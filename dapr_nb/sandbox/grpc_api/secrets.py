"""gRPC methods of the secrets building block (thin: protobuf <-> blocks.secrets)."""

from __future__ import annotations

from ._base import RpcBase


class SecretRpcs(RpcBase):
    """The secrets RPCs of `dapr.proto.runtime.v1.Dapr`."""
