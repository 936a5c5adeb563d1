"""gRPC ``InvokeService`` (thin: the sandbox has no app channel, blocks.invoke names daprd's error)."""

from __future__ import annotations

from typing import Any

import grpc

from ..blocks import invoke
from ._base import RpcBase, unary


class InvokeRpcs(RpcBase):
    """InvokeService."""

    @unary
    def InvokeService(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        """Fail as daprd does when the target app cannot be reached."""
        raise invoke.invoke(self.runtime, request.id)
