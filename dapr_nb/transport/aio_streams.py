"""Asyncio stream objects: AsyncSubscription and AsyncConfigurationWatch (native grpc.aio, no threads).

Rule: the same core protocol objects as the blocking streams; one reader task per stream feeds an
asyncio.Queue so every wait has a timeout; acks are written under a lock and flushed before close cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

import grpc

from ..core.configuration import SUBSCRIBE, SUBSCRIBE_ALPHA1, ConfigurationSubscription, unsubscribe_configuration
from ..core.ops import DAPR
from ..core.pubsub import AckStatus, TopicSubscription
from ..core.results import ConfigUpdate, TopicMessage
from ..errors import DaprError, DeadlineExceeded, Unimplemented
from .aio import AioDriver

log = logging.getLogger("dapr_nb")
M = TypeVar("M")

_END = object()
_STARTED = object()


class _AsyncStream(Generic[M]):
    """A response stream read by a task into an asyncio.Queue."""

    method = ""

    def __init__(self, driver: AioDriver, grace: float) -> None:
        self._driver = driver
        self._grace = grace
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._call: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._ended = False

    def _digest(self, response: Any) -> Any:
        raise NotImplementedError

    async def _start(self, call: Any, timeout: float) -> None:
        self._call = call
        self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            first = await asyncio.wait_for(self._items.get(), timeout)
        except asyncio.TimeoutError:
            call.cancel()
            raise DeadlineExceeded(f"{self.method}: no answer within {timeout:g}s", code="DEADLINE_EXCEEDED") from None
        if isinstance(first, DaprError):
            raise first
        if first is _END:
            raise DaprError(f"{self.method}: the sidecar closed the stream at once", operation=self.method)

    async def _read(self) -> None:
        try:
            while True:
                response = await self._call.read()
                if response is grpc.aio.EOF:
                    break
                item = self._digest(response)
                if item is not None:
                    self._items.put_nowait(item)
        except asyncio.CancelledError:
            pass
        except grpc.RpcError as exc:
            if not (self._closing and exc.code() == grpc.StatusCode.CANCELLED):
                self._items.put_nowait(self._driver.error(exc, self.method))
        except Exception as exc:  # a bug in digesting: surface it to the reader of the stream
            log.exception("dapr_nb: %s reader failed", self.method)
            self._items.put_nowait(DaprError(f"{self.method}: {exc}", operation=self.method))
        finally:
            self._items.put_nowait(_END)

    async def _next(self, timeout: float | None) -> Any:
        while not self._ended:
            try:
                item = await asyncio.wait_for(self._items.get(), timeout)
            except asyncio.TimeoutError:
                return None
            if item is _END:
                self._ended = True
                return None
            if isinstance(item, DaprError):
                self._ended = True
                raise item
            if item is not _STARTED:
                return item
        return None

    @property
    def active(self) -> bool:
        """Return whether the stream is open and has not ended."""
        return not self._closing and not self._ended

    async def _items_iter(self) -> AsyncIterator[M]:
        while self.active:
            item = await self._next(None)
            if item is not None:
                yield item

    def __aiter__(self) -> AsyncIterator[M]:
        return self._items_iter()

    async def _stop(self) -> None:
        if self._call is not None:
            self._call.cancel()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, self._grace)


WRITE_FAILED = (grpc.RpcError, asyncio.InvalidStateError)


async def final_status(call: Any, exc: BaseException) -> grpc.RpcError:
    """Return the call's real status when a write failed because the sidecar had already ended the call.

    grpc.aio reports such a write as a bare INTERNAL ("Internal error from Core") or InvalidStateError; the
    status the sidecar sent (e.g. UNAUTHENTICATED for a wrong token) is on the call itself.
    """
    try:
        code = await asyncio.wait_for(call.code(), 2.0)
        if code is not None and code != grpc.StatusCode.OK:
            return grpc.aio.AioRpcError(
                code, await call.initial_metadata(), await call.trailing_metadata(), await call.details()
            )
    except (asyncio.TimeoutError, grpc.RpcError):
        pass
    if isinstance(exc, grpc.RpcError):
        return exc
    return grpc.aio.AioRpcError(grpc.StatusCode.UNKNOWN, grpc.aio.Metadata(), grpc.aio.Metadata(), str(exc))


class AsyncSubscription(_AsyncStream[TopicMessage]):
    """A streaming pub/sub subscription for asyncio: ``async for``, ``await ack(...)``, ``await close()``."""

    method = "SubscribeTopicEventsAlpha1"

    def __init__(self, driver: AioDriver, protocol: TopicSubscription, grace: float = 2.0) -> None:
        super().__init__(driver, grace)
        self.protocol = protocol
        self._write = asyncio.Lock()

    async def open(self, timeout: float = 10.0) -> AsyncSubscription:
        """Open the stream and wait (≤ ``timeout`` s) for the sidecar's initial response."""
        stub = self._driver.stub(DAPR)
        call = stub.SubscribeTopicEventsAlpha1(metadata=self._driver.settings.token_metadata)
        try:
            await call.write(self.protocol.initial_request())
        except WRITE_FAILED as exc:
            raise self._driver.error(await final_status(call, exc), self.method) from None
        await self._start(call, timeout)
        return self

    def _digest(self, response: Any) -> Any:
        message = self.protocol.receive(response)
        return _STARTED if message is None else message

    async def next_message(self, timeout: float | None = None) -> TopicMessage | None:
        """Return the next message, or None after ``timeout`` seconds or when the stream has ended."""
        return await self._next(timeout)  # type: ignore[no-any-return]

    async def ack(self, message: TopicMessage | str, status: AckStatus = "success") -> None:
        """Acknowledge a message: ``success`` (done), ``retry`` (redeliver) or ``drop`` (dead-letter/discard)."""
        message_id = message if isinstance(message, str) else message.id
        if self._closing:
            raise RuntimeError("this subscription is closed")
        request = self.protocol.ack(message_id, status)
        async with self._write:
            try:
                await self._call.write(request)
            except WRITE_FAILED as exc:
                raise self._driver.error(await final_status(self._call, exc), self.method) from None

    async def success(self, message: TopicMessage | str) -> None:
        """Ack a message as processed."""
        await self.ack(message, "success")

    async def retry(self, message: TopicMessage | str) -> None:
        """Ack a message for redelivery."""
        await self.ack(message, "retry")

    async def drop(self, message: TopicMessage | str) -> None:
        """Ack a message as dropped (dead-lettered when the subscription has a dead-letter topic)."""
        await self.ack(message, "drop")

    async def close(self) -> None:
        """Flush pending acks (half-close, up to the grace period), then cancel the stream; idempotent."""
        if self._closing:
            return
        self._closing = True
        if self._call is not None:
            async with self._write:
                with contextlib.suppress(grpc.RpcError, asyncio.InvalidStateError):
                    await self._call.done_writing()
            if self._reader is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._reader), self._grace)
        await self._stop()

    async def __aenter__(self) -> AsyncSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncConfigurationWatch(_AsyncStream[ConfigUpdate]):
    """A configuration subscription for asyncio: ``id``, ``async for`` updates, ``await close()`` unsubscribes."""

    method = SUBSCRIBE

    def __init__(self, driver: AioDriver, protocol: ConfigurationSubscription, grace: float = 2.0) -> None:
        super().__init__(driver, grace)
        self.protocol = protocol

    @property
    def id(self) -> str:
        """Return the subscription id the sidecar assigned."""
        return self.protocol.id

    async def open(self, timeout: float = 10.0) -> AsyncConfigurationWatch:
        """Open the stream (stable RPC, Alpha1 on older sidecars) and wait for the subscription id."""
        stub = self._driver.stub(DAPR)
        metadata = self._driver.settings.token_metadata
        try:
            await self._start(stub.SubscribeConfiguration(self.protocol.request(), metadata=metadata), timeout)
        except Unimplemented:
            self.method = SUBSCRIBE_ALPHA1
            self._items = asyncio.Queue()
            await self._start(stub.SubscribeConfigurationAlpha1(self.protocol.request(), metadata=metadata), timeout)
        return self

    def _digest(self, response: Any) -> Any:
        update = self.protocol.receive(response)
        return _STARTED if update is None else update

    async def next_update(self, timeout: float | None = None) -> ConfigUpdate | None:
        """Return the next update, or None after ``timeout`` seconds or when the stream has ended."""
        return await self._next(timeout)  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Unsubscribe on the sidecar, then cancel the stream; idempotent."""
        if self._closing:
            return
        self._closing = True
        if self.protocol.id:
            try:
                await self._driver.run(unsubscribe_configuration(self.protocol.store, self.protocol.id))
            except DaprError as error:
                log.debug("dapr_nb: unsubscribe %s failed: %s", self.protocol.id, error)
        await self._stop()

    async def __aenter__(self) -> AsyncConfigurationWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
