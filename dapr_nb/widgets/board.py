"""WorkflowBoard: status counts and a live list of workflow instances, like ``dapr workflow list``.

Rule: a daemon poller lists instance ids and asks each for its state without payloads; only the rows
shown (the newest ``max_rows``) are fetched with payloads for their custom status. Rows follow the
CLI's order (created time, then id). A :class:`Batcher` redraws on the event loop.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Dict, Int, List, Unicode

from ..core.results import WorkflowState
from . import registry, render
from .batch import Batcher
from .connection import Source, open_client
from .snapshot import Snapshot

_FAR_FUTURE = _dt.datetime.max.replace(tzinfo=_dt.timezone.utc)


def age(created: _dt.datetime | None, now: _dt.datetime) -> str:
    """Return the CLI's AGE column: humanized time since created, ``<scheduled>`` when unknown."""
    if created is None:
        return "<scheduled>"
    seconds = max((now - created).total_seconds(), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def board_rows(states: Sequence[WorkflowState], now: _dt.datetime) -> list[dict[str, Any]]:
    """Return display rows in the CLI's order: created time (unknown last), then instance id."""
    ordered = sorted(states, key=lambda s: (s.created_at or _FAR_FUTURE, s.instance_id))
    return [
        {"name": s.name, "id": s.instance_id, "status": s.status,
         "custom status": "" if s.custom_status is None else str(s.custom_status), "age": age(s.created_at, now)}
        for s in ordered
    ]  # fmt: skip


class WorkflowBoard(Snapshot, w.VBox):  # type: ignore[misc]
    """Live status counts and instance list; filter by workflow ``name`` and/or ``statuses``."""

    title = Unicode("workflows").tag(sync=True)
    total = Int(0).tag(sync=True)
    counts: Dict[str, int] = Dict().tag(sync=True)
    rows: List[dict[str, Any]] = List().tag(sync=True)
    errors: List[str] = List().tag(sync=True)

    def __init__(
        self,
        *,
        client: Source = None,
        name: str | None = None,
        statuses: Sequence[str] = (),
        max_rows: int = 50,
        poll: float = 1.0,
        live: bool = True,
        interval: float = 0.25,
        key: Any = None,
    ) -> None:
        self._view = w.HTML()
        super().__init__([self._view], title=f"workflows{f' {name}' if name else ''}")
        self.client, self._owns_client = open_client(client)
        self.name_filter, self.statuses = name, {s.upper() for s in statuses}
        self.max_rows, self.poll = max_rows, poll
        self._lock = threading.Lock()
        self._states: list[WorkflowState] = []
        self._errors: list[str] = []
        self._stop = threading.Event()
        self._batcher = Batcher(self._apply, interval=interval, on_error=lambda e: self._errors.append(str(e)))
        self._key = key if key is not None else ("board", name, registry.cell_id())
        self._thread: threading.Thread | None = None
        self.refresh()
        if live:
            registry.register(self._key, self)
            self._thread = threading.Thread(target=self._run, name="dapr-nb-board", daemon=True)
            self._thread.start()

    @property
    def active(self) -> bool:
        """Return whether the poller runs (False once stopped, or for a timeline once the instance finished)."""
        return self._thread is not None and self._thread.is_alive()

    def _wanted(self, state: WorkflowState) -> bool:
        return (self.name_filter is None or state.name == self.name_filter) and (
            not self.statuses or state.status in self.statuses
        )

    def refresh(self) -> None:
        """Poll once on the calling thread (the background poller does this every ``poll`` seconds)."""
        try:
            states = []
            for iid in self.client.list_workflow_ids():
                state = self.client.get_workflow(iid, fetch_payloads=False)
                if state is not None and self._wanted(state):
                    states.append(state)
            states.sort(key=lambda s: (s.created_at or _FAR_FUTURE, s.instance_id))
            shown = [self.client.get_workflow(s.instance_id) or s for s in states[-self.max_rows :]]
            with self._lock:
                self._states, self._shown, self._errors = states, shown, []
        except Exception as exc:  # sidecar down: keep the last list, show why
            with self._lock:
                self._errors = [f"{type(exc).__name__}: {exc}"]
        self._batcher.request()
        if threading.current_thread() is not self._thread:
            self._batcher.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            self.refresh()

    def flush(self) -> None:
        """Redraw now (tests call it instead of the event loop)."""
        self._batcher.request()
        self._batcher.flush()

    def _apply(self) -> None:
        with self._lock:
            states, shown, errors = list(self._states), list(getattr(self, "_shown", [])), list(self._errors)
        counts = dict(Counter(s.status for s in states))
        rows = board_rows(shown, _dt.datetime.now(_dt.timezone.utc))
        with self.hold_sync():
            self.total, self.counts, self.rows, self.errors = len(states), counts, rows, errors
            self._view.value = render.board_snapshot(self.title, counts, rows, errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML (the mime bundle's ``text/html``)."""
        self.flush()
        return str(self._view.value)

    def stop(self) -> None:
        """Stop polling; the view keeps its last picture."""
        if not hasattr(self, "_stop") or self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        registry.unregister(self._key, self)
        if self._owns_client:
            self.client.close()
        self.publish_final()

    def close(self) -> None:
        """Stop polling and close the widget."""
        self._view_closing = True
        self.stop()
        super().close()
