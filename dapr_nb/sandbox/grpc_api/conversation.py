"""gRPC methods of the conversation building block (thin: one call each into blocks.conversation_proto)."""

from __future__ import annotations

from typing import Any

import grpc

from ..blocks import conversation_proto
from ._base import RpcBase, unary


class ConversationRpcs(RpcBase):
    """ConverseAlpha1 and ConverseAlpha2."""

    @unary
    def ConverseAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        """Converse with the deprecated single-string API."""
        return conversation_proto.converse_alpha1(self.runtime, request)

    @unary
    def ConverseAlpha2(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        """Converse with messages, tools and tool choice."""
        return conversation_proto.converse_alpha2(self.runtime, request)
