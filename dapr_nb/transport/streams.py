"""Blocking stream objects: the pub/sub Subscription and the ConfigurationWatch.

Rule: the driver only moves messages and owns the deadlines. One daemon reader thread per stream feeds
each response, the stream's end or its error to the core protocol object (under a lock) and queues what
the user gets, so every wait has a timeout; the protocol decides what a response means, whether an ack
may be sent, and the state after the end. Closing a subscription drains the acks already given
(half-close, short grace) before cancelling (SDK defect 7.7).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any, Generic, TypeVar, cast

import grpc

from ..core.configuration import ConfigurationSubscription
from ..core.ops import DAPR, Op
from ..core.pubsub import AckStatus, TopicSubscription
from ..core.results import ConfigUpdate, TopicMessage
from ..core.streams import Open, StreamProtocol, delivery
from ..errors import DaprError
from .stream_api import WAKE, AckShortcuts, StreamStatus, WatchId, message_id
from .sync import SyncDriver

log = logging.getLogger("dapr_nb")
P = TypeVar("P", bound=StreamProtocol)
T = TypeVar("T")
S = TypeVar("S", bound="_Stream[Any, Any]")


class _Stream(StreamStatus[P], Generic[P, T]):
    """One stream on the blocking driver; ``protocol`` (core) holds its state."""

    def __init__(self, driver: SyncDriver, protocol: P, grace: float = 2.0) -> None:
        self._driver = driver
        self.protocol = protocol
        self._grace = grace
        self._lock = threading.Lock()
        self._items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._settled = threading.Event()
        self._flushed = threading.Event()
        self._call: Any = None
        self._reader: threading.Thread | None = None

    def open(self: S, timeout: float = 10.0) -> S:
        """Open the stream and wait (≤ ``timeout`` s) until the sidecar accepts it; raise why it did not."""
        while True:
            self._settled.clear()
            with self._lock:
                opening = self.protocol.opening()
            self._begin(opening)
            if not self._settled.wait(timeout):
                self._call.cancel()
                with self._lock:
                    raise self.protocol.timed_out(timeout)
            with self._lock:
                if self.protocol.opened():
                    return self

    def _begin(self, opening: Open) -> None:
        rpc = getattr(self._driver.stub(DAPR), opening.method)
        metadata = self._driver.settings.token_metadata
        requests: queue.SimpleQueue[Any] = queue.SimpleQueue()  # per call: a reopen never sees the last one's WAKE
        self._requests = requests
        if opening.bidi:
            requests.put(opening.request)
            self._call = rpc(self._outgoing(requests), metadata=metadata)
        else:
            self._call = rpc(opening.request, metadata=metadata)
        self._reader = threading.Thread(
            target=self._read, args=(self._call, requests), name=f"dapr-nb-{opening.method}"
        )
        self._reader.daemon = True
        self._reader.start()

    def _outgoing(self, requests: queue.SimpleQueue[Any]) -> Iterator[Any]:
        while (request := requests.get()) is not WAKE:
            yield request
        self._flushed.set()

    def _read(self, call: Any, requests: queue.SimpleQueue[Any]) -> None:
        try:
            for response in call:
                with self._lock:
                    item = delivery(self.protocol.receive(response))
                self._settled.set()
                if item is not None:
                    self._items.put(item)
            with self._lock:
                self.protocol.end()
        except grpc.RpcError as exc:
            self._report(self._driver.error(exc, self.protocol.method))
        except Exception as exc:  # a bug in digesting: surface it to the reader of the stream
            log.exception("dapr_nb: %s reader failed", self.protocol.method)
            self._report(DaprError(f"{self.protocol.method}: {exc}", operation=self.protocol.method))
        finally:
            requests.put(WAKE)  # the response stream is over: end the request iterator (grpc's thread) too
            self._items.put(WAKE)
            self._settled.set()

    def _report(self, error: DaprError) -> None:
        with self._lock:
            self.protocol.fail(error)

    def _next(self, timeout: float | None) -> T | None:
        while True:
            with self._lock:
                if not self.protocol.readable():
                    return None
            try:
                item = self._items.get(timeout=timeout)
            except queue.Empty:
                return None
            if item is not WAKE:
                return cast(T, item)

    def __iter__(self) -> Iterator[T]:
        while (item := self._next(None)) is not None:
            yield item

    def close(self) -> None:
        """Close the stream: drain or unsubscribe as the protocol says, then cancel; idempotent."""
        with self._lock:
            closing = self.protocol.close()
        if closing is None:
            return
        if closing.flush:
            self._requests.put(WAKE)
            if self._call is not None:
                self._flushed.wait(self._grace)
            self._join()
        if closing.op is not None:
            self._run_quietly(closing.op)
        self._requests.put(WAKE)  # in case the reader never ran
        if self._call is not None:
            self._call.cancel()
        self._join()
        with self._lock:
            self.protocol.closed()

    def _join(self) -> None:
        if self._reader is not None:
            self._reader.join(self._grace)

    def _run_quietly(self, op: Op[Any]) -> None:
        try:
            self._driver.run(op)
        except DaprError as error:
            log.debug("dapr_nb: closing %s: %s", self.protocol.describe(), error)

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription(_Stream[TopicSubscription, TopicMessage], AckShortcuts[None]):
    """A streaming pub/sub subscription: iterate messages, ack each one (success, retry or drop), close."""

    def next_message(self, timeout: float | None = None) -> TopicMessage | None:
        """Return the next message, or None after ``timeout`` s or once closed; StreamFailed if the stream failed."""
        return self._next(timeout)

    def ack(self, message: TopicMessage | str, status: AckStatus = "success") -> None:
        """Acknowledge a message: ``success`` (done), ``retry`` (redeliver) or ``drop`` (dead-letter/discard).

        StreamClosed / StreamFailed when the stream can no longer carry it (the broker decides redelivery).
        An ack given in the instant before the reader notices a failure is queued and lost with the stream.
        """
        with self._lock:
            ack = self.protocol.ack(message_id(message), status)
        self._requests.put(ack.request)


class ConfigurationWatch(_Stream[ConfigurationSubscription, ConfigUpdate], WatchId):
    """A configuration subscription: ``id``, iterate updates, ``close()`` unsubscribes."""

    def next_update(self, timeout: float | None = None) -> ConfigUpdate | None:
        """Return the next update, or None after ``timeout`` s or once closed; StreamFailed if the stream failed."""
        return self._next(timeout)
