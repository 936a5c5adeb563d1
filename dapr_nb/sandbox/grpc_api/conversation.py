"""gRPC methods of the conversation building block (thin: one call each into blocks.conversation_proto)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import ai_pb2

from ..blocks import conversation_proto
from ._base import RpcBase, unary


class ConversationRpcs(RpcBase):
    """ConverseAlpha1 and ConverseAlpha2."""

    @unary
    def ConverseAlpha1(  # noqa: N802
        self, request: ai_pb2.ConversationRequest, context: grpc.ServicerContext
    ) -> ai_pb2.ConversationResponse:
        """Converse with the deprecated single-string API."""
        return conversation_proto.converse_alpha1(self.runtime, request)

    @unary
    def ConverseAlpha2(  # noqa: N802
        self, request: ai_pb2.ConversationRequestAlpha2, context: grpc.ServicerContext
    ) -> ai_pb2.ConversationResponseAlpha2:
        """Converse with messages, tools and tool choice."""
        return conversation_proto.converse_alpha2(self.runtime, request)
