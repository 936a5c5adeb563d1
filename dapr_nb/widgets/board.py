"""WorkflowBoard: status counts and a live list of workflow instances, like ``dapr workflow list``.

Rule: the :class:`~dapr_nb.widgets.live.LiveWidget` worker polls every ``poll`` s, cheaply: one list call,
then a state without payloads only for instances that are new or not yet finished (a finished instance
does not change; it is forgotten when it leaves the list), then payloads (for the custom status) only for
the rows shown — the newest ``max_rows`` — whose status or ``last_updated_at`` moved. A poll of a quiet
sidecar therefore costs 1 + (unfinished instances) RPCs, however many finished ones it holds. Rows follow
the CLI's order (created time, then id). The Batcher redraws on the event loop.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Dict, Int, List, Unicode, validate

from ..core.results import WorkflowState
from . import registry, render
from .connection import Source
from .live import at_least
from .poller import Poller

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


def _order(state: WorkflowState) -> tuple[_dt.datetime, str]:
    return state.created_at or _FAR_FUTURE, state.instance_id


def board_rows(states: Sequence[WorkflowState], now: _dt.datetime) -> list[dict[str, Any]]:
    """Return display rows in the CLI's order: created time (unknown last), then instance id."""
    ordered = sorted(states, key=_order)
    return [
        {"name": s.name, "id": s.instance_id, "status": s.status,
         "custom status": "" if s.custom_status is None else str(s.custom_status), "age": age(s.created_at, now)}
        for s in ordered
    ]  # fmt: skip


class WorkflowBoard(Poller):
    """Live status counts and instance list; filter by workflow ``name`` and/or ``statuses``.

    Nothing is read until :meth:`start` or :meth:`refresh` (``dapr_nb.board()`` starts it).
    """

    title = Unicode("workflows", help="the board's title").tag(sync=True)
    total = Int(0, help="instances that pass the filters").tag(sync=True)
    counts: Dict[str, int] = Dict(help="instances by runtime status").tag(sync=True)
    rows: List[dict[str, Any]] = List(help="the newest max_rows instances: name, id, status, custom status, age").tag(
        sync=True
    )
    max_rows = Int(50, help="rows shown (and fetched with payloads)")

    def __init__(
        self,
        *,
        client: Source = None,
        name: str | None = None,
        statuses: Sequence[str] = (),
        max_rows: int = 50,
        poll: float = 1.0,
        interval: float = 0.25,
        key: Any = None,
    ) -> None:
        self._view = w.HTML()
        super().__init__(
            [self._view], client=client, interval=interval, title=f"workflows{f' {name}' if name else ''}",
            poll=poll, max_rows=max_rows, key=key if key is not None else ("board", name, registry.cell_id()),
        )  # fmt: skip
        self.name_filter, self.statuses = name, {s.upper() for s in statuses}
        self._known: dict[str, WorkflowState] = {}  # every listed instance, without payloads
        self._detailed: dict[str, WorkflowState] = {}  # the rows shown, with payloads
        self._states: list[WorkflowState] = []
        self._shown: list[WorkflowState] = []
        self._lock = threading.Lock()

    @validate("max_rows")
    def _check_rows(self, proposal: Any) -> Any:
        return at_least(proposal, 1)

    def _wanted(self, state: WorkflowState) -> bool:
        return (self.name_filter is None or state.name == self.name_filter) and (
            not self.statuses or state.status in self.statuses
        )

    def poll_once(self) -> bool:
        """List the instances and read what may have changed (see the module rule); always True (ages move)."""
        known: dict[str, WorkflowState] = {}
        for iid in self.client.list_workflow_ids():
            state = self._known.get(iid)
            if state is None or not state.is_terminal:
                state = self.client.get_workflow(iid, fetch_payloads=False)
            if state is not None:
                known[iid] = state
        states = sorted((s for s in known.values() if self._wanted(s)), key=_order)
        shown = [self._with_payloads(s) for s in states[-self.max_rows :]]
        self._known, self._detailed = known, {s.instance_id: s for s in shown}
        with self._lock:
            self._states, self._shown = states, shown
        return True

    def _with_payloads(self, state: WorkflowState) -> WorkflowState:
        """Return the state with payloads: the one read before unless the status or last update moved."""
        old = self._detailed.get(state.instance_id)
        if old is not None and (old.status, old.last_updated_at) == (state.status, state.last_updated_at):
            return old
        return self.client.get_workflow(state.instance_id) or state

    def apply(self) -> None:
        """Copy the polled instances into the traits and redraw (kernel loop)."""
        with self._lock:
            states, shown = list(self._states), list(self._shown)
        counts = dict(Counter(s.status for s in states))
        rows = board_rows(shown, _dt.datetime.now(_dt.timezone.utc))
        self.total, self.counts, self.rows = len(states), counts, rows
        self._view.value = render.board_snapshot(self.title, counts, rows, self.errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML (the mime bundle's ``text/html``)."""
        self.flush()
        return str(self._view.value)

    def __repr__(self) -> str:
        return f"WorkflowBoard({self.title}, {self.state}, total={self.total})"
