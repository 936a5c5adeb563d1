"""Workflow tables with the columns of ``dapr workflow list -o wide`` and ``dapr workflow history -o wide``.

Rule: pure functions from typed results to DataFrames (no I/O), following the Dapr CLI's derivations
(protocol-notes §6): times truncated to seconds, STATUS/DETAILS/ATTRS as the CLI builds them, rows
ordered as the CLI orders them. ``ROUTER`` stays empty: the client's HistoryEvent does not carry it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.results import HistoryEvent, WorkflowState

LIST_COLUMNS = [
    "NAMESPACE", "APP ID", "Name", "INSTANCE ID", "CREATED", "LAST UPDATE", "STATUS", "CUSTOM STATUS",
    "FAILURE MESSAGE",
]  # fmt: skip
HISTORY_COLUMNS = [
    "PLAY", "TYPE", "NAME", "EVENTID", "TIMESTAMP", "ELAPSED", "STATUS", "DETAILS", "ROUTER", "EXECUTION_ID",
    "ATTRS",
]  # fmt: skip
_TYPES = {
    "childWorkflowInstanceCreated": "ChildWorkflowCreated",
    "childWorkflowInstanceCompleted": "ChildWorkflowCompleted",
    "childWorkflowInstanceFailed": "ChildWorkflowFailed",
}
_STATUS = {
    "taskFailed": "FAILED",
    "executionTerminated": "TERMINATED",
    "executionSuspended": "SUSPENDED",
    "executionResumed": "RESUMED",
    "executionStalled": "STALLED",
}
_WORKFLOW_NAMED = {"executionStarted", "executionCompleted", "workflowStarted", "workflowCompleted"}


def _seconds(stamp: _dt.datetime | None) -> _dt.datetime | None:
    return stamp.replace(microsecond=0) if stamp is not None else None


def duration(delta: _dt.timedelta) -> str:
    """Format a duration the way Go prints one (``850ms``, ``1.5s``, ``2m3s``, ``1h2m3s``)."""
    total = delta.total_seconds()
    if total < 1:
        return f"{round(total * 1000)}ms"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text


def list_frame(states: Iterable[WorkflowState], app_id: str, namespace: str = "default") -> Any:
    """Return instances as the CLI's wide list: sorted by created time (unknown last), then instance id."""
    import pandas

    def order(state: WorkflowState) -> tuple[bool, _dt.datetime, str]:
        created = state.created_at or _dt.datetime.max.replace(tzinfo=_dt.timezone.utc)
        return (state.created_at is None, created, state.instance_id)

    rows = []
    for s in sorted(states, key=order):
        failure = s.failure.message.replace("\r", "").replace("\n", "") if s.failure else ""
        custom = "" if s.custom_status is None else _text(s.custom_status)
        created = _seconds(s.created_at)
        rows.append([namespace, app_id, s.name, s.instance_id, created, _seconds(s.last_updated_at), s.status,
                     custom, failure])  # fmt: skip
    return pandas.DataFrame(rows, columns=LIST_COLUMNS)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _unquote(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _compare(a: HistoryEvent, b: HistoryEvent) -> int:
    if a.event_id > 0 and b.event_id > 0:
        return (a.event_id > b.event_id) - (a.event_id < b.event_id)
    ta, tb = a.timestamp, b.timestamp
    if ta is None or tb is None:
        return 0
    return (ta > tb) - (ta < tb)


def _attrs(data: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if "input" in data:
        parts.append(f"input={_cut(_unquote(str(data['input'])), 120)}")
    if "result" in data:
        parts.append(f"output={_cut(_unquote(str(data['result'])), 120)}")
    if "taskScheduledId" in data:
        parts.append(f"scheduledId={data['taskScheduledId']}")
    failure = data.get("failureDetails") or {}
    if failure.get("errorType"):
        parts.append(f"errorType={failure['errorType']}")
    if failure.get("errorMessage"):
        parts.append(f"errorMsg={_cut(str(failure['errorMessage']), 160)}")
    if "fireAt" in data:
        parts.append(f"fireAt={data['fireAt']}")
    if "timerId" in data:
        parts.append(f"timerId={data['timerId']}")
    if "instanceId" in data:
        parts.append(f"targetInstance={data['instanceId']}")
    if "reason" in data:
        parts.append(f"reason={data['reason']}")
    return ";".join(parts)


def _details(event: HistoryEvent, first: _dt.datetime | None) -> str:
    data, kind = event.data, event.kind
    if kind == "executionStarted":
        parent = (data.get("parentInstance") or {}).get("workflowInstance", {}).get("instanceId")
        return "workflowStart" + (f",parent={parent}" if parent else "")
    if kind == "workflowStarted":
        return "replay"
    if kind in ("taskCompleted", "childWorkflowInstanceCompleted"):
        return f"eventId={data.get('taskScheduledId', 0)}"
    if kind == "timerCreated":
        return f"fireAt={data.get('fireAt', '')}"
    if kind == "eventRaised":
        return f"event={event.name}"
    if kind == "eventSent":
        return f"event={event.name}->{data.get('instanceId', '')}"
    if kind == "executionCompleted" and first is not None and event.timestamp is not None:
        return f"execDuration={duration(event.timestamp - first)}"
    rerun = (data.get("rerunParentInstanceInfo") or {}).get("instanceID")
    return f"rerunParent={rerun}" if rerun else ""


def _row(event: HistoryEvent, play: int, elapsed: str, first: _dt.datetime | None, workflow: str) -> list[Any]:
    kind, data = event.kind, event.data
    name = workflow if kind in _WORKFLOW_NAMED and not event.name else event.name
    if kind in ("taskCompleted", "taskFailed"):
        name = ""
    event_id = event.event_id if event.event_id > 0 or kind in ("taskScheduled", "timerCreated") else None
    status = _STATUS.get(kind, "RUNNING")
    if kind == "executionCompleted":
        status = str(data.get("workflowStatus", "COMPLETED")).removeprefix("ORCHESTRATION_STATUS_")
    execution = (data.get("workflowInstance") or {}).get("executionId", "") or data.get("taskExecutionId", "")
    type_name = _TYPES.get(kind, kind[:1].upper() + kind[1:])
    return [play, type_name, name, event_id, _seconds(event.timestamp), elapsed, status,
            _details(event, first), "", execution, _attrs(data)]  # fmt: skip


def history_frame(events: Iterable[HistoryEvent], now: _dt.datetime | None = None) -> Any:
    """Return history events as the CLI's wide history table."""
    import pandas

    ordered = sorted(events, key=functools.cmp_to_key(_compare))
    first = next((e.timestamp for e in ordered if e.timestamp is not None), None)
    workflow = next((e.name for e in ordered if e.kind == "executionStarted"), "")
    now = now or _dt.datetime.now(_dt.timezone.utc)
    rows, play, previous = [], 0, None
    for index, event in enumerate(ordered):
        if event.kind == "workflowStarted":
            play += 1
        if index == 0:
            elapsed = f"Age:{duration(now - first)}" if first is not None else ""
        elif event.timestamp is not None and previous is not None:
            elapsed = duration(event.timestamp - previous)
        else:
            elapsed = ""
        previous = event.timestamp or previous
        rows.append(_row(event, play, elapsed, first, workflow))
    frame = pandas.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame["EVENTID"] = frame["EVENTID"].astype("Int64")
    return frame
