"""Workflow history → spans: the pure model behind WorkflowTimeline.

Rule: :func:`build_timeline` turns a list of :class:`~dapr_nb.core.results.HistoryEvent` (as the client
returns them, or built by hand) into rows of :class:`Span` without I/O. One row per activity task
(attempts grouped by ``taskExecutionId``, with their activityRetry back-off timers), per timer, per
child workflow (attempts grouped by child instance id); external events are markers on one row;
suspensions are spans on one row. Spans still open end at ``now`` while the workflow runs, at the
workflow's end otherwise. The 9999-12-31 fireAt of a wait without timeout is "no timeout".
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.results import HistoryEvent

AGGREGATE_AT = 500
NO_TIMEOUT_YEAR = 9999
_PREFIX = "ORCHESTRATION_STATUS_"
TIMER_ORIGINS = ("createTimer", "externalEvent", "activityRetry", "childWorkflowRetry")


@dataclass(frozen=True)
class Span:
    """One bar (or marker) on a timeline row; ``end`` None means still open."""

    kind: str  # activity | backoff | timer | child | event | suspended
    name: str
    start: _dt.datetime
    end: _dt.datetime | None = None
    status: str = "running"  # running | completed | failed | fired | pending | raised | sent | suspended | aggregate
    event_id: int = -1
    attempt: int = 1
    input: Any = None
    output: Any = None
    error: str = ""
    detail: str = ""
    count: int = 1

    @property
    def marker(self) -> bool:
        """Return whether this span is a point in time (external events)."""
        return self.kind == "event"

    def duration(self, now: _dt.datetime | None = None) -> float | None:
        """Return the span's length in seconds (to ``now`` when open and given)."""
        end = self.end or now
        return None if end is None else max((end - self.start).total_seconds(), 0.0)


@dataclass(frozen=True)
class Row:
    """A labelled timeline row: one task, timer, child, or the events / suspensions lane."""

    label: str
    kind: str
    spans: tuple[Span, ...]
    key: str = ""


@dataclass(frozen=True)
class Timeline:
    """A workflow run as rows of spans, with the facts the status header needs."""

    instance_id: str = ""
    name: str = ""
    status: str = "PENDING"
    start: _dt.datetime | None = None
    end: _dt.datetime | None = None
    input: Any = None
    output: Any = None
    failure: str = ""
    rows: tuple[Row, ...] = ()
    event_count: int = 0
    aggregated: bool = False
    children: Mapping[str, Timeline] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        """Return whether the history ends the run."""
        return self.end is not None

    def row(self, label: str) -> Row:
        """Return the first row with this label (KeyError if none)."""
        for row in self.rows:
            if row.label == label:
                return row
        raise KeyError(label)

    def spans(self, kind: str | None = None) -> list[Span]:
        """Return every span, optionally only those of one kind, in row order."""
        return [s for r in self.rows for s in r.spans if kind is None or s.kind == kind]

    def child_ids(self) -> list[str]:
        """Return the instance ids of child workflows, in creation order."""
        return [r.key for r in self.rows if r.kind == "child"]


def payload(text: Any) -> Any:
    """Decode a JSON payload string as the SDK wrote it (non-JSON text is returned as is)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def failure_text(details: Mapping[str, Any] | None) -> str:
    """Return ``ErrorType: message`` from a failureDetails dict."""
    if not details:
        return ""
    kind, message = details.get("errorType", ""), details.get("errorMessage", "")
    return f"{kind}: {message}" if kind and message else str(kind or message)


def parse_time(value: Any) -> _dt.datetime | None:
    """Parse an RFC 3339 timestamp (as MessageToDict writes it) to an aware datetime."""
    if isinstance(value, _dt.datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    text = value.rstrip("Z")
    if text.startswith(f"{NO_TIMEOUT_YEAR}-"):
        return _dt.datetime.max.replace(tzinfo=_dt.timezone.utc)
    head, _, frac = text.partition(".")
    stamp = _dt.datetime.fromisoformat(head + (f".{frac[:6]}" if frac else ""))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=_dt.timezone.utc)


def _origin(data: Mapping[str, Any]) -> tuple[str, str]:
    for kind in TIMER_ORIGINS:
        if kind in data:
            attrs = data[kind] or {}
            return kind, str(attrs.get("taskExecutionId") or attrs.get("name") or attrs.get("instanceId") or "")
    return "createTimer", ""


class _Builder:
    """Walk the events once, keeping open spans by scheduled event id."""

    def __init__(self, now: _dt.datetime | None) -> None:
        self.now = now
        self.rows: dict[str, list[Span]] = defaultdict(list)
        self.kinds: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.open: dict[int, tuple[str, int]] = {}  # scheduled event id → (row key, index)
        self.attempts: dict[str, int] = defaultdict(int)
        self.info: dict[str, Any] = {"status": "RUNNING"}
        self.suspended: tuple[_dt.datetime, str] | None = None
        self.waits: dict[str, list[int]] = defaultdict(list)  # external event name → open wait timers

    def add(self, key: str, label: str, kind: str, span: Span, event_id: int | None = None) -> None:
        self.kinds.setdefault(key, kind)
        self.labels.setdefault(key, label)
        self.rows[key].append(span)
        if event_id is not None:
            self.open[event_id] = (key, len(self.rows[key]) - 1)

    def close(self, scheduled_id: Any, at: _dt.datetime, **changes: Any) -> None:
        found = self.open.pop(int(scheduled_id or -1), None)
        if found is not None:
            key, index = found
            self.rows[key][index] = replace(self.rows[key][index], end=at, **changes)

    def feed(self, event: HistoryEvent, at: _dt.datetime) -> None:
        handler = getattr(self, f"on_{event.kind}", None)
        if handler is not None:
            handler(event, dict(event.data), at)

    def on_executionStarted(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        instance = d.get("workflowInstance") or {}
        self.info.update(name=d.get("name", ""), input=payload(d.get("input")), start=at,
                         instance_id=instance.get("instanceId", ""))  # fmt: skip

    def on_taskScheduled(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        key = f"task:{d.get('taskExecutionId') or e.event_id}"
        self.attempts[key] += 1
        attempt, data = self.attempts[key], payload(d.get("input"))
        span = Span("activity", e.name, at, event_id=e.event_id, attempt=attempt, input=data)
        self.add(key, e.name, "activity", span, e.event_id)

    def on_taskCompleted(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.close(d.get("taskScheduledId"), at, status="completed", output=payload(d.get("result")))

    def on_taskFailed(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.close(d.get("taskScheduledId"), at, status="failed", error=failure_text(d.get("failureDetails")))

    def on_childWorkflowInstanceCreated(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        key = f"child:{d.get('instanceId') or e.event_id}"
        self.attempts[key] += 1
        span = Span("child", e.name, at, event_id=e.event_id, attempt=self.attempts[key], input=payload(d.get("input")),
                    detail=str(d.get("instanceId", "")))  # fmt: skip
        self.add(key, e.name, "child", span, e.event_id)

    def on_childWorkflowInstanceCompleted(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.close(d.get("taskScheduledId"), at, status="completed", output=payload(d.get("result")))

    def on_childWorkflowInstanceFailed(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.close(d.get("taskScheduledId"), at, status="failed", error=failure_text(d.get("failureDetails")))

    def on_timerCreated(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        origin, attr = _origin(d)
        fire_at = parse_time(d.get("fireAt"))
        no_timeout = fire_at is not None and fire_at.year == NO_TIMEOUT_YEAR
        when = "no timeout" if no_timeout else (f"fireAt {fire_at:%H:%M:%S}" if fire_at else "")
        detail = f"origin {origin}" + (f"({attr})" if attr else "") + (f", {when}" if when else "")
        if origin == "activityRetry":
            key, kind, label = f"task:{attr}", "backoff", "retry back-off"
        elif origin == "childWorkflowRetry":
            key, kind, label = f"child:{attr}", "backoff", "retry back-off"
        else:
            name = d.get("name") or (f"wait {attr}" if origin == "externalEvent" else "timer")
            key, kind, label = f"timer:{e.event_id}", "timer", str(name)
        status = "no timeout" if no_timeout else "pending"
        self.add(key, label, kind, Span(kind, label, at, status=status, event_id=e.event_id, detail=detail), e.event_id)
        if origin == "externalEvent":
            self.waits[attr.casefold()].append(e.event_id)

    def on_timerFired(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.close(d.get("timerId"), at, status="fired")

    def on_eventRaised(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.add("events", "events", "event", Span("event", e.name, at, at, "raised", input=payload(d.get("input"))))
        for timer_id in self.waits.pop(e.name.casefold(), []):  # the wait (and its timeout timer) is over
            self.close(timer_id, at, status="event received")

    def on_eventSent(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        span = Span("event", e.name, at, at, "sent", e.event_id, input=payload(d.get("input")),
                    detail=f"to {d.get('instanceId', '')}")  # fmt: skip
        self.add("events", "events", "event", span)

    def on_executionSuspended(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        if self.suspended is None:
            self.suspended = (at, str(d.get("input") or ""))
            self.info["status"] = "SUSPENDED"

    def on_executionResumed(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        if self.suspended is not None:
            start, reason = self.suspended
            self.add("suspended", "suspended", "suspended", Span("suspended", "suspended", start, at, "resumed",
                                                                 detail=reason))  # fmt: skip
            self.suspended = None
            self.info["status"] = "RUNNING"

    def on_executionTerminated(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.info.update(terminated_at=at, output=payload(d.get("input")))

    def on_executionCompleted(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        status = str(d.get("workflowStatus", "ORCHESTRATION_STATUS_COMPLETED")).removeprefix(_PREFIX)
        self.info.update(status=status, end=at, output=payload(d.get("result")),
                         failure=failure_text(d.get("failureDetails")))  # fmt: skip

    def on_executionStalled(self, e: HistoryEvent, d: dict[str, Any], at: _dt.datetime) -> None:  # noqa: N802
        self.info.update(status="STALLED", failure=str(d.get("description") or d.get("reason") or "stalled"))


def _finish(spans: list[Span], end: _dt.datetime | None, terminal: bool) -> tuple[Span, ...]:
    """Close spans left open: at the workflow's end when it is over (marked canceled), else keep them open."""
    if not terminal:
        return tuple(spans)
    return tuple(replace(s, end=end, status="canceled") if s.end is None and s.status in ("running", "pending")
                 else replace(s, end=end) if s.end is None else s for s in spans)  # fmt: skip


def aggregate(rows: Sequence[Row]) -> tuple[Row, ...]:
    """Merge activity and child rows of the same name into one bar each (for fan-outs of ≥ 500 events)."""
    merged: dict[tuple[str, str], list[Span]] = defaultdict(list)
    others: list[Row] = []
    for row in rows:
        if row.kind in ("activity", "child"):
            merged[(row.kind, row.label)].extend(row.spans)
        else:
            others.append(row)
    out = []
    for (kind, label), spans in merged.items():
        work = [s for s in spans if s.kind == kind]
        failed = sum(s.status == "failed" for s in work)
        done = sum(s.status == "completed" for s in work)
        ends = [s.end for s in work if s.end is not None]
        end = max(ends) if len(ends) == len(work) else None
        bar = Span(kind, label, min(s.start for s in work), end, "aggregate", count=len(work),
                   detail=f"{len(work)} × {label}: {done} completed, {failed} failed, {len(work) - done - failed} open",
                   error=f"{failed} failed" if failed else "")  # fmt: skip
        out.append(Row(f"{label} ×{len(work)}", kind, (bar,), key=f"{kind}:{label}"))
    return (*out, *others)


def build_timeline(
    events: Iterable[HistoryEvent], *, now: _dt.datetime | None = None, aggregate_at: int = AGGREGATE_AT
) -> Timeline:
    """Build the spans model of one workflow run from its history (oldest first)."""
    events = list(events)
    builder = _Builder(now)
    first = next((e.timestamp for e in events if e.timestamp is not None), now)
    for event in events:
        at = event.timestamp or first or now or _dt.datetime.now(_dt.timezone.utc)
        if first is not None and at < first:  # carry-over events of continue-as-new are stamped 1970
            at = first
        builder.feed(event, at)
    info = builder.info
    end = info.get("end") or info.get("terminated_at")
    status = "TERMINATED" if "terminated_at" in info and "end" not in info else info["status"]
    if builder.suspended is not None:  # still suspended: open while running, closed by the run's end
        start, reason = builder.suspended
        builder.add("suspended", "suspended", "suspended", Span("suspended", "suspended", start, end, "suspended",
                                                                detail=reason))  # fmt: skip
    terminal = end is not None
    labels, kinds = builder.labels, builder.kinds
    rows = tuple(Row(labels[k], kinds[k], _finish(v, end, terminal), k) for k, v in builder.rows.items())
    big = len(events) >= aggregate_at
    return Timeline(
        instance_id=info.get("instance_id", ""), name=info.get("name", ""), status=status if events else "PENDING",
        start=info.get("start", first), end=end, input=info.get("input"), output=info.get("output"),
        failure=info.get("failure", ""), rows=aggregate(rows) if big else rows, event_count=len(events), aggregated=big,
    )  # fmt: skip
