"""Helpers shared by the gRPC servicer mixins: error translation and API-token enforcement."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from grpc_status import rpc_status

from ..errors import DaprApiError

if TYPE_CHECKING:  # the runtime builds the servicers (lazily importing them): only the type is needed here
    from ..runtime import Runtime

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")

TOKEN_HEADER = "dapr-api-token"


class RpcBase:
    """What every mixin can rely on: the shared runtime."""

    runtime: Runtime


def abort(context: grpc.ServicerContext, error: DaprApiError) -> NoReturn:
    """Abort the call with daprd's status and rich details (raises)."""
    context.abort_with_status(rpc_status.to_status(error.to_status()))


def unary(fn: Callable[[S, Req, grpc.ServicerContext], Resp]) -> Callable[[S, Req, grpc.ServicerContext], Resp]:
    """Wrap a unary handler so a DaprApiError becomes daprd's gRPC status with details."""

    @functools.wraps(fn)
    def wrapper(self: S, request: Req, context: grpc.ServicerContext) -> Resp:
        try:
            return fn(self, request, context)
        except DaprApiError as error:
            abort(context, error)

    return wrapper


def streaming(
    fn: Callable[[S, Req, grpc.ServicerContext], Iterator[Resp]],
) -> Callable[[S, Req, grpc.ServicerContext], Iterator[Resp]]:
    """Wrap a response-streaming handler so a DaprApiError becomes daprd's gRPC status with details."""

    @functools.wraps(fn)
    def wrapper(self: S, request: Req, context: grpc.ServicerContext) -> Iterator[Resp]:
        try:
            yield from fn(self, request, context)
        except DaprApiError as error:
            abort(context, error)

    return wrapper


def token_problem(metadata: Iterable[tuple[str, str | bytes]] | None, expected: str) -> str | None:
    """Return daprd's UNAUTHENTICATED message for the call's metadata, or None when the token is right."""
    supplied = next((v for k, v in metadata or () if k == TOKEN_HEADER), None)
    if supplied is None:
        return "missing api token in request metadata"
    if isinstance(supplied, bytes):
        supplied = supplied.decode("utf-8", "replace")
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        return "authentication error: api token mismatch"
    return None


class TokenInterceptor(grpc.ServerInterceptor):
    """Require ``dapr-api-token`` on every unary call and every stream, as daprd does."""

    def __init__(self, token: str) -> None:
        self._token = token

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Pass the call on, or answer UNAUTHENTICATED with daprd's message."""
        handler = continuation(details)
        problem = token_problem(details.invocation_metadata, self._token)
        if problem is None or handler is None:
            return handler

        def deny(request: object, context: grpc.ServicerContext) -> NoReturn:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, problem)

        kinds = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }
        make = kinds[(handler.request_streaming, handler.response_streaming)]
        return make(
            deny,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
