"""The client-facing half of the engine: start, inspect, wait, raise, suspend/resume, terminate, purge, rerun.

Rules: client commands change state through the inbox or directly (terminate, purge), are durable
before returning, and never block on a worker except in ``wait``, whose every sleep is bounded by the
caller's deadline and woken by instance changes or cancellation.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import engine
from .engine import RUNNING, SUSPENDED, EngineError, Instance
from .hub import HubCore, has_started
from .protos import opt_str, pb, seconds_of, sv
from .store import Batch

WAIT_SLICE = 5.0
"""Longest single sleep of a waiter; wake-ups normally come from instance changes."""


class WorkflowHub(HubCore):
    """The whole engine: worker-facing core plus the client RPC semantics."""

    def start(self, req: Any) -> str:
        """Create an instance (reusing a terminal id) with executionStarted in its inbox."""
        with self._lock:
            instance_id = req.instanceId or uuid.uuid4().hex
            batch = Batch()
            existing = self._instances.get(instance_id)
            if existing is not None:
                if not existing.terminal:
                    raise EngineError("ALREADY_EXISTS", f"an active workflow with ID '{instance_id}' already exists")
                if req.enforceUniqueInstanceId:
                    raise EngineError(
                        "ALREADY_EXISTS",
                        f"a workflow with ID '{instance_id}' already exists and the create enforces instance ID "
                        "uniqueness",
                    )
                self._purge_one(existing, batch)
            inst = self._new_instance(instance_id, req.name, opt_str(req, "input"), opt_str(req, "version"))
            inst.tags = dict(req.tags)
            if req.HasField("executionId") and req.executionId.value:
                inst.execution_id = req.executionId.value
            scheduled = seconds_of(req.scheduledStartTimestamp) if req.HasField("scheduledStartTimestamp") else None
            inst.scheduled = scheduled
            event = engine.execution_started(inst, self._clock.now(), app_id=self.app_id)
            if req.HasField("parentTraceContext"):
                event.executionStarted.parentTraceContext.CopyFrom(req.parentTraceContext)
            self._add_inbox(inst, event, batch, visible_at=scheduled)
            batch.put_instance(inst)
            ticket = self._committer.submit(batch)
        self._committer.wait(ticket)
        return instance_id

    def get(self, instance_id: str, with_payloads: bool) -> Any:
        """Return a GetInstanceResponse (``exists`` false for unknown ids)."""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None:
                return pb.GetInstanceResponse(exists=False)
            return pb.GetInstanceResponse(exists=True, workflowState=engine.workflow_state(inst, with_payloads))

    def wait(self, instance_id: str, done: Callable[[Instance], bool], with_payloads: bool, context: Any) -> Any:
        """Block until ``done(instance)``, the instance vanishes, the deadline passes or the call is cancelled.

        Returns the GetInstanceResponse, or None when the caller's deadline passed or it went away.
        """
        with self._lock:
            cond, count = self._watch.get(instance_id, (threading.Condition(self._lock), 0))
            self._watch[instance_id] = (cond, count + 1)
            try:
                while not self.closed:
                    inst = self._instances.get(instance_id)
                    if inst is None or done(inst):
                        return self.get(instance_id, with_payloads)
                    remaining = context.time_remaining()
                    if not context.is_active() or (remaining is not None and remaining <= 0):
                        return None
                    cond.wait(WAIT_SLICE if remaining is None else min(remaining, WAIT_SLICE))
                return None
            finally:
                cond, count = self._watch[instance_id]
                if count <= 1:
                    del self._watch[instance_id]
                else:
                    self._watch[instance_id] = (cond, count - 1)

    def wake(self, instance_id: str) -> None:
        """Wake waiters of an instance (their call ended)."""
        with self._lock:
            watch = self._watch.get(instance_id)
            if watch is not None:
                watch[0].notify_all()

    def raise_event(self, instance_id: str, name: str, data: str | None) -> None:
        """Queue eventRaised; events for unknown or finished instances are discarded."""
        with self._lock:
            batch = Batch()
            self._deliver(instance_id, engine.new_event(self._clock.now(), eventRaised=pb.EventRaisedEvent(
                name=name, input=sv(data))), batch)  # fmt: skip
            ticket = self._committer.submit(batch)
        self._committer.wait(ticket)

    def suspend(self, instance_id: str, reason: str | None) -> None:
        """Mark the instance SUSPENDED now and queue executionSuspended for the worker."""
        with self._lock:
            inst = self._require(instance_id)
            if inst.terminal or inst.suspended:
                return
            batch = Batch()
            inst.suspended = True
            if inst.status == RUNNING:
                inst.status = SUSPENDED
            inst.updated = time.time()
            body = pb.ExecutionSuspendedEvent(input=sv(reason))
            self._add_inbox(inst, engine.new_event(self._clock.now(), executionSuspended=body), batch)
            batch.put_instance(inst)
            ticket = self._committer.submit(batch)
            self._changed(inst)
        self._committer.wait(ticket)

    def resume(self, instance_id: str, reason: str | None) -> None:
        """Mark the instance RUNNING now and queue executionResumed; no-op unless suspended."""
        with self._lock:
            inst = self._require(instance_id)
            if inst.terminal or not inst.suspended:
                return
            batch = Batch()
            inst.suspended = False
            if inst.status == SUSPENDED:
                inst.status = RUNNING if has_started(inst) or inst.started else engine.PENDING
            inst.updated = time.time()
            body = pb.ExecutionResumedEvent(input=sv(reason))
            self._add_inbox(inst, engine.new_event(self._clock.now(), executionResumed=body), batch)
            batch.put_instance(inst)
            ticket = self._committer.submit(batch)
            self._changed(inst)
        self._committer.wait(ticket)

    def terminate(self, instance_id: str, output: str | None, recursive: bool) -> None:
        """Terminate the instance (and its children when ``recursive``); no-op when already finished."""
        with self._lock:
            self._require(instance_id)
            batch = Batch()
            self._terminate(instance_id, output, recursive, batch)
            ticket = self._committer.submit(batch)
        self._committer.wait(ticket)

    def purge(self, instance_id: str, recursive: bool, force: bool) -> int:
        """Delete a finished instance (and its finished children when ``recursive``); return how many."""
        with self._lock:
            inst = self._require(instance_id)
            if not inst.terminal and not force:
                raise EngineError("FAILED_PRECONDITION", "orchestration has not yet completed")
            doomed: list[Instance] = []
            pending = [inst]
            while pending:
                current = pending.pop()
                if current in doomed:
                    continue
                doomed.append(current)
                if recursive:
                    for child_id in current.children():
                        child = self._instances.get(child_id)
                        if child is not None and (child.terminal or force):
                            pending.append(child)
            batch = Batch()
            for victim in doomed:
                self._purge_one(victim, batch)
            ticket = self._committer.submit(batch)
        self._committer.wait(ticket)
        return len(doomed)

    def list_ids(self, token: str | None, page_size: int | None) -> tuple[list[str], str | None]:
        """Return one page of instance ids in creation order and the cursor of the next page (None at the end)."""
        with self._lock:
            after = int(token) if token else 0
            ordered = [inst for inst in self._instances.values() if inst.seq > after]
            ordered.sort(key=lambda inst: inst.seq)
            if page_size is None or page_size >= len(ordered):
                return [inst.id for inst in ordered], None
            page = ordered[:page_size]
            return [inst.id for inst in page], str(page[-1].seq)

    def history(self, instance_id: str) -> list[Any]:
        """Return the committed history of the instance's current generation."""
        with self._lock:
            return list(self._require(instance_id).history)

    def rerun(self, req: Any) -> str:
        """Start a new instance replaying ``req.sourceInstanceID`` up to ``req.eventID`` (RerunWorkflowFromEvent)."""
        with self._lock:
            source = self._require(req.sourceInstanceID)
            if not source.terminal:
                raise EngineError("INVALID_ARGUMENT", f"'{source.id}' is not in a terminal state")
            if source.parent_id is not None:
                raise EngineError("INVALID_ARGUMENT", f"'{source.id}' is a child workflow and cannot be rerun")
            new_id = req.newInstanceID if req.HasField("newInstanceID") else uuid.uuid4().hex
            if new_id in self._instances:
                raise EngineError("ALREADY_EXISTS", f"workflow '{new_id}' already exists")
            now = self._clock.now()
            probe = Instance(id=new_id, seq=0, name=source.name, execution_id=engine.new_execution_id(), created=now)
            child_id = req.newChildWorkflowInstanceID if req.HasField("newChildWorkflowInstanceID") else None
            new_input = req.input.value if req.HasField("input") else None
            forked = engine.fork(source, probe, req.eventID, new_input, req.overwriteInput, child_id, now)
            target = self._new_instance(new_id, source.name, source.input, source.version)
            target.execution_id, target.tags = probe.execution_id, dict(source.tags)
            target.status, target.started = RUNNING, now
            batch = Batch()
            self._append(target, forked.history, batch)
            self._schedule(target, forked, batch, now)
            batch.put_instance(target)
            ticket = self._committer.submit(batch)
        self._committer.wait(ticket)
        return new_id

    def _require(self, instance_id: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is None:
            raise EngineError("NOT_FOUND", f"no such instance exists: '{instance_id}'")
        return inst
