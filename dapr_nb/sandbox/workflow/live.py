"""The workflow engine's live state: instances, activity tasks and in-flight turns, and how they change.

Rules: nothing here locks, waits or writes to disk: the hub calls every method while it holds its
lock, and each change is recorded in the hub's ``Batch`` so it reaches SQLite in mutation order.
One turn per instance is in flight at a time; a turn is only built when the instance has visible
inbox events; work held by a stream that ends is handed out again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import engine
from .dispatcher import Dispatcher, Stream, TaskKey
from .engine import (
    ANY_GENERATION,
    RUNNING,
    STALLED,
    SUSPENDED,
    TERMINATED,
    ChildStart,
    EngineError,
    InboxItem,
    Instance,
    Outcome,
)
from .messages import Clock, pb, seconds_of, sv, ts
from .store import Batch, Loaded, Reader, StoredTask
from .table import InstanceTable

log = logging.getLogger("dapr_nb.sandbox.workflow")


@dataclass
class Turn:
    """An orchestration work item in flight: its token, stream, claimed inbox rows and new events."""

    token: str
    stream: Stream
    items: list[InboxItem]
    new_events: list[Any]


@dataclass
class ActivityTask:
    """A pending activity; ``token``/``stream`` are set while a worker holds it."""

    request: Any
    token: str | None = None
    stream: Stream | None = None


def has_started(inst: Instance) -> bool:
    """Return True when the current generation's executionStarted is committed."""
    return any(e.HasField("executionStarted") for e in inst.history[:3])


class LiveState:
    """Instances, activity tasks and in-flight turns, changed only by the hub while it holds its lock.

    Every mutating method records its disk writes in the ``Batch`` it is given; the one write made
    while handing out work (dropping another generation's inbox rows) goes to ``submit``. ``changed``
    is told the id of every instance whose visible state moved (the hub wakes its waiters).
    """

    def __init__(self, loaded: Loaded, reader: Reader, app_id: str, dispatcher: Dispatcher,
                 submit: Callable[[Batch], int], changed: Callable[[str], None]) -> None:  # fmt: skip
        self.app_id = app_id
        self.clock = Clock()
        live, stored, self._next_seq, self._next_row = loaded
        self.instances = InstanceTable(live, reader)
        self._dispatcher = dispatcher
        self._submit = submit
        self._changed_id = changed
        self._tasks: dict[TaskKey, ActivityTask] = {}
        self._tokens: dict[str, TaskKey] = {}
        self._turns: dict[str, Turn] = {}
        self._armed: dict[str, float] = {}
        for task in stored:
            key = (task.instance_id, task.generation, task.task_id)
            self._tasks[key] = ActivityTask(task.request)
            self._dispatcher.queue_activity(key)
        for inst in self.instances.in_memory():
            self._check(inst)
        log.info("workflow engine loaded %d instances, %d pending activities", len(self.instances), len(stored))

    # -- worker side -------------------------------------------------------------------------------

    def build_turn(self, instance_id: str, stream: Stream) -> Any | None:
        """Return the WorkItem for an instance's next turn, claiming its visible inbox events."""
        inst = self.instances.get(instance_id)
        if inst is None or inst.terminal or instance_id in self._turns:
            return None
        items = self._visible(inst)
        if not items:
            return None
        now = self.clock.now()
        new_events = [engine.new_event(now, workflowStarted=pb.WorkflowStartedEvent())]
        for item in items:  # as in daprd: an event keeps the time it was made; a timer's is the time it fired
            event = pb.HistoryEvent()
            event.CopyFrom(item.event)
            if event.HasField("timerFired"):
                event.timestamp.CopyFrom(ts(max(item.visible_at, seconds_of(event.timestamp))))
            new_events.append(event)
        request = pb.WorkflowRequest(instanceId=inst.id, executionId=sv(inst.execution_id), newEvents=new_events)
        past = inst.history
        warm = stream.warm.get(inst.id, 0)
        if stream.stateful and 0 < warm <= len(past):
            request.pastEvents.extend(past[warm:])
            request.cachedHistory.eventCount = warm
        else:
            request.pastEvents.extend(past)
        if stream.stateful:
            stream.warm[inst.id] = len(past)
        token = uuid.uuid4().hex
        self._turns[inst.id] = Turn(token, stream, items, new_events)
        stream.turns.add(inst.id)
        return pb.WorkItem(workflowRequest=request, completionToken=token)

    def _visible(self, inst: Instance) -> list[InboxItem]:
        """Return the inbox items a turn may take now (dropping other generations' leftovers)."""
        stale = [i for i in inst.inbox if i.generation not in (ANY_GENERATION, inst.generation)]
        if stale:
            inst.inbox = [i for i in inst.inbox if i not in stale]
            batch = Batch()
            batch.delete_inbox([i.row for i in stale])
            self._submit(batch)
        now = time.time()
        items = [i for i in inst.inbox if i.visible_at <= now]
        if not has_started(inst) and not any(i.event.HasField("executionStarted") for i in items):
            return []
        return items

    def build_activity(self, key: TaskKey, stream: Stream) -> Any | None:
        """Return the WorkItem for a queued activity, or None if it is gone or already out."""
        task = self._tasks.get(key)
        if task is None or task.stream is not None:
            return None
        token = uuid.uuid4().hex
        task.token, task.stream = token, stream
        self._tokens[token] = key
        stream.activities.add(key)
        return pb.WorkItem(activityRequest=task.request, completionToken=token)

    def abandon(self, stream: Stream) -> None:
        """Re-queue every turn and activity the stream held."""
        for instance_id in list(stream.turns):
            turn = self._turns.get(instance_id)
            if turn is not None and turn.stream is stream:
                del self._turns[instance_id]
                inst = self.instances.get(instance_id)
                if inst is not None:
                    self._check(inst)
        for key in list(stream.activities):
            task = self._tasks.get(key)
            if task is not None and task.stream is stream:
                if task.token:
                    self._tokens.pop(task.token, None)
                task.token, task.stream = None, None
                self._dispatcher.queue_activity(key, front=True)
        stream.turns.clear()
        stream.activities.clear()

    def timers_due(self, instance_ids: list[str]) -> None:
        """Re-check instances whose timers or scheduled starts came due."""
        for instance_id in instance_ids:
            self._armed.pop(instance_id, None)
            inst = self.instances.get(instance_id)
            if inst is not None:
                self._check(inst)

    def finish_turn(self, resp: Any, batch: Batch) -> None:
        """Apply a worker's WorkflowResponse; stale or unknown responses are dropped."""
        inst = self.instances.get(resp.instanceId)
        turn = self._turns.get(resp.instanceId)
        if inst is None or turn is None or (resp.completionToken and resp.completionToken != turn.token):
            log.debug("dropping stale workflow response for %r", resp.instanceId)
            return
        del self._turns[inst.id]
        turn.stream.turns.discard(inst.id)
        now = self.clock.now()
        outcome = engine.apply_response(inst, turn.new_events, resp, now, self.app_id)
        consumed = {item.row for item in turn.items}
        inst.inbox = [i for i in inst.inbox if i.row not in consumed]
        batch.delete_inbox(sorted(consumed))
        self._apply(inst, outcome, batch, now)
        self._check(inst)

    def record_activity(self, resp: Any, batch: Batch) -> None:
        """Record an activity result in its instance's inbox; stale or duplicate results are dropped."""
        if resp.completionToken:
            key = self._tokens.pop(resp.completionToken, None)
        else:
            inst = self.instances.get(resp.instanceId)
            key = (resp.instanceId, inst.generation, resp.taskId) if inst is not None else None
        task = self._tasks.pop(key, None) if key is not None else None
        if key is None or task is None:
            log.debug("dropping stale activity result for %r task %d", resp.instanceId, resp.taskId)
            return
        if task.token:
            self._tokens.pop(task.token, None)
        if task.stream is not None:
            task.stream.activities.discard(key)
        batch.delete_task(*key)
        inst = self.instances.get(key[0])
        if inst is not None and not inst.terminal and inst.generation == key[1]:
            self.add_inbox(inst, engine.activity_result_event(task.request, resp, self.clock.now(), self.app_id), batch,
                           generation=key[1])  # fmt: skip

    def require(self, instance_id: str, code: str = "NOT_FOUND", message: str = "") -> Instance:
        """Return the instance or raise ``code`` with daprd's ``message`` for the call (a generic one by default)."""
        inst = self.instances.get(instance_id)
        if inst is None:
            raise EngineError(code, message or f"no such instance exists: '{instance_id}'")
        return inst

    # -- applying outcomes ---------------------------------------------------------------------------

    def _apply(self, inst: Instance, out: Outcome, batch: Batch, now: float) -> None:
        if not has_started(inst) and any(e.HasField("executionStarted") for e in out.events):
            inst.started = now
            if inst.status == engine.PENDING:
                inst.status = SUSPENDED if inst.suspended else RUNNING
        self.append(inst, out.events, batch)
        inst.custom_status = out.custom_status
        inst.updated = now
        if out.continue_as_new is not None:
            self._continue_as_new(inst, *out.continue_as_new, batch, now)
        elif out.completion is None:
            self.schedule(inst, out, batch, now)
        if out.stalled:
            inst.status = STALLED
        elif inst.status == STALLED:
            inst.status = SUSPENDED if inst.suspended else RUNNING
        for target, event in out.messages:
            self.deliver(target, event, batch)
        for target, reason, recurse in out.terminations:
            self.terminate(target, reason, recurse, batch)
        if out.completion is not None:
            self._finish(inst, *out.completion, batch)
        batch.put_instance(inst)
        self._changed(inst)

    def append(self, inst: Instance, events: list[Any], batch: Batch) -> None:
        batch.append_history(inst.id, len(inst.history), events)
        inst.history.extend(events)

    def _finish(self, inst: Instance, status: int, output: str | None, failure: bytes | None, batch: Batch) -> None:
        inst.status, inst.output, inst.failure = status, output, failure
        inst.completed = inst.updated = time.time()
        inst.suspended = False
        batch.delete_inbox([i.row for i in inst.inbox])
        inst.inbox = []
        self._drop_work(inst, batch)
        self._dispatcher.forget_warm(inst.id)
        self._notify_parent(inst, batch)
        batch.put_instance(inst)
        self._changed(inst)

    def _drop_work(self, inst: Instance, batch: Batch) -> None:
        """Forget the instance's in-flight turn and every activity it still owns."""
        turn = self._turns.pop(inst.id, None)
        if turn is not None:
            turn.stream.turns.discard(inst.id)
        for key in [k for k in self._tasks if k[0] == inst.id]:
            task = self._tasks.pop(key)
            if task.token:
                self._tokens.pop(task.token, None)
            if task.stream is not None:
                task.stream.activities.discard(key)
        batch.delete_tasks_of(inst.id)
        self._armed.pop(inst.id, None)

    def _notify_parent(self, child: Instance, batch: Batch) -> None:
        if child.parent_id is None:
            return
        parent = self.instances.get(child.parent_id)
        if parent is None or parent.terminal or parent.execution_id != child.parent_execution:
            return
        event = engine.child_result_event(child, self.clock.now())
        self.add_inbox(parent, event, batch, generation=parent.generation)

    def _continue_as_new(self, inst: Instance, new_input: str | None, carryover: list[Any], batch: Batch,
                         now: float) -> None:  # fmt: skip
        self._drop_work(inst, batch)
        inst.generation += 1
        inst.execution_id = engine.new_execution_id()
        inst.input = new_input
        inst.history = []
        batch.clear_history(inst.id)
        surviving = [i.event for i in inst.inbox if i.generation == ANY_GENERATION]
        batch.delete_inbox([i.row for i in inst.inbox])
        inst.inbox = []
        self._dispatcher.forget_warm(inst.id)
        parent = self.instances.get(inst.parent_id) if inst.parent_id else None
        self.add_inbox(inst, engine.execution_started(inst, now, parent.name if parent else None, self.app_id), batch)
        for event in [*carryover, *surviving]:
            copy = pb.HistoryEvent()
            copy.CopyFrom(event)
            copy.timestamp.CopyFrom(ts(self.clock.now()))
            self.add_inbox(inst, copy, batch)

    def add_inbox(self, inst: Instance, event: Any, batch: Batch, visible_at: float | None = None,
                   generation: int = ANY_GENERATION) -> None:  # fmt: skip
        item = InboxItem(self._next_row, event, visible_at if visible_at is not None else time.time(), generation)
        self._next_row += 1
        inst.inbox.append(item)
        batch.add_inbox(inst.id, item)
        self._check(inst)

    def _add_task(self, inst: Instance, request: Any, batch: Batch) -> None:
        key = (inst.id, inst.generation, int(request.taskId))
        self._tasks[key] = ActivityTask(request)
        batch.add_task(StoredTask(inst.id, inst.generation, int(request.taskId), request))
        self._dispatcher.queue_activity(key)

    def new_instance(self, instance_id: str, name: str, input_: str | None, version: str | None) -> Instance:
        now = time.time()
        inst = Instance(id=instance_id, seq=self._next_seq, name=name, execution_id=engine.new_execution_id(),
                        created=now, updated=now, input=input_, version=version)  # fmt: skip
        self._next_seq += 1
        self.instances[instance_id] = inst
        self._dispatcher.forget_warm(instance_id)
        return inst

    def schedule(self, inst: Instance, work: Outcome | engine.Fork, batch: Batch, now: float) -> None:
        """Queue what a turn (or a rerun's fork) asks for: activity tasks, durable timers, child workflows."""
        for request in work.activities:
            self._add_task(inst, request, batch)
        for at, event in work.timers:
            self.add_inbox(inst, event, batch, visible_at=at, generation=inst.generation)
        for child in work.children:
            self._start_child(inst, child, batch, now)

    def _start_child(self, parent: Instance, child: ChildStart, batch: Batch, now: float) -> None:
        existing = self.instances.get(child.instance_id)
        if existing is not None and not existing.terminal:
            message = f"an active workflow with ID '{child.instance_id}' already exists"
            details = pb.TaskFailureDetails(errorType="WorkflowAlreadyExists", errorMessage=message)
            failed = pb.ChildWorkflowInstanceFailedEvent(taskScheduledId=child.task_id, failureDetails=details)
            self.add_inbox(parent, engine.new_event(now, childWorkflowInstanceFailed=failed), batch,
                            generation=parent.generation)  # fmt: skip
            return
        if existing is not None:
            self.purge_one(existing, batch)
        inst = self.new_instance(child.instance_id, child.name, child.input, child.version)
        inst.parent_id, inst.parent_execution, inst.parent_task = parent.id, parent.execution_id, child.task_id
        self.add_inbox(inst, engine.execution_started(inst, now, parent.name, self.app_id), batch)
        batch.put_instance(inst)

    def deliver(self, target_id: str, event: Any, batch: Batch) -> None:
        target = self.instances.get(target_id)
        if target is not None and not target.terminal:
            self.add_inbox(target, event, batch)

    def terminate(self, instance_id: str, output: str | None, recurse: bool, batch: Batch) -> None:
        """Terminate an instance now (no worker turn needed), then its children when ``recurse``."""
        inst = self.instances.get(instance_id)
        if inst is None or inst.terminal:
            return
        terminated = pb.ExecutionTerminatedEvent(input=sv(output), recurse=recurse)
        completed = pb.ExecutionCompletedEvent(workflowStatus=TERMINATED, result=sv(output))
        self._drop_work(inst, batch)
        self.append(inst, [engine.new_event(self.clock.now(), executionTerminated=terminated),
                            engine.new_event(self.clock.now(), executionCompleted=completed)], batch)  # fmt: skip
        self._finish(inst, TERMINATED, output, None, batch)
        if recurse:
            for child_id in inst.children():
                self.terminate(child_id, output, True, batch)

    def purge_one(self, inst: Instance, batch: Batch) -> None:
        self._drop_work(inst, batch)
        del self.instances[inst.id]
        batch.delete_instance(inst.id)
        self._dispatcher.forget_warm(inst.id)
        self._changed(inst)

    # -- readiness and waiters -------------------------------------------------------------------------

    def _check(self, inst: Instance) -> None:
        """Queue the instance for a turn if it has visible inbox events, else arm a timer for the next one."""
        if inst.terminal or inst.id in self._turns or not inst.inbox:
            return
        now = time.time()
        started = has_started(inst)
        soonest: float | None = None
        for item in inst.inbox:
            if item.generation not in (ANY_GENERATION, inst.generation):
                continue
            if not started and not item.event.HasField("executionStarted"):
                continue
            if item.visible_at <= now:
                self._dispatcher.mark_ready(inst.id)
                return
            soonest = item.visible_at if soonest is None else min(soonest, item.visible_at)
        if soonest is not None and (inst.id not in self._armed or soonest < self._armed[inst.id]):
            self._armed[inst.id] = soonest
            self._dispatcher.arm(soonest, inst.id)

    def _changed(self, inst: Instance) -> None:
        self._changed_id(inst.id)
