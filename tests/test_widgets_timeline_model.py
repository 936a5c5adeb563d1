"""The timeline spans model and its SVG, from hand-built history events (no sidecar)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dapr_nb.core.results import HistoryEvent
from dapr_nb.widgets.timeline_model import build_timeline, parse_time
from dapr_nb.widgets.timeline_render import timeline_html, timeline_svg

T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def ev(kind: str, at: float, event_id: int = -1, **data: Any) -> HistoryEvent:
    """Build a HistoryEvent like the client's ``to_event`` (camelCase payload dict, seconds after T0)."""
    return HistoryEvent(event_id, T0 + dt.timedelta(seconds=at), kind, str(data.get("name", "")), data)


def started(name: str = "wf", iid: str = "i1") -> HistoryEvent:
    return ev("executionStarted", 0, name=name, input='"in"', workflowInstance={"instanceId": iid, "executionId": "x"})


def done(at: float, result: str = '"ok"', status: str = "COMPLETED", **extra: Any) -> HistoryEvent:
    return ev("executionCompleted", at, workflowStatus=f"ORCHESTRATION_STATUS_{status}", result=result, **extra)


def test_chain_of_activities() -> None:
    events = [
        ev("workflowStarted", 0), started(),
        ev("taskScheduled", 0.1, 1, name="a", input='"x"', taskExecutionId="e1"),
        ev("taskCompleted", 0.5, taskScheduledId=1, result='"ax"', taskExecutionId="e1"),
        ev("taskScheduled", 0.6, 2, name="b", input='"ax"', taskExecutionId="e2"),
        ev("taskCompleted", 1.0, taskScheduledId=2, result='"bax"', taskExecutionId="e2"),
        done(1.1, '"bax"'),
    ]  # fmt: skip
    tl = build_timeline(events)
    assert (tl.name, tl.instance_id, tl.status, tl.output, tl.input) == ("wf", "i1", "COMPLETED", "bax", "in")
    assert [r.label for r in tl.rows] == ["a", "b"]
    a = tl.row("a").spans[0]
    assert (a.status, a.input, a.output, a.duration()) == ("completed", "x", "ax", 0.4)
    svg = timeline_svg(tl)
    assert svg.count("<rect") == 2 and "output: ax" in svg


def test_retries_share_a_row_with_their_backoff_timers() -> None:
    fail = {"errorType": "ValueError", "errorMessage": "flaky <1>"}
    events = [
        started(),
        ev("taskScheduled", 0.1, 1, name="flaky", taskExecutionId="E"),
        ev("taskFailed", 0.2, taskScheduledId=1, failureDetails=fail, taskExecutionId="E"),
        ev("timerCreated", 0.2, 2, fireAt="2026-01-01T12:00:01.200Z", activityRetry={"taskExecutionId": "E"}),
        ev("timerFired", 1.2, fireAt="2026-01-01T12:00:01.200Z", timerId=2),
        ev("taskScheduled", 1.3, 3, name="flaky", taskExecutionId="E"),
        ev("taskCompleted", 1.4, taskScheduledId=3, result="1", taskExecutionId="E"),
        done(1.5),
    ]
    tl = build_timeline(events)
    assert len(tl.rows) == 1
    spans = tl.rows[0].spans
    assert [(s.kind, s.status, s.attempt) for s in spans] == [
        ("activity", "failed", 1), ("backoff", "fired", 1), ("activity", "completed", 2),
    ]  # fmt: skip
    assert spans[0].error == "ValueError: flaky <1>"
    assert "error: ValueError: flaky &lt;1&gt;" in timeline_svg(tl) and "flaky <1>" not in timeline_svg(tl)


def test_timers_events_and_the_no_timeout_sentinel() -> None:
    events = [
        started(),
        ev("timerCreated", 0.1, 1, fireAt="2026-01-01T12:00:02Z", createTimer={}),
        ev("timerFired", 2.0, fireAt="2026-01-01T12:00:02Z", timerId=1),
        ev("timerCreated", 2.1, 2, fireAt="9999-12-31T23:59:59.999999999Z", externalEvent={"name": "Approve"}),
        ev("eventRaised", 3.0, name="approve", input='{"ok": true}'),
        done(3.1),
    ]
    tl = build_timeline(events)
    timer, wait = tl.spans("timer")
    assert (timer.status, timer.duration(), timer.detail) == ("fired", 1.9, "origin createTimer, fireAt 12:00:02")
    assert wait.name == "wait Approve"
    assert (wait.status, wait.end) == ("event received", T0 + dt.timedelta(seconds=3))
    assert "no timeout" in wait.detail
    (marker,) = tl.spans("event")
    assert marker.marker and marker.input == {"ok": True}
    assert "<polygon" in timeline_svg(tl)
    assert parse_time("9999-12-31T23:59:59.999999999Z") == dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def test_child_workflows_group_by_instance_id() -> None:
    events = [
        started(),
        ev("childWorkflowInstanceCreated", 0.1, 1, name="child", instanceId="i1:0001", input="1"),
        ev("childWorkflowInstanceFailed", 0.5, taskScheduledId=1, failureDetails={"errorType": "E"}),
        ev("timerCreated", 0.5, 2, fireAt="2026-01-01T12:00:01Z", childWorkflowRetry={"instanceId": "i1:0001"}),
        ev("timerFired", 1.0, timerId=2),
        ev("childWorkflowInstanceCreated", 1.1, 3, name="child", instanceId="i1:0001", input="1"),
    ]
    now = T0 + dt.timedelta(seconds=2)
    tl = build_timeline(events, now=now)
    assert tl.status == "RUNNING" and not tl.terminal and tl.child_ids() == ["child:i1:0001"]
    spans = tl.row("child").spans
    assert [(s.kind, s.status) for s in spans] == [("child", "failed"), ("backoff", "fired"), ("child", "running")]
    assert spans[-1].end is None and spans[-1].duration(now) == 0.9
    svg = timeline_svg(tl, now, playhead=True)
    assert "<title>now</title>" in svg and 'stroke-dasharray="3,2"' in svg


def test_suspend_resume_and_terminate_close_open_spans() -> None:
    events = [
        started(),
        ev("timerCreated", 0.1, 1, fireAt="2026-01-01T13:00:00Z"),
        ev("executionSuspended", 1.0, input="maintenance"),
        ev("executionResumed", 2.0),
        ev("executionSuspended", 3.0),
        ev("executionTerminated", 4.0, input='"stop"'),
        done(4.0, '"stop"', "TERMINATED"),
    ]
    tl = build_timeline(events)
    assert tl.status == "TERMINATED" and tl.output == "stop"
    spans = tl.row("suspended").spans
    assert [(s.start, s.end, s.status) for s in spans][0] == (
        T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=2), "resumed",
    )  # fmt: skip
    (timer,) = tl.spans("timer")
    assert (timer.status, timer.end) == ("canceled", T0 + dt.timedelta(seconds=4))
    running = build_timeline(events[:5], now=T0 + dt.timedelta(seconds=5))
    assert running.status == "SUSPENDED" and running.row("suspended").spans[-1].end is None


def test_failure_and_continue_as_new_carryover() -> None:
    failure = {"errorType": "RuntimeError", "errorMessage": "nope"}
    tl = build_timeline([started(), done(1.0, "", "FAILED", failureDetails=failure)])
    assert (tl.status, tl.failure) == ("FAILED", "RuntimeError: nope")
    assert "RuntimeError: nope" in timeline_html(tl)
    epoch = HistoryEvent(-1, dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), "eventRaised", "go", {"name": "go"})
    tl = build_timeline([ev("workflowStarted", 0), started(), epoch])
    assert tl.spans("event")[0].start == T0  # carry-over events are re-stamped to the run's start


def test_large_fan_out_aggregates_same_name_bars() -> None:
    events = [started()]
    for i in range(1, 301):
        events.append(ev("taskScheduled", 0.1, i, name="work", taskExecutionId=f"e{i}"))
    for i in range(1, 301):
        kind = "taskFailed" if i % 100 == 0 else "taskCompleted"
        events.append(ev(kind, 1 + i / 100, taskScheduledId=i, taskExecutionId=f"e{i}"))
    tl = build_timeline(events)
    assert len(events) >= 500 and tl.aggregated
    (row,) = tl.rows
    (bar,) = row.spans
    assert (row.label, bar.count, bar.status) == ("work ×300", 300, "aggregate")
    assert "297 completed, 3 failed" in bar.detail
    small = build_timeline(events[:200])
    assert not small.aggregated and len(small.rows) == 199
