"""Live views for ``%dapr subscribe`` and ``%dapr config watch``: a background reader with counts and ``to_frame``.

Rule: one daemon thread per view reads the client's stream with a short poll timeout, so ``close()``
always returns within a bounded time; a topic view acks every message ``success`` once it is recorded.
Errors end the view and are kept in ``.error`` (and shown in its repr) — they never vanish in a thread.
(A widgets issue will put these behind a widget; the bookkeeping stays here.)
"""

from __future__ import annotations

import datetime as _dt
import html
import threading
from collections.abc import Callable
from typing import Any

from ..core.results import ConfigItem, TopicMessage
from ..errors import DaprError
from ..transport.streams import ConfigurationWatch, Subscription

POLL = 0.2


class _View:
    """A reader thread over a stream, with a lock-protected record."""

    kind = "view"

    def __init__(self, stream: Subscription | ConfigurationWatch, max_rows: int) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self.max_rows = max_rows
        self.error = ""
        self._thread = threading.Thread(target=self._run, name=f"dapr-nb-{self.kind}", daemon=True)

    def _start(self) -> None:
        self._thread.start()

    def _step(self) -> bool:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            while not self._stopping.is_set() and self._stream.active and self._step():
                pass
        except DaprError as error:
            self.error = error.summary()
        finally:
            self._stream.close()
            with self._changed:
                self._changed.notify_all()

    @property
    def active(self) -> bool:
        """Return whether the view is still receiving."""
        return self._thread.is_alive() and not self._stopping.is_set()

    def close(self) -> None:
        """Stop receiving and close the stream (idempotent; returns within a few seconds)."""
        self._stopping.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5.0)
        self._stream.close()

    def _wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate() or not self._thread.is_alive(), timeout)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _state(self) -> str:
        if self.error:
            return f"stopped: {self.error}"
        return "receiving" if self.active else "closed"


class TopicView(_View):
    """The live view of a topic: messages received (acked ``success``), counts, ``to_frame()``, ``close()``."""

    kind = "subscribe"

    def __init__(self, stream: Subscription, *, max_messages: int | None = None, max_rows: int = 50) -> None:
        super().__init__(stream, max_rows)
        self.subscription = stream
        self.pubsub = stream.protocol.pubsub
        self.topic = stream.protocol.topic
        self.max_messages = max_messages
        self.messages: list[TopicMessage] = []
        self.received_at: list[_dt.datetime] = []
        self.acked = 0
        self._start()

    @property
    def received(self) -> int:
        """Return how many messages arrived."""
        return len(self.messages)

    def _step(self) -> bool:
        message = self.subscription.next_message(POLL)
        if message is None:
            return True
        self.subscription.success(message)
        with self._changed:
            self.messages.append(message)
            self.received_at.append(_dt.datetime.now(_dt.timezone.utc))
            self.acked += 1
            if self.max_messages is not None and self.received >= self.max_messages:
                self._stopping.set()
            self._changed.notify_all()
        return not self._stopping.is_set()

    def wait(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait (at most ``timeout`` s) until ``count`` messages arrived; return whether they did."""
        return self._wait_for(lambda: self.received >= count, timeout) and self.received >= count

    def to_frame(self) -> Any:
        """Return the received messages as a DataFrame (``id``, ``pubsub``, ``topic``, ``content_type``, data…)."""
        from ..frames import message_frame

        with self._lock:
            messages = list(self.messages)
        return message_frame(messages)

    def __repr__(self) -> str:
        return f"<TopicView {self.pubsub}/{self.topic}: {self.received} received, {self.acked} acked, {self._state()}>"

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        frame = self.to_frame()
        return f"<p>{head}</p>" + (str(frame.tail(self.max_rows).to_html()) if len(frame) else "")


class ConfigView(_View):
    """The live view of configuration keys: current ``items``, every update, ``to_frame()``, ``close()``."""

    kind = "config-watch"

    def __init__(self, stream: ConfigurationWatch, initial: tuple[ConfigItem, ...], *, max_rows: int = 50) -> None:
        super().__init__(stream, max_rows)
        self.watch = stream
        self.store = stream.protocol.store
        self.items: dict[str, ConfigItem] = {item.key: item for item in initial}
        self.updates: list[tuple[_dt.datetime, ConfigItem]] = []
        self._start()

    @property
    def id(self) -> str:
        """Return the subscription id the sidecar assigned."""
        return self.watch.id

    def _step(self) -> bool:
        update = self.watch.next_update(POLL)
        if update is None:
            return True
        now = _dt.datetime.now(_dt.timezone.utc)
        with self._changed:
            for item in update.items:
                self.items[item.key] = item
                self.updates.append((now, item))
            self._changed.notify_all()
        return True

    def wait(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait (at most ``timeout`` s) until ``count`` item updates arrived; return whether they did."""
        return self._wait_for(lambda: len(self.updates) >= count, timeout) and len(self.updates) >= count

    def to_frame(self) -> Any:
        """Return the current items as a DataFrame: ``key``, ``value``, ``version``, ``metadata``."""
        import pandas

        with self._lock:
            rows = [(i.key, i.value, i.version, dict(i.metadata)) for i in sorted(self.items.values(), key=_key)]
        return pandas.DataFrame(rows, columns=["key", "value", "version", "metadata"])

    def history(self) -> Any:
        """Return every update received as a DataFrame: ``received``, ``key``, ``value``, ``version``."""
        import pandas

        with self._lock:
            rows = [(t, i.key, i.value, i.version) for t, i in self.updates]
        return pandas.DataFrame(rows, columns=["received", "key", "value", "version"])

    def __repr__(self) -> str:
        return f"<ConfigView {self.store}: {len(self.items)} keys, {len(self.updates)} updates, {self._state()}>"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + str(self.to_frame().head(self.max_rows).to_html())


def _key(item: ConfigItem) -> str:
    return str(item.key)
