"""WorkflowTimeline: a live Gantt view of one workflow instance, built from GetInstanceHistory.

Rule: the :class:`~dapr_nb.widgets.live.LiveWidget` worker polls every ``poll`` s for the instance's state
without payloads (one cheap RPC); only when its status or ``last_updated_at`` moves does it fetch the
state with payloads and the history (and the children's) and rebuild the spans model. It never touches
the widget: the Batcher redraws on the event loop — every tick while the instance runs, so the 'now'
playhead moves — and the widget stops by itself once the instance is terminal (or does not exist).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Bool, Int, List, Unicode, validate

from ..core.results import WorkflowState
from . import registry
from .connection import Source
from .live import RUNNING, at_least
from .poller import Poller
from .render import errors_html
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


class WorkflowTimeline(Poller):
    """Live timeline of a workflow instance: status header, one row per span, tooltips, a 'now' playhead.

    ``instance`` is the newest WorkflowState (None until read, or when there is no such instance).
    Nothing is read until :meth:`start` or :meth:`refresh` (``dapr_nb.timeline()`` starts it).
    """

    instance_id = Unicode(help="the workflow instance shown").tag(sync=True)
    name = Unicode(help="the workflow's name").tag(sync=True)
    status = Unicode("", help="the instance's runtime status (RUNNING, COMPLETED, ...)").tag(sync=True)
    custom_status = Unicode("", help="the instance's custom status, as text").tag(sync=True)
    event_count = Int(0, help="history events read").tag(sync=True)
    live = Bool(False, help="whether the timeline still follows the instance").tag(sync=True)
    rows: List[dict[str, Any]] = List(help="the timeline's rows: label, kind, number of spans").tag(sync=True)
    aggregate_at = Int(AGGREGATE_AT, read_only=True, help="bars of one name are aggregated from this many on")

    def __init__(
        self,
        instance_id: str,
        *,
        client: Source = None,
        poll: float = 0.5,
        interval: float = 0.25,
        aggregate_at: int = AGGREGATE_AT,
        key: Any = None,
    ) -> None:
        self._view, self._errors_view = w.HTML(), w.HTML()
        super().__init__(
            [self._view, self._errors_view], client=client, interval=interval, instance_id=instance_id, poll=poll,
            key=key if key is not None else ("timeline", instance_id, registry.cell_id()),
        )  # fmt: skip
        self.set_trait("aggregate_at", aggregate_at)
        self.timeline = Timeline(instance_id=instance_id)
        self.instance: WorkflowState | None = None
        self._gone = False
        self._seen: Any = None
        self._lock = threading.Lock()

    @validate("aggregate_at")
    def _check_aggregate(self, proposal: Any) -> Any:
        return at_least(proposal, 1)

    @property
    def terminal(self) -> bool:
        """Return whether the instance has finished, or does not exist (False before the first poll)."""
        return self._gone or (self.instance is not None and self.instance.is_terminal)

    def finished(self) -> bool:
        """Return whether the instance is terminal or gone: then there is nothing more to follow."""
        return self.terminal

    def poll_once(self) -> bool:
        """Read the state without payloads; on a change, the state with payloads and the history."""
        state = self.client.get_workflow(self.instance_id, fetch_payloads=False)
        if state is None:
            self.note_error(f"no workflow instance {self.instance_id!r}")
            with self._lock:
                self.instance, self._gone = None, True
            return True
        seen = (state.status, state.last_updated_at)
        if seen == self._seen:
            return False
        full = self.client.get_workflow(self.instance_id, fetch_payloads=True) or state
        timeline = fetch_timeline(self.client, self.instance_id, aggregate_at=self.aggregate_at)
        with self._lock:
            self.instance, self.timeline, self._seen = full, timeline, seen
        return True

    def apply(self) -> None:
        """Copy the newest state and spans into the traits and redraw (kernel loop)."""
        with self._lock:
            state, timeline = self.instance, self.timeline
        running = self.state in RUNNING
        self.name = timeline.name or getattr(state, "name", "")
        self.status = getattr(state, "status", None) or timeline.status
        custom = getattr(state, "custom_status", None)
        self.custom_status = "" if custom is None else str(custom)
        self.event_count = timeline.event_count
        self.rows = [{"label": r.label, "kind": r.kind, "spans": len(r.spans)} for r in timeline.rows]
        self.live = running
        self._view.value = timeline_html(timeline, state, playhead=running)
        self._errors_view.value = errors_html(self.errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML with inline SVG (the mime bundle's ``text/html``)."""
        self.flush()
        return f"<div>{self._view.value}{self._errors_view.value}</div>"

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait (≤ ``timeout`` s) for the worker to stop (the instance finished); return whether it did."""
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()
        return self._thread is None or not self._thread.is_alive()

    def __repr__(self) -> str:
        return f"WorkflowTimeline({self.instance_id}, {self.status}, events={self.event_count})"
