"""gRPC proxying: a call for any service the sidecar does not serve goes to the app named in ``dapr-app-id``.

Rules (dapr/dapr ``pkg/messaging/grpc_proxy.go``): the target is ``dapr-callee-app-id``, else
``dapr-app-id``; without either the call fails UNKNOWN ``cannot proxy request: missing … metadata``.
The sandbox's own app id goes to its gRPC app (metadata without ``dapr-api-token``, plus the app
token); another id is relayed to that sandbox's gRPC port with ``dapr-caller-app-id`` and
``dapr-callee-app-id`` added (and the registry secret, which lets it past that sandbox's API token).
Messages are relayed as bytes, streams included; the target's metadata and status come back as they are.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio

from .direct import SECRET_HEADER, DirectMessaging

CALLEE = "dapr-callee-app-id"
APP_ID = "dapr-app-id"
_MISSING = f"cannot proxy request: missing {CALLEE} or {APP_ID} metadata"


class _Channels:
    """One aio channel per target address, opened on the server's loop when first used."""

    def __init__(self) -> None:
        self._by_address: dict[str, grpc.aio.Channel] = {}
        self._lock = threading.Lock()

    def get(self, address: str) -> grpc.aio.Channel:
        with self._lock:
            channel = self._by_address.get(address)
            if channel is None:
                channel = self._by_address[address] = grpc.aio.insecure_channel(address)
            return channel

    async def close(self) -> None:
        with self._lock:
            channels, self._by_address = list(self._by_address.values()), {}
        for channel in channels:
            await channel.close()


class ProxyHandler(grpc.GenericRpcHandler):
    """Answer every method no other handler serves by proxying it (registered last)."""

    def __init__(self, direct: DirectMessaging, app_grpc: tuple[str, str] | None) -> None:
        self.direct = direct
        self.app_grpc = app_grpc
        """The app's ``host:port`` and token when the app speaks gRPC (None: no local gRPC target)."""
        self.channels = _Channels()

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Return a raw-bytes streaming relay for ``handler_call_details.method``."""
        method = handler_call_details.method
        return grpc.stream_stream_rpc_method_handler(self._relay(method))

    def _relay(self, method: str) -> Callable[[AsyncIterator[bytes], Any], AsyncIterator[bytes]]:
        async def relay(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
            metadata = [(k, v) for k, v in context.invocation_metadata() or ()]
            target = _target(metadata)
            if not target:
                await context.abort(grpc.StatusCode.UNKNOWN, _MISSING)
            try:
                address, outgoing = self._route(target.split(".")[0], metadata)
            except _Abort as exc:
                await context.abort(exc.code, str(exc))
            relayed: Any = self.channels.get(address).stream_stream(method)  # bytes in, bytes out
            call = relayed(requests, metadata=outgoing)
            try:
                await context.send_initial_metadata(tuple(await call.initial_metadata() or ()))
                async for response in call:
                    yield response
                context.set_trailing_metadata(tuple(await call.trailing_metadata() or ()))
            except grpc.aio.AioRpcError as error:
                context.set_trailing_metadata(tuple(error.trailing_metadata() or ()))
                await context.abort(error.code(), error.details() or "")

        return relay

    def _route(self, app_id: str, metadata: list[tuple[str, Any]]) -> tuple[str, list[tuple[str, Any]]]:
        """Return where to send the call and with which metadata; _Abort with daprd's error when nowhere."""
        if app_id == self.direct.app_id:
            if self.app_grpc is None:
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "failed to proxy request: the app does not speak gRPC")
            address, token = self.app_grpc
            kept = [(k, v) for k, v in metadata if k not in ("dapr-api-token", SECRET_HEADER)]
            return address, [*kept, ("dapr-api-token", token)] if token else kept
        entry = self.direct.registry.lookup(app_id) if self.direct.registry is not None else None
        if entry is None:
            raise _Abort(grpc.StatusCode.UNKNOWN, f"couldn't find service: {app_id}")
        extra = [("dapr-caller-app-id", self.direct.app_id), (CALLEE, entry.app_id), (SECRET_HEADER, entry.secret)]
        kept = [(k, v) for k, v in metadata if k not in ("dapr-api-token", CALLEE, SECRET_HEADER)]
        return f"{entry.host}:{entry.grpc_port}", [*kept, *extra]


class _Abort(Exception):
    """The proxy cannot route the call."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _target(metadata: list[tuple[str, Any]]) -> str:
    for key in (CALLEE, APP_ID):
        value = next((v for k, v in metadata if k == key), "")
        if value:
            return str(value)
    return ""
