"""gRPC ``InvokeService`` (thin: blocks.invoke sends the request, appchannel.render shapes the answer)."""

from __future__ import annotations

import asyncio
import base64

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import invoke_pb2
from google.protobuf import any_pb2
from grpc_status import rpc_status

from ..appchannel import render
from ..appchannel.grpc_channel import outgoing
from ..appchannel.messages import InvokeRequest, Pairs
from ..blocks import invoke
from ._base import TOKEN_HEADER, AioContext, RpcBase, unary_async

_DROPPED = frozenset({TOKEN_HEADER, invoke.APP_ID_HEADER})


def _metadata(context: AioContext) -> Pairs:
    """Return the caller's metadata as string pairs (``-bin`` values base64, as daprd keeps them)."""
    out: list[tuple[str, str]] = []
    for key, value in context.invocation_metadata() or ():
        if key in _DROPPED:
            continue
        out.append((key, base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)))
    return tuple(out)


def _verb(message: common_pb2.InvokeRequest) -> str:
    if not message.HasField("http_extension"):
        return ""
    return str(common_pb2.HTTPExtension.Verb.Name(message.http_extension.verb))


class InvokeRpcs(RpcBase):
    """InvokeService."""

    @unary_async
    async def InvokeService(  # noqa: N802
        self, request: invoke_pb2.InvokeServiceRequest, context: AioContext
    ) -> common_pb2.InvokeResponse:
        """Invoke the target app and answer its response, headers as metadata, or its failing status.

        The call into the app blocks, so it runs on the server's thread pool; metadata is sent from the loop.
        """
        message = request.message
        call = InvokeRequest(
            method=message.method, verb=_verb(message), query=message.http_extension.querystring,
            content_type=message.content_type, data=message.data.value, type_url=message.data.type_url,
            headers=_metadata(context), from_grpc=True,
        )  # fmt: skip
        result = await asyncio.to_thread(invoke.call, self.runtime, request.id, call)
        answer = render.for_grpc(result)
        if answer.initial:
            await context.send_initial_metadata(outgoing(answer.initial))
        if answer.code != grpc.StatusCode.OK:
            if not answer.details:  # daprd sends no status-details trailer for a status without details
                context.set_trailing_metadata(outgoing(answer.trailing))
                await context.abort(answer.code, answer.message)
            status = rpc_status.to_status(answer.status())
            context.set_trailing_metadata((*outgoing(answer.trailing), *status.trailing_metadata))
            await context.abort(status.code, status.details)
        if answer.trailing:
            context.set_trailing_metadata(outgoing(answer.trailing))
        return common_pb2.InvokeResponse(
            data=any_pb2.Any(type_url=answer.type_url, value=answer.data), content_type=answer.content_type
        )
