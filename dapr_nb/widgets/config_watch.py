"""ConfigWatch: a live table of configuration values and the history of their changes.

Rule: the reader thread owns the configuration subscription (re-subscribing with back-off when the
stream ends) and writes to a locked model; a :class:`Batcher` redraws on the event loop. An update
with an empty value means the key was deleted (Redis semantics, which the sandbox follows).
:meth:`ConfigWatch.wait`, :attr:`ConfigWatch.history` and :meth:`ConfigWatch.to_frame` read the model, so
they need no display refresh and work from a notebook cell.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Int, List, Unicode

from ..core.results import ConfigItem
from . import registry, render
from .batch import Batcher
from .connection import Source, open_client
from .snapshot import Snapshot

log = logging.getLogger("dapr_nb")
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


class ConfigWatch(Snapshot, w.VBox):  # type: ignore[misc]
    """Live configuration values of the ``watched`` keys (all keys when empty) and the history of their changes.

    Synced traits: ``values`` (current, by key), ``recent`` (changes, newest first), ``changes`` (how many),
    ``state``, ``errors``. For code: :meth:`wait`, :attr:`history` and :meth:`to_frame` (DataFrames).
    ``client`` is a Client (borrowed), Settings (the watch makes and closes its own client) or None.
    """

    store = Unicode().tag(sync=True)
    watched: List[str] = List().tag(sync=True)
    state = Unicode("connecting").tag(sync=True)
    changes = Int(0).tag(sync=True)
    values: List[dict[str, Any]] = List().tag(sync=True)
    recent: List[dict[str, Any]] = List().tag(sync=True)
    errors: List[str] = List().tag(sync=True)

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
        super().__init__([self._view], store=store, watched=list(keys))
        self.client, self._owns_client = open_client(client)
        self.model = ConfigModel(max_history)
        self._errors: deque[str] = deque(maxlen=10)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._tried = threading.Event()
        self._watch: Any = None
        self._batcher = Batcher(self._apply, interval=interval, on_error=lambda e: self._errors.append(str(e)))
        self._key = key if key is not None else ("config", store, tuple(keys), registry.cell_id())
        registry.register(self._key, self)
        self._thread = threading.Thread(target=self._run, name=f"dapr-nb-config-{store}", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float = 10.0, *, retry: bool = True) -> bool:
        """Wait (≤ ``timeout`` s) until the subscription is open and the current values are loaded.

        With ``retry=False`` it returns after the first attempt: False at once when the sidecar refuses
        (the reason is the last of ``errors``); the watch itself keeps retrying until stopped.
        """
        (self._connected if retry else self._tried).wait(timeout)
        self.flush()
        return self._connected.is_set()

    def wait(self, changes: int = 1, timeout: float = 10.0) -> bool:
        """Wait (≤ ``timeout`` s) until ``changes`` changes arrived in total since the watch began; return whether.

        Repeats of the same value and version are not changes. It waits on the model the reader thread
        updates, not on the display, so it is safe in a notebook cell; the traits are refreshed before it
        returns. Returns early, False, once the watch is stopped.
        """
        self.model.wait_for(lambda n: n >= changes or self._stop.is_set(), timeout)
        self.flush()
        return self.model.changes >= changes

    @property
    def history(self) -> Any:
        """Return the changes (≤ ``max_history``, oldest first) as a DataFrame: time, key, old, new, version."""
        return self.model.frames()[1]

    def to_frame(self) -> Any:
        """Return the current values as a DataFrame: key, value, version."""
        return self.model.frames()[0]

    @property
    def active(self) -> bool:
        """Return whether the watch is still receiving (False once stopped or closed)."""
        return self._thread.is_alive() and not self._stop.is_set()

    def _set_state(self, state: str) -> None:
        self._state = state
        self._batcher.request()

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                watch = self.client.subscribe_configuration(self.store, list(self.watched))
                self._watch = watch
                current = self.client.get_configuration(self.store, list(self.watched))
                if self._connected.is_set():
                    self.model.apply(current)  # catch up with what changed while disconnected
                else:
                    self.model.load(current)
            except Exception as exc:  # sidecar down: show it, retry with back-off
                self._errors.append(f"subscribe failed: {exc}")
                self._tried.set()
                self._set_state("reconnecting" if self._connected.is_set() else "connecting")
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            self._connected.set()
            self._tried.set()
            self._set_state("connected")
            try:
                while not self._stop.is_set() and watch.active:
                    update = watch.next_update(timeout=POLL)
                    if update is not None and self.model.apply(update.items):
                        self._batcher.request()
            except Exception as exc:
                self._errors.append(f"stream lost: {exc}")
            finally:
                watch.close()
            if not self._stop.is_set():
                self._set_state("reconnecting")
        self.model.notify()

    def flush(self) -> None:
        """Redraw now (tests call it instead of the event loop)."""
        self._batcher.request()
        self._batcher.flush()

    def _apply(self) -> None:
        values, history, changes = self.model.snapshot()
        with self.hold_sync():
            self.values, self.recent, self.changes = values, history, changes
            self.state = getattr(self, "_state", "connecting")
            self.errors = list(self._errors)
            header = render.config_header(self.store, self.watched, self.state, self.changes)
            self._view.value = render.config_snapshot(header, values, history[:50], self.errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML (the mime bundle's ``text/html``)."""
        self.flush()
        return str(self._view.value)

    def stop(self) -> None:
        """Unsubscribe and stop the thread; the view keeps its last picture."""
        if not hasattr(self, "_stop") or self._stop.is_set():
            return
        self._stop.set()
        self.model.notify()
        if self._watch is not None:
            self._watch.close()
        if self._thread is not threading.current_thread():
            self._thread.join(5)
        registry.unregister(self._key, self)
        if self._owns_client:
            self.client.close()
        self._state = "closed"
        self.flush()
        self.publish_final()

    def close(self) -> None:
        """Stop watching and close the widget."""
        self._view_closing = True
        self.stop()
        super().close()

    def __repr__(self) -> str:
        return f"ConfigWatch({self.store}, {self.state}, changes={self.changes})"
