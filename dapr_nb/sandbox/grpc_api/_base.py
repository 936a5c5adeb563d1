"""Helpers shared by the gRPC servicer mixins: error translation, API-token enforcement, the long-lived call cap.

Rules: the server is a ``grpc.aio`` server. Short unary handlers stay plain functions, which the
server runs on its thread pool; long-lived calls (streams, blocking waits) are coroutines or async
generators on the server's event loop and hold no thread (:mod:`..wakeup` bridges the thread-based
components to them). Every long-lived call takes a slot of :class:`CallLimit`; when none is free the
call answers RESOURCE_EXHAUSTED at once instead of waiting.
"""

from __future__ import annotations

import functools
import hmac
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
import grpc.aio
from grpc_status import rpc_status

from ..errors import DaprApiError

if TYPE_CHECKING:  # the runtime builds the servicers (lazily importing them): only the type is needed here
    from ..runtime import Runtime

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
AioContext = grpc.aio.ServicerContext[Any, Any]

TOKEN_HEADER = "dapr-api-token"
LONG_LIVED = "_dapr_nb_long_lived"
"""Marks a coroutine handler that may block for long (a wait): it takes a :class:`CallLimit` slot."""


class RpcBase:
    """What every mixin can rely on: the shared runtime."""

    runtime: Runtime


def abort(context: grpc.ServicerContext, error: DaprApiError) -> NoReturn:
    """Abort a thread-pool call with daprd's status and rich details (raises)."""
    status = rpc_status.to_status(error.to_status())
    context.set_trailing_metadata(status.trailing_metadata)
    context.abort(status.code, status.details)


async def abort_async(context: AioContext, error: DaprApiError) -> NoReturn:
    """Abort a call on the event loop with daprd's status and rich details (raises)."""
    await context.abort_with_status(rpc_status.to_status(error.to_status()))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it always raises


def unary(fn: Callable[[S, Req, grpc.ServicerContext], Resp]) -> Callable[[S, Req, grpc.ServicerContext], Resp]:
    """Wrap a unary handler so a DaprApiError becomes daprd's gRPC status with details."""

    @functools.wraps(fn)
    def wrapper(self: S, request: Req, context: grpc.ServicerContext) -> Resp:
        try:
            return fn(self, request, context)
        except DaprApiError as error:
            abort(context, error)

    return wrapper


def unary_async(
    fn: Callable[[S, Req, AioContext], Awaitable[Resp]],
) -> Callable[[S, Req, AioContext], Awaitable[Resp]]:
    """Wrap a coroutine unary handler (it runs on the event loop) so a DaprApiError becomes daprd's status."""

    @functools.wraps(fn)
    async def wrapper(self: S, request: Req, context: AioContext) -> Resp:
        try:
            return await fn(self, request, context)
        except DaprApiError as error:
            await abort_async(context, error)

    return wrapper


def waiting(
    fn: Callable[[S, Req, AioContext], Awaitable[Resp]],
) -> Callable[[S, Req, AioContext], Awaitable[Resp]]:
    """Wrap a coroutine unary handler that may wait without bound, like :func:`unary_async`; it takes a call slot."""
    wrapper = unary_async(fn)
    setattr(wrapper, LONG_LIVED, True)
    return wrapper


def streaming(
    fn: Callable[[S, Req, AioContext], AsyncIterator[Resp]],
) -> Callable[[S, Req, AioContext], AsyncIterator[Resp]]:
    """Wrap an async-generator (response-streaming) handler so a DaprApiError becomes daprd's gRPC status."""

    @functools.wraps(fn)
    async def wrapper(self: S, request: Req, context: AioContext) -> AsyncIterator[Resp]:
        responses = fn(self, request, context)
        try:
            async for response in responses:
                yield response
        except DaprApiError as error:
            await abort_async(context, error)
        finally:
            await aclose(responses)

    return wrapper


async def aclose(responses: AsyncIterator[Any]) -> None:
    """Close an async generator now (its ``finally`` runs in this task), not whenever it is collected."""
    close = getattr(responses, "aclose", None)
    if close is not None:
        await close()


def token_problem(metadata: Iterable[tuple[str, str | bytes]] | None, expected: str) -> str | None:
    """Return daprd's reason for refusing the call's metadata, or None when the token is right."""
    supplied = next((v for k, v in metadata or () if k == TOKEN_HEADER), None)
    if supplied is None:
        return "missing api token in request metadata"
    if isinstance(supplied, bytes):
        supplied = supplied.decode("utf-8", "replace")
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        return "authentication error: api token mismatch"
    return None


def token_refusal(problem: str) -> DaprApiError:
    """Return daprd's refusal: UNAUTHENTICATED "Unauthorized", the reason in ErrorInfo's ``http.error_message``."""
    metadata = {"http.code": "401", "http.error_message": problem}
    return DaprApiError(grpc.StatusCode.UNAUTHENTICATED, "Unauthorized", reason="Unauthorized", metadata=metadata)


if TYPE_CHECKING:  # grpc's handler type is generic only in its stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]
_KINDS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def _behavior(handler: Handler) -> Any:
    return handler.stream_stream or handler.unary_stream or handler.stream_unary or handler.unary_unary


def _rebuild(handler: Handler, behavior: Any) -> Handler:
    """Return a handler of the same kind and (de)serializers running ``behavior``."""
    make = _KINDS[(handler.request_streaming, handler.response_streaming)]
    built: Handler = make(
        behavior, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )
    return built


OWN_SERVICES = ("/dapr.proto.runtime.v1.Dapr/", "/TaskHubSidecarService/", "/grpc.reflection.")
"""Method prefixes the sandbox serves itself; any other method is proxied to an app."""


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Require ``dapr-api-token`` on every unary call and every stream, as daprd does.

    A proxied call (a method of no service the sandbox serves) from another sandbox may present
    ``hop_secret()`` in ``hop_header`` instead: that is daprd's sidecar-to-sidecar channel, which
    needs no API token either.
    """

    def __init__(self, token: str, hop_header: str = "", hop_secret: Callable[[], str] | None = None) -> None:
        self._token = token
        self._hop_header = hop_header
        self._hop_secret = hop_secret

    def _hop_allowed(self, details: grpc.HandlerCallDetails) -> bool:
        if self._hop_secret is None or details.method.startswith(OWN_SERVICES):
            return False
        supplied = next((v for k, v in details.invocation_metadata or () if k == self._hop_header), "")
        if isinstance(supplied, bytes) or not supplied:
            return False
        return hmac.compare_digest(supplied.encode(), self._hop_secret().encode())

    async def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> Handler | None:
        """Pass the call on, or answer UNAUTHENTICATED as daprd does (see :func:`token_refusal`)."""
        handler = await continuation(details)
        problem = token_problem(details.invocation_metadata, self._token)
        if problem is None or handler is None or self._hop_allowed(details):
            return handler
        refusal = token_refusal(problem)

        async def deny(request: object, context: AioContext) -> NoReturn:
            await abort_async(context, refusal)

        return _rebuild(handler, deny)


class CallLimit(grpc.aio.ServerInterceptor):
    """Cap the concurrent long-lived calls (async response streams and :func:`waiting` handlers).

    Counted on the event loop only, so a plain counter suffices; a call over the cap is answered
    RESOURCE_EXHAUSTED before its handler runs.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    async def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> Handler | None:
        """Wrap long-lived handlers so each holds a slot while it runs."""
        handler = await continuation(details)
        if handler is None:
            return None
        behavior = _behavior(handler)
        if inspect.isasyncgenfunction(behavior):
            return _rebuild(handler, self._stream(behavior))
        if getattr(behavior, LONG_LIVED, False):
            return _rebuild(handler, self._wait(behavior))
        return handler

    async def _enter(self, context: AioContext) -> None:
        if self.active >= self.limit:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the sandbox serves at most {self.limit} concurrent streams and blocking waits; "
                "close some, or restart it with a higher --max-concurrent-streams",
            )
        self.active += 1

    def _stream(self, behavior: Callable[[Any, AioContext], AsyncIterator[Any]]) -> Any:
        async def limited(request: Any, context: AioContext) -> AsyncIterator[Any]:
            await self._enter(context)
            responses = behavior(request, context)
            try:
                async for response in responses:
                    yield response
            finally:
                self.active -= 1
                await aclose(responses)

        return limited

    def _wait(self, behavior: Callable[[Any, AioContext], Awaitable[Any]]) -> Any:
        async def limited(request: Any, context: AioContext) -> Any:
            await self._enter(context)
            try:
                return await behavior(request, context)
            finally:
                self.active -= 1

        return limited
