"""gRPC methods of the bindings building block (thin: protobuf <-> blocks.bindings)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import binding_pb2

from ..blocks import bindings
from ._base import RpcBase, unary


class BindingRpcs(RpcBase):
    """InvokeBinding."""

    @unary
    def InvokeBinding(  # noqa: N802
        self, request: binding_pb2.InvokeBindingRequest, context: grpc.ServicerContext
    ) -> binding_pb2.InvokeBindingResponse:
        """Invoke an output binding; its response metadata also goes out as ``metadata.<key>`` headers."""
        response = bindings.invoke(self.runtime, request.name, request.operation, request.data, dict(request.metadata))
        if response.metadata:
            context.send_initial_metadata(tuple((f"metadata.{k}".lower(), v) for k, v in response.metadata.items()))
        return binding_pb2.InvokeBindingResponse(data=response.data or b"", metadata=response.metadata)
