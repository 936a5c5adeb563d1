"""Pure orchestration semantics: instance records, history events, actions → events, rerun forks.

Rules: no I/O, no locks, no gRPC calls. ``apply_response`` returns an ``Outcome`` naming everything
that must happen elsewhere (activities to queue, timers to arm, children to start, messages for
other instances); the hub persists the outcome in one transaction and then performs it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from ..errors import DaprApiError
from .messages import SENTINEL_SECONDS, opt_str, pb, seconds_of, sv, ts

RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED, CANCELED, TERMINATED, PENDING, SUSPENDED, STALLED = range(9)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELED, TERMINATED})
DONE_FOR_WAITERS = TERMINAL | {CONTINUED_AS_NEW}
ANY_GENERATION = -1
"""Inbox rows that survive continue-as-new (external events, suspend/resume)."""


class EngineError(DaprApiError):
    """A request the engine refuses, as daprd reports it: the gRPC status named ``code`` (``"NOT_FOUND"`` …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(grpc.StatusCode[code], message)


@dataclass
class InboxItem:
    """An event waiting for the instance's next turn; invisible before ``visible_at`` (timers)."""

    row: int
    event: Any
    visible_at: float
    generation: int = ANY_GENERATION


@dataclass
class Instance:
    """One workflow instance: metadata, committed history of the current generation, and inbox."""

    id: str
    seq: int
    name: str
    execution_id: str
    created: float
    generation: int = 0
    status: int = PENDING
    updated: float = 0.0
    completed: float | None = None
    started: float | None = None
    scheduled: float | None = None
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    failure: bytes | None = None
    parent_id: str | None = None
    parent_execution: str | None = None
    parent_task: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    suspended: bool = False
    version: str | None = None
    history: list[Any] = field(default_factory=list)
    inbox: list[InboxItem] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        """Return True once the instance completed, failed or was terminated."""
        return self.status in TERMINAL

    def to_meta(self) -> str:
        """Serialize the metadata (not history or inbox) as JSON."""
        meta = {k: getattr(self, k) for k in _META_FIELDS}
        meta["failure"] = base64.b64encode(self.failure).decode() if self.failure is not None else None
        return json.dumps(meta)

    @classmethod
    def from_meta(cls, instance_id: str, seq: int, text: str) -> Instance:
        """Rebuild an instance from ``to_meta`` output (history and inbox are loaded separately)."""
        meta = json.loads(text)
        failure = meta.pop("failure", None)
        inst = cls(id=instance_id, seq=seq, **{k: meta[k] for k in _META_FIELDS if k in meta and k != "failure"})
        inst.failure = base64.b64decode(failure) if failure is not None else None
        return inst

    def children(self) -> list[str]:
        """Return ids of child workflows created by the current generation."""
        created = "childWorkflowInstanceCreated"
        return [e.childWorkflowInstanceCreated.instanceId for e in self.history if e.HasField(created)]


_META_FIELDS = (
    "name", "execution_id", "created", "generation", "status", "updated", "completed", "started", "scheduled",
    "input", "output", "custom_status", "failure", "parent_id", "parent_execution", "parent_task", "tags",
    "suspended", "version",
)  # fmt: skip


@dataclass
class ChildStart:
    """A child workflow to create for a parent's ``createChildWorkflow`` action."""

    instance_id: str
    name: str
    version: str | None
    input: str | None
    task_id: int


@dataclass
class Outcome:
    """What one worker response does: events to append and the side effects to perform."""

    events: list[Any]
    custom_status: str | None = None
    activities: list[Any] = field(default_factory=list)
    timers: list[tuple[float, Any]] = field(default_factory=list)
    children: list[ChildStart] = field(default_factory=list)
    messages: list[tuple[str, Any]] = field(default_factory=list)
    terminations: list[tuple[str, str | None, bool]] = field(default_factory=list)
    completion: tuple[int, str | None, bytes | None] | None = None
    continue_as_new: tuple[str | None, list[Any]] | None = None
    stalled: bool = False


def new_event(now: float, event_id: int = -1, **kind: Any) -> Any:
    """Return a HistoryEvent with one event type set, e.g. ``new_event(t, eventRaised=…)``."""
    return pb.HistoryEvent(eventId=event_id, timestamp=ts(now), **kind)


def execution_started(inst: Instance, now: float, parent_name: str | None = None, app_id: str = "") -> Any:
    """Return the executionStarted event that opens the instance's current generation."""
    parent = None
    if inst.parent_id is not None:
        parent = pb.ParentInstanceInfo(
            taskScheduledId=inst.parent_task,
            name=sv(parent_name),
            workflowInstance=pb.WorkflowInstance(instanceId=inst.parent_id, executionId=sv(inst.parent_execution)),
            appID=app_id,
        )
    started = pb.ExecutionStartedEvent(
        name=inst.name,
        version=sv(inst.version) if inst.version else None,  # daprd leaves an unversioned start's version unset
        input=sv(inst.input),
        workflowInstance=pb.WorkflowInstance(instanceId=inst.id, executionId=sv(inst.execution_id)),
        parentInstance=parent,
        scheduledStartTimestamp=ts(inst.scheduled) if inst.scheduled else None,
        tags=inst.tags,
    )
    event = new_event(now, executionStarted=started)
    if app_id:
        event.router.sourceAppID = app_id
    return event


def is_sentinel(fire_at: Any) -> bool:
    """Return True for the 9999-12-31 'no timeout' timer, which is recorded but never scheduled."""
    return int(fire_at.seconds) >= SENTINEL_SECONDS


def apply_response(inst: Instance, new_events: list[Any], resp: Any, now: float, app_id: str = "") -> Outcome:
    """Turn a WorkflowResponse into history events and side effects (does not mutate ``inst``).

    As in daprd's applier, each event an action records carries the action's id and the router of
    the app that ran it (``sourceAppID``); so does the executionCompleted event.
    """
    events = list(new_events)
    if resp.HasField("version") and events and events[0].HasField("workflowStarted"):
        events[0].workflowStarted.version.CopyFrom(resp.version)
    out = Outcome(events=events, custom_status=opt_str(resp, "customStatus"))
    for action in resp.actions:
        kind = action.WhichOneof("workflowActionType")
        first_new = len(out.events)
        if kind == "completeWorkflow":
            _complete(action.completeWorkflow, out, now, int(action.id))
            _route(out.events[first_new:], action, app_id)
            if out.continue_as_new is not None:
                return out
        elif kind == "workflowVersionNotAvailable":
            reason = pb.ExecutionStalledEvent(reason=pb.VERSION_NOT_AVAILABLE, description="version not available")
            out.events.append(new_event(now, executionStalled=reason))
            out.stalled = True
        else:
            _apply_action(inst, action, kind, out, now)
            _route(out.events[first_new:], action, app_id)
    return out


def _route(events: list[Any], action: Any, app_id: str) -> None:
    """Give the events an action recorded its router (the action's own, else this app as the source)."""
    for event in events:
        if action.HasField("router"):
            event.router.CopyFrom(action.router)
        elif app_id:
            event.router.sourceAppID = app_id


def _apply_action(inst: Instance, action: Any, kind: str | None, out: Outcome, now: float) -> None:
    aid = int(action.id)
    if kind == "scheduleTask":
        task = action.scheduleTask
        scheduled = pb.TaskScheduledEvent(
            name=task.name, version=task.version if task.HasField("version") else None,
            input=task.input if task.HasField("input") else None, taskExecutionId=task.taskExecutionId,
        )  # fmt: skip
        out.events.append(new_event(now, aid, taskScheduled=scheduled))
        out.activities.append(activity_request(inst, aid, scheduled))
    elif kind == "createChildWorkflow":
        child = action.createChildWorkflow
        created = pb.ChildWorkflowInstanceCreatedEvent(
            instanceId=child.instanceId, name=child.name,
            version=child.version if child.HasField("version") else None,
            input=child.input if child.HasField("input") else None,
        )  # fmt: skip
        if child.HasField("retryParentInstanceInfo"):
            created.retryParentInstanceInfo.CopyFrom(child.retryParentInstanceInfo)
        out.events.append(new_event(now, aid, childWorkflowInstanceCreated=created))
        child_id = child.instanceId or f"{inst.id}:{aid:04x}"
        out.children.append(ChildStart(child_id, child.name, opt_str(child, "version"), opt_str(child, "input"), aid))
    elif kind == "createTimer":
        timer = action.createTimer
        created = pb.TimerCreatedEvent(fireAt=timer.fireAt, name=timer.name if timer.HasField("name") else None)
        origin = timer.WhichOneof("origin")
        if origin:
            getattr(created, origin).CopyFrom(getattr(timer, origin))
        out.events.append(new_event(now, aid, timerCreated=created))
        if not is_sentinel(timer.fireAt):
            fired = pb.TimerFiredEvent(fireAt=timer.fireAt, timerId=aid)
            out.timers.append((seconds_of(timer.fireAt), new_event(now, timerFired=fired)))
    elif kind == "sendEvent":
        send = action.sendEvent
        data = send.data if send.HasField("data") else None
        sent = pb.EventSentEvent(instanceId=send.instance.instanceId, name=send.name, input=data)
        out.events.append(new_event(now, aid, eventSent=sent))
        raised = pb.EventRaisedEvent(name=send.name, input=data)
        out.messages.append((send.instance.instanceId, new_event(now, eventRaised=raised)))
    elif kind == "terminateWorkflow":
        term = action.terminateWorkflow
        out.terminations.append((term.instanceId, opt_str(term, "reason"), bool(term.recurse)))


def _complete(done: Any, out: Outcome, now: float, event_id: int = -1) -> None:
    status = int(done.workflowStatus)
    result = opt_str(done, "result")
    if status == CONTINUED_AS_NEW:
        out.continue_as_new = (result, list(done.carryoverEvents))
        return
    failure = done.failureDetails.SerializeToString() if done.HasField("failureDetails") else None
    completed = pb.ExecutionCompletedEvent(
        workflowStatus=status, result=sv(result),
        failureDetails=done.failureDetails if done.HasField("failureDetails") else None,
    )  # fmt: skip
    out.events.append(new_event(now, event_id, executionCompleted=completed))
    out.completion = (status, result, failure)


def activity_request(inst: Instance, task_id: int, scheduled: Any) -> Any:
    """Return the ActivityRequest for a taskScheduled event of ``inst``."""
    return pb.ActivityRequest(
        name=scheduled.name,
        version=scheduled.version if scheduled.HasField("version") else None,
        input=scheduled.input if scheduled.HasField("input") else None,
        workflowInstance=pb.WorkflowInstance(instanceId=inst.id, executionId=sv(inst.execution_id)),
        taskId=task_id,
        taskExecutionId=scheduled.taskExecutionId,
    )


def child_result_event(child: Instance, now: float) -> Any:
    """Return the event telling a parent how its child ended."""
    if child.status == COMPLETED:
        done = pb.ChildWorkflowInstanceCompletedEvent(taskScheduledId=child.parent_task, result=sv(child.output))
        return new_event(now, childWorkflowInstanceCompleted=done)
    details = pb.TaskFailureDetails()
    if child.failure is not None:
        details.ParseFromString(child.failure)
    else:
        details.errorType = "WorkflowTerminated"
        details.errorMessage = f"child workflow '{child.id}' was terminated"
    failed = pb.ChildWorkflowInstanceFailedEvent(taskScheduledId=child.parent_task, failureDetails=details)
    return new_event(now, childWorkflowInstanceFailed=failed)


def activity_result_event(request: Any, resp: Any, now: float, app_id: str = "") -> Any:
    """Return taskCompleted or taskFailed for a worker's ActivityResponse to ``request`` (routed from ``app_id``)."""
    task_id, exec_id = request.taskId, request.taskExecutionId
    if resp.HasField("failureDetails"):
        failed = pb.TaskFailedEvent(
            taskScheduledId=task_id, failureDetails=resp.failureDetails, taskExecutionId=exec_id
        )
        event = new_event(now, taskFailed=failed)
    else:
        result = resp.result if resp.HasField("result") else None
        completed = pb.TaskCompletedEvent(taskScheduledId=task_id, taskExecutionId=exec_id, result=result)
        event = new_event(now, taskCompleted=completed)
    if app_id:
        event.router.sourceAppID = app_id
    return event


def purge_set(root: Instance, lookup: Callable[[str], Instance | None], recursive: bool,
              force: bool) -> list[Instance]:  # fmt: skip
    """Return ``root`` and, when ``recursive``, its descendants that may go too (finished ones, or all if ``force``)."""
    doomed: list[Instance] = []
    pending = [root]
    while pending:
        current = pending.pop()
        if current in doomed:
            continue
        doomed.append(current)
        if recursive:
            for child_id in current.children():
                child = lookup(child_id)
                if child is not None and (child.terminal or force):
                    pending.append(child)
    return doomed


def workflow_state(inst: Instance, with_payloads: bool) -> Any:
    """Return the WorkflowState message GetInstance answers."""
    state = pb.WorkflowState(
        instanceId=inst.id,
        name=inst.name,
        version=sv(inst.version),
        workflowStatus=inst.status,
        createdTimestamp=ts(inst.created),
        lastUpdatedTimestamp=ts(inst.updated or inst.created),
        executionId=sv(inst.execution_id),
        parentInstanceId=sv(inst.parent_id),
        tags=inst.tags,
    )
    if inst.scheduled:
        state.scheduledStartTimestamp.CopyFrom(ts(inst.scheduled))
    if inst.completed:
        state.completedTimestamp.CopyFrom(ts(inst.completed))
    if inst.started:
        state.startedAt.CopyFrom(ts(inst.started))
    if with_payloads:
        for name, value in (("input", inst.input), ("output", inst.output), ("customStatus", inst.custom_status)):
            if value is not None:
                getattr(state, name).value = value
        if inst.failure is not None:
            state.failureDetails.ParseFromString(inst.failure)
    return state


def new_execution_id() -> str:
    """Return a fresh execution id: a dashed UUID, as daprd's."""
    return str(uuid.uuid4())


@dataclass
class Fork:
    """A rerun's new history plus the work it must dispatch again."""

    history: list[Any]
    activities: list[Any]
    timers: list[tuple[float, Any]]
    children: list[ChildStart]


_RERUNNABLE = ("taskScheduled", "timerCreated", "childWorkflowInstanceCreated")
_PAIRS = {
    "taskCompleted": ("taskScheduled", "taskScheduledId"),
    "taskFailed": ("taskScheduled", "taskScheduledId"),
    "timerFired": ("timerCreated", "timerId"),
    "childWorkflowInstanceCompleted": ("childWorkflowInstanceCreated", "taskScheduledId"),
    "childWorkflowInstanceFailed": ("childWorkflowInstanceCreated", "taskScheduledId"),
}


def fork(source: Instance, target: Instance, event_id: int, new_input: str | None, overwrite: bool,
         new_child_id: str | None, now: float) -> Fork:  # fmt: skip
    """Build ``target``'s history from ``source`` up to ``event_id`` (RerunWorkflowFromEvent)."""
    history: list[Any] = []
    open_: dict[tuple[str, int], Any] = {}
    found = None
    for event in source.history:
        kind = event.WhichOneof("eventType")
        if event.eventId == event_id and event.eventId >= 0 and kind != "workflowStarted":
            found = event
            break
        if kind in _RERUNNABLE:
            open_[(kind, event.eventId)] = event
        elif kind in _PAIRS:
            opener, ref = _PAIRS[kind]
            scheduled = open_.pop((opener, int(getattr(getattr(event, kind), ref))), None)
            if scheduled is not None:
                history.append(scheduled)
            history.append(event)
        elif kind == "executionStarted":
            started = pb.HistoryEvent()
            started.CopyFrom(event)
            started.executionStarted.workflowInstance.instanceId = target.id
            started.executionStarted.workflowInstance.executionId.value = target.execution_id
            history.append(started)
        elif kind not in ("executionCompleted", "executionTerminated"):
            history.append(event)
    if found is None:
        raise EngineError("NOT_FOUND", f"does not have history event with ID '{event_id}'")
    kind = found.WhichOneof("eventType")
    if kind not in _RERUNNABLE:
        raise EngineError("NOT_FOUND", f"target event '{kind}' with ID '{event_id}' is not an event that can be rerun")
    if kind == "timerCreated" and overwrite:
        raise EngineError("INVALID_ARGUMENT", f"cannot write input to timer event '{event_id}'")
    if kind != "childWorkflowInstanceCreated" and new_child_id is not None:
        raise EngineError("INVALID_ARGUMENT", "a new child workflow instance ID needs a child workflow event")
    rerun = pb.HistoryEvent()
    rerun.CopyFrom(found)
    body = getattr(rerun, kind)
    body.rerunParentInstanceInfo.instanceID = source.id
    if overwrite and kind != "timerCreated":
        body.ClearField("input")
        if new_input is not None:
            body.input.value = new_input
    if kind == "childWorkflowInstanceCreated":
        body.instanceId = new_child_id or f"{target.id}:{event_id:04x}"
    pending = sorted(open_.values(), key=lambda e: e.eventId) + [rerun]
    result = Fork(history=history, activities=[], timers=[], children=[])
    for event in pending:
        result.history.append(event)
        _redispatch(target, event, result, now)
    return result


def _redispatch(target: Instance, event: Any, result: Fork, now: float) -> None:
    kind = event.WhichOneof("eventType")
    eid = int(event.eventId)
    if kind == "taskScheduled":
        result.activities.append(activity_request(target, eid, event.taskScheduled))
    elif kind == "timerCreated":
        fire_at = event.timerCreated.fireAt
        if not is_sentinel(fire_at):
            fired = new_event(now, timerFired=pb.TimerFiredEvent(fireAt=fire_at, timerId=eid))
            result.timers.append((seconds_of(fire_at), fired))
    else:
        child = event.childWorkflowInstanceCreated
        result.children.append(
            ChildStart(child.instanceId, child.name, opt_str(child, "version"), opt_str(child, "input"), eid)
        )
