"""Blocking stream objects: the pub/sub Subscription and the ConfigurationWatch.

Rule: one daemon reader thread per stream moves responses into a queue, so every wait has a timeout;
the core protocol objects decide what a response means and what an ack looks like; closing a
subscription drains the acks already given (half-close, short grace) before cancelling (SDK defect 7.7).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import grpc

from ..core.configuration import SUBSCRIBE, SUBSCRIBE_ALPHA1, ConfigurationSubscription, unsubscribe_configuration
from ..core.ops import DAPR
from ..core.pubsub import AckStatus, TopicSubscription
from ..core.results import ConfigUpdate, TopicMessage
from ..errors import DaprError, DeadlineExceeded, Unimplemented
from .sync import SyncDriver

log = logging.getLogger("dapr_nb")
M = TypeVar("M")

_END = object()
_STARTED = object()


class _Stream(Generic[M]):
    """A response stream read by a daemon thread into a queue."""

    method = ""

    def __init__(self, driver: SyncDriver, grace: float) -> None:
        self._driver = driver
        self._grace = grace
        self._items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._call: Any = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self._ended = False

    def _digest(self, response: Any) -> Any:
        raise NotImplementedError

    def _start(self, call: Any, timeout: float) -> None:
        self._call = call
        self._reader = threading.Thread(target=self._read, name=f"dapr-nb-{self.method}", daemon=True)
        self._reader.start()
        try:
            first = self._items.get(timeout=timeout)
        except queue.Empty:
            call.cancel()
            raise DeadlineExceeded(f"{self.method}: no answer within {timeout:g}s", code="DEADLINE_EXCEEDED") from None
        if isinstance(first, DaprError):
            raise first
        if first is _END:
            raise DaprError(f"{self.method}: the sidecar closed the stream at once", operation=self.method)
        if first is not _STARTED:
            self._items.put(first)  # pragma: no cover - a message before the start marker keeps its place

    def _read(self) -> None:
        try:
            for response in self._call:
                item = self._digest(response)
                if item is not None:
                    self._items.put(item)
        except grpc.RpcError as exc:
            if not (self._closing and exc.code() == grpc.StatusCode.CANCELLED):
                self._items.put(self._driver.error(exc, self.method))
        except Exception as exc:  # a bug in digesting: surface it to the reader of the stream
            log.exception("dapr_nb: %s reader failed", self.method)
            self._items.put(DaprError(f"{self.method}: {exc}", operation=self.method))
        finally:
            self._items.put(_END)

    def _next(self, timeout: float | None) -> M | None:
        if self._ended:
            return None
        try:
            item = self._items.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _END:
            self._ended = True
            return None
        if isinstance(item, DaprError):
            self._ended = True
            raise item
        return item  # type: ignore[no-any-return]

    @property
    def active(self) -> bool:
        """Return whether the stream is open and has not ended."""
        return not self._closing and not self._ended

    def __iter__(self) -> Iterator[M]:
        while self.active:
            item = self._next(None)
            if item is not None:
                yield item

    def _stop(self) -> None:
        if self._call is not None:
            self._call.cancel()
        if self._reader is not None:
            self._reader.join(self._grace)


class Subscription(_Stream[TopicMessage]):
    """A streaming pub/sub subscription: iterate messages, ack each one (success, retry or drop), close."""

    method = "SubscribeTopicEventsAlpha1"

    def __init__(self, driver: SyncDriver, protocol: TopicSubscription, grace: float = 2.0) -> None:
        super().__init__(driver, grace)
        self.protocol = protocol
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._flushed = threading.Event()

    def _outgoing(self) -> Iterator[Any]:
        while True:
            request = self._requests.get()
            if request is _END:
                self._flushed.set()
                return
            yield request

    def open(self, timeout: float = 10.0) -> Subscription:
        """Open the stream and wait (≤ ``timeout`` s) for the sidecar's initial response."""
        self._requests.put(self.protocol.initial_request())
        stub = self._driver.stub(DAPR)
        call = stub.SubscribeTopicEventsAlpha1(self._outgoing(), metadata=self._driver.settings.token_metadata)
        self._start(call, timeout)
        return self

    def _digest(self, response: Any) -> Any:
        with self._lock:
            message = self.protocol.receive(response)
        return _STARTED if message is None else message

    def next_message(self, timeout: float | None = None) -> TopicMessage | None:
        """Return the next message, or None after ``timeout`` seconds or when the stream has ended."""
        while True:
            item = self._next(timeout)
            if item is not _STARTED:
                return item

    def __iter__(self) -> Iterator[TopicMessage]:
        for item in super().__iter__():
            if item is not _STARTED:
                yield item

    def ack(self, message: TopicMessage | str, status: AckStatus = "success") -> None:
        """Acknowledge a message: ``success`` (done), ``retry`` (redeliver) or ``drop`` (dead-letter/discard)."""
        message_id = message if isinstance(message, str) else message.id
        if self._closing:
            raise RuntimeError("this subscription is closed")
        with self._lock:
            request = self.protocol.ack(message_id, status)
        self._requests.put(request)

    def success(self, message: TopicMessage | str) -> None:
        """Ack a message as processed."""
        self.ack(message, "success")

    def retry(self, message: TopicMessage | str) -> None:
        """Ack a message for redelivery."""
        self.ack(message, "retry")

    def drop(self, message: TopicMessage | str) -> None:
        """Ack a message as dropped (dead-lettered when the subscription has a dead-letter topic)."""
        self.ack(message, "drop")

    def close(self) -> None:
        """Flush pending acks (half-close, up to the grace period), then cancel the stream; idempotent."""
        if self._closing:
            return
        self._closing = True
        self._requests.put(_END)
        if self._call is not None:
            self._flushed.wait(self._grace)
            if self._reader is not None:
                self._reader.join(self._grace)
        self._stop()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ConfigurationWatch(_Stream[ConfigUpdate]):
    """A configuration subscription: ``id``, iterate updates, ``close()`` unsubscribes."""

    method = SUBSCRIBE

    def __init__(self, driver: SyncDriver, protocol: ConfigurationSubscription, grace: float = 2.0) -> None:
        super().__init__(driver, grace)
        self.protocol = protocol

    @property
    def id(self) -> str:
        """Return the subscription id the sidecar assigned."""
        return self.protocol.id

    def open(self, timeout: float = 10.0) -> ConfigurationWatch:
        """Open the stream (stable RPC, Alpha1 on older sidecars) and wait for the subscription id."""
        stub = self._driver.stub(DAPR)
        metadata = self._driver.settings.token_metadata
        try:
            self._start(stub.SubscribeConfiguration(self.protocol.request(), metadata=metadata), timeout)
        except Unimplemented:
            self.method = SUBSCRIBE_ALPHA1
            self._items = queue.SimpleQueue()
            self._start(stub.SubscribeConfigurationAlpha1(self.protocol.request(), metadata=metadata), timeout)
        return self

    def _digest(self, response: Any) -> Any:
        update = self.protocol.receive(response)
        return _STARTED if update is None else update

    def next_update(self, timeout: float | None = None) -> ConfigUpdate | None:
        """Return the next update, or None after ``timeout`` seconds or when the stream has ended."""
        while True:
            item = self._next(timeout)
            if item is not _STARTED:
                return item

    def __iter__(self) -> Iterator[ConfigUpdate]:
        for item in super().__iter__():
            if item is not _STARTED:
                yield item

    def close(self) -> None:
        """Unsubscribe on the sidecar, then cancel the stream; idempotent."""
        if self._closing:
            return
        self._closing = True
        if self.protocol.id:
            try:
                self._driver.run(unsubscribe_configuration(self.protocol.store, self.protocol.id))
            except DaprError as error:
                log.debug("dapr_nb: unsubscribe %s failed: %s", self.protocol.id, error)
        self._stop()

    def __enter__(self) -> ConfigurationWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
