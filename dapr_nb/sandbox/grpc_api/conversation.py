"""gRPC methods of the conversation building block (thin: protobuf <-> blocks.conversation)."""

from __future__ import annotations

from ._base import RpcBase


class ConversationRpcs(RpcBase):
    """The conversation RPCs of `dapr.proto.runtime.v1.Dapr`."""
