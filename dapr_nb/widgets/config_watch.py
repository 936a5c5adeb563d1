"""ConfigWatch: a live table of configuration values and the history of their changes.

Rule: the :class:`~dapr_nb.widgets.live.LiveWidget` worker owns the configuration subscription: ``connect``
subscribes, ``ready`` reads the current values (the base closes the subscription if that fails, so a
failed attempt leaves no watch behind), ``fetch`` applies updates to a locked model; the stream is
re-opened with back-off when it ends, and the Batcher redraws on the event loop. An update
with an empty value means the key was deleted (Redis semantics, which the sandbox follows).
:meth:`ConfigWatch.wait`, :attr:`ConfigWatch.history` and :meth:`ConfigWatch.to_frame` read the model, so
they need no display refresh and work from a notebook cell.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Int, List, Unicode, validate

from ..core.results import ConfigItem
from . import registry, render
from .connection import Source
from .live import LiveWidget, at_least

POLL = 0.25
HISTORY_COLUMNS = ["time", "key", "old", "new", "version"]


class ConfigModel:
    """Current items and the change history (newest last, bounded); thread-safe."""

    def __init__(self, max_history: int = 500) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.items: dict[str, ConfigItem] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=max_history)
        self.changes = 0

    def load(self, items: Iterable[ConfigItem]) -> None:
        """Set the starting values (no history)."""
        with self._lock:
            self.items = {item.key: item for item in items if item.value != ""}

    def apply(self, items: Iterable[ConfigItem], at: _dt.datetime | None = None) -> int:
        """Apply changed items; return how many really changed (same value and version: ignored)."""
        at = at or _dt.datetime.now(_dt.timezone.utc)
        changed = 0
        with self._lock:
            for item in items:
                old = self.items.get(item.key)
                if old is not None and (old.value, old.version) == (item.value, item.version):
                    continue
                if item.value == "":
                    self.items.pop(item.key, None)
                else:
                    self.items[item.key] = item
                previous = old.value if old else ""
                self.history.append(
                    {"time": at, "key": item.key, "old": previous, "new": item.value, "version": item.version}
                )
                changed += 1
            self.changes += changed
            if changed:
                self._changed.notify_all()
        return changed

    def notify(self) -> None:
        """Wake :meth:`wait_for` callers (the reader thread calls it when it stops)."""
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[int], bool], timeout: float) -> bool:
        """Block (≤ ``timeout`` s) until ``predicate(change_count)`` holds; return whether it does."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.changes), max(timeout, 0.0))

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        """Return (values sorted by key, history newest first with ``time`` as HH:MM:SS.mmm, change count)."""
        with self._lock:
            values = [{"key": k, "value": i.value, "version": i.version} for k, i in sorted(self.items.items())]
            history = [{**h, "time": h["time"].strftime("%H:%M:%S.%f")[:-3]} for h in reversed(self.history)]
            return values, history, self.changes

    def frames(self) -> tuple[Any, Any]:
        """Return (current values, change history oldest first) as pandas DataFrames (pandas imported here)."""
        import pandas as pd

        with self._lock:
            values = [(k, i.value, i.version) for k, i in sorted(self.items.items())]
            history = [tuple(h[c] for c in HISTORY_COLUMNS) for h in self.history]
        return pd.DataFrame(values, columns=["key", "value", "version"]), pd.DataFrame(history, columns=HISTORY_COLUMNS)


class ConfigWatch(LiveWidget):
    """Live configuration values of the ``watched`` keys (all keys when empty) and the history of their changes.

    Synced traits: ``values`` (current, by key), ``recent`` (changes, newest first), ``changes`` (how many),
    ``state``, ``errors``. For code: :meth:`wait`, :attr:`history` and :meth:`to_frame` (DataFrames).
    ``client`` is a Client (borrowed), Settings (the watch makes and closes its own client) or None.
    Nothing is read until :meth:`start` (``dapr_nb.watch_config()`` starts it).
    """

    OPEN_FAILED = "subscribe failed"
    LOST = "stream lost"

    store = Unicode(help="the configuration store").tag(sync=True)
    watched: List[str] = List(Unicode(), help="the keys watched (all keys when empty)").tag(sync=True)
    changes = Int(0, help="changes since the watch began (repeats of a value and version are not changes)").tag(
        sync=True
    )
    values: List[dict[str, Any]] = List(help="current values sorted by key: key, value, version").tag(sync=True)
    recent: List[dict[str, Any]] = List(help="changes, newest first: time, key, old, new, version").tag(sync=True)
    max_history = Int(500, read_only=True, help="changes kept for history")

    def __init__(
        self,
        store: str,
        keys: Sequence[str] = (),
        *,
        client: Source = None,
        max_history: int = 500,
        interval: float = 0.15,
        key: Any = None,
    ) -> None:
        self._view = w.HTML()
        super().__init__(
            [self._view], client=client, interval=interval, store=store, watched=list(keys),
            key=key if key is not None else ("config", store, tuple(keys), registry.cell_id()),
        )  # fmt: skip
        self.set_trait("max_history", max_history)
        self.model = ConfigModel(max_history)

    @validate("max_history")
    def _check_history(self, proposal: Any) -> Any:
        return at_least(proposal, 1)

    def connect(self) -> Any:
        """Subscribe to the watched keys (worker thread)."""
        return self.client.subscribe_configuration(self.store, list(self.watched))

    def ready(self, handle: Any) -> None:
        """Read the current values: the start, or a catch-up with what changed while disconnected (worker thread)."""
        current = self.client.get_configuration(self.store, list(self.watched))
        if self._connected.is_set():
            self.model.apply(current)
        else:
            self.model.load(current)

    def fetch(self, handle: Any) -> bool:
        """Apply the next update, if one comes within 0.25 s; False once the stream ended (worker thread)."""
        update = handle.next_update(timeout=POLL)
        if update is None:
            return bool(handle.active)
        if self.model.apply(update.items):
            self._batcher.request()
        return True

    def wake(self) -> None:
        """Wake :meth:`wait` callers."""
        self.model.notify()

    def wait(self, changes: int = 1, timeout: float = 10.0) -> bool:
        """Wait (≤ ``timeout`` s) until ``changes`` changes arrived in total since the watch began; return whether.

        Repeats of the same value and version are not changes. It waits on the model the worker
        updates, not on the display, so it is safe in a notebook cell; the traits are refreshed before it
        returns. Returns early, False, once the watch is stopped.
        """
        self.model.wait_for(lambda n: n >= changes or self._stopping.is_set(), timeout)
        self.flush()
        return self.model.changes >= changes

    @property
    def history(self) -> Any:
        """Return the changes (≤ ``max_history``, oldest first) as a DataFrame: time, key, old, new, version."""
        return self.model.frames()[1]

    def to_frame(self) -> Any:
        """Return the current values as a DataFrame: key, value, version."""
        return self.model.frames()[0]

    def apply(self) -> None:
        """Copy the model into the traits and redraw (kernel loop)."""
        values, history, changes = self.model.snapshot()
        self.values, self.recent, self.changes = values, history, changes
        header = render.config_header(self.store, self.watched, self.state, self.changes)
        self._view.value = render.config_snapshot(header, values, history[:50], self.errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML (the mime bundle's ``text/html``)."""
        self.flush()
        return str(self._view.value)

    def __repr__(self) -> str:
        return f"ConfigWatch({self.store}, {self.state}, changes={self.changes})"
