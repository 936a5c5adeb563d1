"""WorkflowTimeline: a live Gantt view of one workflow instance, built from GetInstanceHistory.

Rule: a daemon poller asks for the instance's state without payloads (cheap); only when
``last_updated_at`` moves does it fetch the history (and the children's) and rebuild the spans model.
It never touches the widget: a :class:`Batcher` redraws on the event loop — every tick while the
instance runs, so the 'now' playhead moves — and the poller stops once the instance is terminal.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Bool, Int, List, Unicode

from ..core.results import WorkflowState
from . import registry
from .batch import Batcher
from .connection import Source, open_client
from .render import errors_html
from .snapshot import Snapshot
from .timeline_model import AGGREGATE_AT, Timeline, build_timeline
from .timeline_render import timeline_html

log = logging.getLogger("dapr_nb")
MAX_DEPTH = 3


def fetch_timeline(
    client: Any, instance_id: str, *, depth: int = MAX_DEPTH, aggregate_at: int = AGGREGATE_AT
) -> Timeline:
    """Fetch an instance's history (and its children's, ``depth`` levels down) and build the model."""
    timeline = build_timeline(client.get_workflow_history(instance_id), aggregate_at=aggregate_at)
    if depth <= 0 or timeline.aggregated:
        return timeline
    children = {}
    for child_id in timeline.child_ids():
        child_id = child_id.removeprefix("child:")
        try:
            children[child_id] = fetch_timeline(client, child_id, depth=depth - 1, aggregate_at=aggregate_at)
        except Exception as exc:  # a purged or not-yet-created child: show the parent anyway
            log.debug("dapr_nb: no history for child %s: %s", child_id, exc)
    return replace(timeline, children=children)


class WorkflowTimeline(Snapshot, w.VBox):  # type: ignore[misc]
    """Live timeline of a workflow instance: status header, one row per span, tooltips, a 'now' playhead."""

    instance_id = Unicode().tag(sync=True)
    name = Unicode().tag(sync=True)
    status = Unicode("").tag(sync=True)
    custom_status = Unicode("").tag(sync=True)
    event_count = Int(0).tag(sync=True)
    live = Bool(False).tag(sync=True)
    rows: List[dict[str, Any]] = List().tag(sync=True)
    errors: List[str] = List().tag(sync=True)

    def __init__(
        self,
        instance_id: str,
        *,
        client: Source = None,
        poll: float = 0.5,
        live: bool = True,
        interval: float = 0.25,
        aggregate_at: int = AGGREGATE_AT,
        key: Any = None,
    ) -> None:
        self._view = w.HTML()
        self._errors_view = w.HTML()
        super().__init__([self._view, self._errors_view], instance_id=instance_id)
        self.client, self._owns_client = open_client(client)
        self.poll, self.aggregate_at = poll, aggregate_at
        self.timeline = Timeline(instance_id=instance_id)
        self.state: WorkflowState | None = None
        self._errors: list[str] = []
        self._seen: Any = object()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._batcher = Batcher(self._apply, interval=interval, on_error=lambda e: self._note(f"redraw failed: {e}"))
        self._thread: threading.Thread | None = None
        self._final = False
        self._key = key if key is not None else ("timeline", instance_id, registry.cell_id())
        self.refresh()
        if live and not self.terminal:
            registry.register(self._key, self)
            self.live = True
            self._thread = threading.Thread(target=self._run, name=f"dapr-nb-timeline-{instance_id}", daemon=True)
            self._thread.start()

    @property
    def active(self) -> bool:
        """Return whether the poller runs (False once stopped, or for a timeline once the instance finished)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def terminal(self) -> bool:
        """Return whether the instance has finished (or does not exist)."""
        return self.state is None or self.state.is_terminal

    def refresh(self) -> bool:
        """Poll once on the calling thread: state, then history if it changed; return whether it changed."""
        try:
            state = self.client.get_workflow(self.instance_id, fetch_payloads=False)
            last = getattr(self.state, "status", "")
            changed = state is None or state.last_updated_at != self._seen or state.status != last
            if state is not None and changed:
                full = self.client.get_workflow(self.instance_id, fetch_payloads=True) or state
                timeline = fetch_timeline(self.client, self.instance_id, aggregate_at=self.aggregate_at)
                with self._lock:
                    self.state, self.timeline, self._seen = full, timeline, state.last_updated_at
            elif state is None:
                self._note(f"no workflow instance {self.instance_id!r}")
                with self._lock:
                    self.state = None
        except Exception as exc:  # the sidecar is down or the history is gone: show it, keep polling
            self._note(f"{type(exc).__name__}: {exc}")
            changed = False
        self._batcher.request()
        if threading.current_thread() is not self._thread:
            self._batcher.flush()
        return changed

    def _note(self, text: str) -> None:
        with self._lock:
            if not self._errors or self._errors[-1] != text:
                self._errors = [*self._errors[-9:], text]

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            self.refresh()
            if self.terminal:
                break
        self._batcher.request()

    def flush(self) -> None:
        """Redraw now from the latest polled data (tests call it instead of the event loop)."""
        self._batcher.request()
        self._batcher.flush()

    def _apply(self) -> None:
        with self._lock:
            state, timeline, errors = self.state, self.timeline, list(self._errors)
        running = self._thread is not None and self._thread.is_alive() and not self.terminal
        with self.hold_sync():
            self.name = timeline.name or getattr(state, "name", "")
            self.status = getattr(state, "status", None) or timeline.status
            custom = getattr(state, "custom_status", None)
            self.custom_status = "" if custom is None else str(custom)
            self.event_count = timeline.event_count
            self.rows = [{"label": r.label, "kind": r.kind, "spans": len(r.spans)} for r in timeline.rows]
            self.errors = errors
            self.live = running
            self._view.value = timeline_html(timeline, state, playhead=running)
            self._errors_view.value = errors_html(errors)
        if self._thread is not None and not running and not self._final:
            self._final = True  # the poller has stopped: leave the finished picture in the saved notebook
            self.publish_final()

    def snapshot_html(self) -> str:
        """Return the current picture as HTML with inline SVG (the mime bundle's ``text/html``)."""
        self.flush()
        return f"<div>{self._view.value}{self._errors_view.value}</div>"

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait (≤ ``timeout`` s) for the poller to stop (the instance finished); return whether it did."""
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()
        return self._thread is None or not self._thread.is_alive()

    def stop(self) -> None:
        """Stop polling; the view keeps its last picture."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        registry.unregister(self._key, self)
        if self._owns_client and getattr(self, "client", None) is not None:
            self.client.close()
            self._owns_client = False
        self.flush()

    def close(self) -> None:
        """Stop polling and close the widget."""
        self._view_closing = True
        if hasattr(self, "_stop"):
            self.stop()
        super().close()

    def __repr__(self) -> str:
        return f"WorkflowTimeline({self.instance_id}, {self.status}, events={self.event_count})"
