"""gRPC ``InvokeService`` (thin: the sandbox has no app channel, blocks.invoke names daprd's error)."""

from __future__ import annotations

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import invoke_pb2

from ..blocks import invoke
from ._base import RpcBase, unary


class InvokeRpcs(RpcBase):
    """InvokeService."""

    @unary
    def InvokeService(  # noqa: N802
        self, request: invoke_pb2.InvokeServiceRequest, context: grpc.ServicerContext
    ) -> common_pb2.InvokeResponse:
        """Fail as daprd does when the target app cannot be reached."""
        raise invoke.invoke(self.runtime, request.id)
