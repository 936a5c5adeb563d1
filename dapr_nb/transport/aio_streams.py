"""Asyncio stream objects: AsyncSubscription and AsyncConfigurationWatch (native grpc.aio, no threads).

Rule: the same core protocol objects as the blocking streams, and the same split: the driver only moves
messages and owns the deadlines. One reader task per stream feeds responses, the end or the error to the
protocol and queues what the user gets in an asyncio.Queue; acks are written under a lock, a write that
fails is reported to the protocol (which says what to raise), and acks are flushed before close cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Generic, TypeVar, cast

import grpc

from ..core.configuration import ConfigurationSubscription
from ..core.ops import DAPR, Op
from ..core.pubsub import AckStatus, TopicSubscription
from ..core.results import ConfigUpdate, TopicMessage
from ..core.streams import Open, StreamProtocol, delivery
from ..errors import Cancelled, DaprError
from .aio import AioDriver
from .aio_status import CallEnding
from .stream_api import WAKE, AckShortcuts, StreamStatus, WatchId, message_id

log = logging.getLogger("dapr_nb")
P = TypeVar("P", bound=StreamProtocol)
T = TypeVar("T")
S = TypeVar("S", bound="_AsyncStream[Any, Any]")

WRITE_FAILED = (grpc.RpcError, asyncio.InvalidStateError)


class _AsyncStream(StreamStatus[P], Generic[P, T]):
    """One stream on the asyncio driver; ``protocol`` (core) holds its state."""

    def __init__(self, driver: AioDriver, protocol: P, grace: float = 2.0) -> None:
        self._driver = driver
        self.protocol = protocol
        self._grace = grace
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._settled = asyncio.Event()
        self._write = asyncio.Lock()
        self._call: Any = None
        self._ending: CallEnding | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self: S, timeout: float = 10.0) -> S:
        """Open the stream and wait (≤ ``timeout`` s) until the sidecar accepts it; raise why it did not."""
        while True:
            self._settled.clear()
            await self._begin(self.protocol.opening())
            try:
                await asyncio.wait_for(self._settled.wait(), timeout)
            except asyncio.TimeoutError:
                self._call.cancel()
                raise self.protocol.timed_out(timeout) from None
            if self.protocol.opened():
                return self

    async def _begin(self, opening: Open) -> None:
        rpc = getattr(self._driver.stub(DAPR), opening.method)
        metadata = self._driver.settings.token_metadata
        self._call = rpc(metadata=metadata) if opening.bidi else rpc(opening.request, metadata=metadata)
        self._ending = CallEnding(self._call, self._grace)  # before the first write: see aio_status
        if opening.bidi:
            try:
                await self._call.write(opening.request)
            except WRITE_FAILED as exc:
                self.protocol.fail(await self._failure(exc))
                self._settled.set()
                return
        self._reader = asyncio.get_running_loop().create_task(self._read(self._call))

    async def _failure(self, exc: BaseException) -> DaprError:
        """Return the DaprError for a failed write or read: the sidecar's status, not grpc's local INTERNAL."""
        assert self._ending is not None  # set with the call, before any write or read
        return self._driver.error(await self._ending.error(exc), self.protocol.method)

    async def _read(self, call: Any) -> None:
        method = self.protocol.method
        try:
            while (response := await call.read()) is not grpc.aio.EOF:
                item = delivery(self.protocol.receive(response))
                self._settled.set()
                if item is not None:
                    self._items.put_nowait(item)
            self.protocol.end()
        except asyncio.CancelledError:
            self.protocol.fail(Cancelled(f"{method}: the stream was cancelled", code="CANCELLED", operation=method))
        except grpc.RpcError as exc:
            self.protocol.fail(await self._failure(exc))
        except Exception as exc:  # a bug in digesting: surface it to the reader of the stream
            log.exception("dapr_nb: %s reader failed", method)
            self.protocol.fail(DaprError(f"{method}: {exc}", operation=method))
        finally:
            self._items.put_nowait(WAKE)
            self._settled.set()

    async def _next(self, timeout: float | None) -> T | None:
        while self.protocol.readable():
            try:
                item = await asyncio.wait_for(self._items.get(), timeout)
            except asyncio.TimeoutError:
                return None
            if item is not WAKE:
                return cast(T, item)
        return None

    async def _items_iter(self) -> AsyncIterator[T]:
        while (item := await self._next(None)) is not None:
            yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items_iter()

    async def _send(self, request: Any) -> None:
        async with self._write:
            try:
                await self._call.write(request)
            except WRITE_FAILED as exc:
                raise self.protocol.fail(await self._failure(exc)) from None

    async def close(self) -> None:
        """Close the stream: drain or unsubscribe as the protocol says, then cancel; idempotent."""
        closing = self.protocol.close()
        if closing is None:
            return
        if closing.flush and self._call is not None:
            async with self._write:
                with contextlib.suppress(*WRITE_FAILED):
                    await self._call.done_writing()
            await self._join(shield=True)
        if closing.op is not None:
            await self._run_quietly(closing.op)
        if self._call is not None:
            self._call.cancel()
        await self._join(shield=False)
        self.protocol.closed()

    async def _join(self, shield: bool) -> None:
        if self._reader is not None:
            waited: Awaitable[None] = asyncio.shield(self._reader) if shield else self._reader
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(waited, self._grace)

    async def _run_quietly(self, op: Op[Any]) -> None:
        try:
            await self._driver.run(op)
        except DaprError as error:
            log.debug("dapr_nb: closing %s: %s", self.protocol.describe(), error)

    async def __aenter__(self: S) -> S:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncSubscription(_AsyncStream[TopicSubscription, TopicMessage], AckShortcuts[Awaitable[None]]):
    """A streaming pub/sub subscription for asyncio: ``async for``, ``await ack(...)``, ``await close()``."""

    async def next_message(self, timeout: float | None = None) -> TopicMessage | None:
        """Return the next message, or None after ``timeout`` s or once closed; StreamFailed if the stream failed."""
        return await self._next(timeout)

    async def ack(self, message: TopicMessage | str, status: AckStatus = "success") -> None:
        """Acknowledge a message: ``success`` (done), ``retry`` (redeliver) or ``drop`` (dead-letter/discard).

        StreamClosed / StreamFailed when the stream can no longer carry it (the broker decides redelivery).
        """
        await self._send(self.protocol.ack(message_id(message), status).request)


class AsyncConfigurationWatch(_AsyncStream[ConfigurationSubscription, ConfigUpdate], WatchId):
    """A configuration subscription for asyncio: ``id``, ``async for`` updates, ``await close()`` unsubscribes."""

    async def next_update(self, timeout: float | None = None) -> ConfigUpdate | None:
        """Return the next update, or None after ``timeout`` s or once closed; StreamFailed if the stream failed."""
        return await self._next(timeout)
