"""gRPC methods of the jobs building block (thin: protobuf <-> blocks.jobs)."""

from __future__ import annotations

from ._base import RpcBase


class JobRpcs(RpcBase):
    """The jobs RPCs of `dapr.proto.runtime.v1.Dapr`."""
