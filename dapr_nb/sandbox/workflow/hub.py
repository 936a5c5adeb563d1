"""The workflow engine as one object: its lock, live state, worker streams, waiters and durable writes.

Rules: the hub alone owns its re-entrant lock and everything under it (``LiveState``, the
dispatcher's queues, the waiters); callers use its methods only. Every change is queued to the group
committer while the lock is held (so disk order is mutation order) and each call waits for its
ticket after releasing the lock, so nothing is acknowledged before it is durable: a write SQLite
refuses raises ``NotDurable`` (INTERNAL) in the call that made it and in every later one. A worker
may see work whose commit is still queued: if the sandbox dies first, that work is simply
dispatched again. Client commands never block on a worker except in ``wait``, a coroutine on the gRPC
server's event loop (no thread), bounded by the caller's deadline and woken by instance changes
through a :class:`~..wakeup.Waker`; worker streams likewise ``poll_item`` when their waker fires.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..wakeup import Waker
from . import engine
from .dispatcher import Dispatcher, Stream
from .engine import RUNNING, SUSPENDED, EngineError, Instance
from .live import LiveState, has_started
from .messages import opt_str, pb, readable_seconds, sv
from .store import Batch, Committer, NotDurable, WorkflowStore

WAIT_SLICE = 5.0
"""Longest single sleep of a waiter; wake-ups normally come from instance changes."""


NO_SUCH_INSTANCE = "no such instance exists"
"""daprd's Durable Task error text for an instance it does not know (status UNKNOWN)."""

class WorkflowHub:
    """The whole engine: client commands, worker streams and completions over one lock."""

    def __init__(self, path: Path, app_id: str = "") -> None:
        self._lock = threading.RLock()
        self._watch: dict[str, set[Waker]] = {}
        self.closed = False
        store = WorkflowStore(path)
        loaded = store.load()
        self._reader = store.reader()
        self._committer = Committer(store)
        self._dispatcher = Dispatcher(self._lock)
        with self._lock:
            self._live = LiveState(loaded, self._reader, app_id, self._dispatcher, self._committer.submit,
                                   self._changed)  # fmt: skip
        self._dispatcher.start(self._live)

    @contextmanager
    def _change(self) -> Iterator[Batch]:
        """Hold the lock while the body fills a batch; after releasing it, wait until the batch is durable.

        Then finished instances whose rows are on disk leave memory (see ``table``).
        """
        with self._lock:
            if self.closed:
                raise NotDurable("UNAVAILABLE", "the sandbox is shutting down; the change was not saved")
            batch = Batch()
            yield batch
            ticket = self._committer.submit(batch)
            self._live.instances.written(batch, ticket)
        self._committer.wait(ticket)
        with self._lock:
            self._live.instances.settle(self._committer.durable)

    # -- worker side -------------------------------------------------------------------------------

    def open_stream(self, stateful: bool, pings: bool, waker: Callable[[], None] | None = None) -> Stream:
        """Register a GetWorkItems stream; ``waker`` is called (never blocking) whenever it may have work."""
        with self._lock:
            return self._dispatcher.open_stream(stateful, pings, waker)

    def close_stream(self, stream: Stream) -> None:
        """Forget a stream and hand its unanswered work out again (idempotent)."""
        with self._lock:
            self._dispatcher.close_stream(stream)

    def poll_item(self, stream: Stream) -> Any | None:
        """Return the stream's next WorkItem without blocking; None when there is none or it closed."""
        with self._lock:
            return self._dispatcher.take(stream)

    @property
    def instances_in_memory(self) -> int:
        """Return how many instances memory holds: live work plus finished ones not yet on disk."""
        with self._lock:
            return len(self._live.instances)

    @property
    def connected_workers(self) -> int:
        """Return the number of open GetWorkItems streams."""
        with self._lock:
            return len(self._dispatcher.streams)

    def complete_turn(self, resp: Any) -> None:
        """Apply a worker's WorkflowResponse; stale or unknown responses are dropped."""
        with self._change() as batch:
            self._live.finish_turn(resp, batch)

    def complete_activity(self, resp: Any) -> None:
        """Record an activity result in its instance's inbox; stale or duplicate results are dropped."""
        with self._change() as batch:
            self._live.record_activity(resp, batch)

    # -- client side -------------------------------------------------------------------------------

    def start(self, req: Any) -> str:
        """Create an instance (reusing a terminal id) with executionStarted in its inbox.

        A field that could not be read back (an out-of-range ``scheduledStartTimestamp``) is refused
        with INVALID_ARGUMENT before anything is stored.
        """
        scheduled = None
        if req.HasField("scheduledStartTimestamp"):
            scheduled = readable_seconds(req.scheduledStartTimestamp)
            if scheduled is None:
                stamp = req.scheduledStartTimestamp
                raise EngineError("INVALID_ARGUMENT", f"scheduledStartTimestamp (seconds={stamp.seconds}, "
                                  f"nanos={stamp.nanos}) is outside 0001-01-01..9999-12-31 UTC")
        with self._change() as batch:
            instance_id = req.instanceId or uuid.uuid4().hex
            existing = self._live.instances.get(instance_id)
            if existing is not None:
                if not existing.terminal:
                    raise EngineError("ALREADY_EXISTS", f"an active workflow with ID '{instance_id}' already exists")
                if req.enforceUniqueInstanceId:
                    raise EngineError("ALREADY_EXISTS", f"a workflow with ID '{instance_id}' already exists and the "
                                      "create enforces instance ID uniqueness")  # fmt: skip
                self._live.purge_one(existing, batch)
            inst = self._live.new_instance(instance_id, req.name, opt_str(req, "input"), opt_str(req, "version"))
            inst.tags = dict(req.tags)
            if req.HasField("executionId") and req.executionId.value:
                inst.execution_id = req.executionId.value
            inst.scheduled = scheduled
            event = engine.execution_started(inst, self._live.clock.now(), app_id=self._live.app_id)
            if req.HasField("parentTraceContext"):
                event.executionStarted.parentTraceContext.CopyFrom(req.parentTraceContext)
            self._live.add_inbox(inst, event, batch, visible_at=scheduled)
            batch.put_instance(inst)
        return instance_id

    def get(self, instance_id: str, with_payloads: bool) -> Any:
        """Return a GetInstanceResponse (``exists`` false for unknown ids)."""
        with self._lock:
            inst = self._live.instances.get(instance_id)
            if inst is None:
                return pb.GetInstanceResponse(exists=False)
            return pb.GetInstanceResponse(exists=True, workflowState=engine.workflow_state(inst, with_payloads))

    async def wait(
        self, instance_id: str, done: Callable[[Instance], bool], with_payloads: bool, timeout: float | None
    ) -> Any:
        """Wait until ``done(instance)`` or the instance vanishes; return its GetInstanceResponse.

        Returns None when ``timeout`` seconds passed first or the hub closed; a cancelled caller
        simply stops waiting. Runs on the event loop and holds no thread.
        """
        waker = Waker()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._watch.setdefault(instance_id, set()).add(waker)
        try:
            while True:
                waker.clear()
                with self._lock:
                    if self.closed:
                        return None
                    inst = self._live.instances.get(instance_id)
                    if inst is None or done(inst):
                        return self.get(instance_id, with_payloads)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                await waker.wait(WAIT_SLICE if remaining is None else min(remaining, WAIT_SLICE))
        finally:
            with self._lock:
                waiters = self._watch.get(instance_id, set())
                waiters.discard(waker)
                if not waiters:
                    self._watch.pop(instance_id, None)

    def raise_event(self, instance_id: str, name: str, data: str | None) -> None:
        """Queue eventRaised; an unknown instance is daprd's UNKNOWN error, a finished one discards the event."""
        with self._change() as batch:
            self._live.require(instance_id, "UNKNOWN", NO_SUCH_INSTANCE)
            raised = pb.EventRaisedEvent(name=name, input=sv(data))
            self._live.deliver(instance_id, engine.new_event(self._live.clock.now(), eventRaised=raised), batch)

    def suspend(self, instance_id: str, reason: str | None) -> None:
        """Mark the instance SUSPENDED now and queue executionSuspended for the worker."""
        self._set_suspended(instance_id, reason, True)

    def resume(self, instance_id: str, reason: str | None) -> None:
        """Mark the instance RUNNING now and queue executionResumed; no-op unless suspended."""
        self._set_suspended(instance_id, reason, False)

    def _set_suspended(self, instance_id: str, reason: str | None, suspended: bool) -> None:
        with self._change() as batch:
            inst = self._live.require(instance_id, "UNKNOWN", NO_SUCH_INSTANCE)
            if inst.terminal or inst.suspended == suspended:
                return
            inst.suspended = suspended
            if suspended and inst.status == RUNNING:
                inst.status = SUSPENDED
            elif not suspended and inst.status == SUSPENDED:
                inst.status = RUNNING if has_started(inst) or inst.started else engine.PENDING
            inst.updated = time.time()
            now = self._live.clock.now()
            if suspended:
                event = engine.new_event(now, executionSuspended=pb.ExecutionSuspendedEvent(input=sv(reason)))
            else:
                event = engine.new_event(now, executionResumed=pb.ExecutionResumedEvent(input=sv(reason)))
            self._live.add_inbox(inst, event, batch)
            batch.put_instance(inst)
            self._changed(inst.id)

    def terminate(self, instance_id: str, output: str | None, recursive: bool) -> None:
        """Terminate the instance (and its children when ``recursive``); no-op when already finished."""
        with self._change() as batch:
            self._live.require(instance_id, "UNKNOWN", f"failed to submit termination request: {NO_SUCH_INSTANCE}")
            self._live.terminate(instance_id, output, recursive, batch)

    def purge(self, instance_id: str, recursive: bool, force: bool) -> int:
        """Delete a finished instance (and its finished children when ``recursive``); return how many."""
        with self._change() as batch:
            inst = self._live.require(instance_id, "UNKNOWN", f"failed to purge workflow state: {NO_SUCH_INSTANCE}")
            if not inst.terminal and not force:
                raise EngineError("FAILED_PRECONDITION", "orchestration has not yet completed")
            doomed = engine.purge_set(inst, self._live.instances.get, recursive, force)
            for victim in doomed:
                self._live.purge_one(victim, batch)
        return len(doomed)

    def list_ids(self, token: str | None, page_size: int | None) -> tuple[list[str], str | None]:
        """Return one page of instance ids in creation order and the cursor of the next page (None at the end)."""
        try:
            after = int(token) if token else 0
        except ValueError:
            raise EngineError("INVALID_ARGUMENT", f"invalid continuation token {token!r}: pass back the "
                              "continuationToken of the previous page") from None
        with self._lock:
            ids, last = self._live.instances.ids_after(after, page_size)
            return ids, None if last is None else str(last)

    def history(self, instance_id: str) -> list[Any]:
        """Return the committed history of the instance's current generation."""
        with self._lock:
            inst = self._live.require(instance_id, "NOT_FOUND", f"workflow instance '{instance_id}' not found")
            return list(inst.history)

    def rerun(self, req: Any) -> str:
        """Start a new instance replaying ``req.sourceInstanceID`` up to ``req.eventID`` (RerunWorkflowFromEvent)."""
        with self._change() as batch:
            source = self._live.require(req.sourceInstanceID)
            if not source.terminal:
                raise EngineError("INVALID_ARGUMENT", f"'{source.id}' is not in a terminal state")
            if source.parent_id is not None:
                raise EngineError("INVALID_ARGUMENT", f"'{source.id}' is a child workflow and cannot be rerun")
            new_id = req.newInstanceID if req.HasField("newInstanceID") else uuid.uuid4().hex
            if new_id in self._live.instances:
                raise EngineError("ALREADY_EXISTS", f"workflow '{new_id}' already exists")
            now = self._live.clock.now()
            probe = Instance(id=new_id, seq=0, name=source.name, execution_id=engine.new_execution_id(), created=now)
            child_id = req.newChildWorkflowInstanceID if req.HasField("newChildWorkflowInstanceID") else None
            new_input = req.input.value if req.HasField("input") else None
            forked = engine.fork(source, probe, req.eventID, new_input, req.overwriteInput, child_id, now)
            target = self._live.new_instance(new_id, source.name, source.input, source.version)
            target.execution_id, target.tags = probe.execution_id, dict(source.tags)
            target.status, target.started = RUNNING, now
            self._live.append(target, forked.history, batch)
            self._live.schedule(target, forked, batch, now)
            batch.put_instance(target)
        return new_id

    # -- waiters and shutdown ----------------------------------------------------------------------

    def _changed(self, instance_id: str) -> None:
        for waker in self._watch.get(instance_id, ()):
            waker.set()

    def close(self) -> None:
        """Release every stream and waiter and close the database."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for stream in list(self._dispatcher.streams.values()):
                self._dispatcher.close_stream(stream)
            self._dispatcher.close()
            for waiters in self._watch.values():
                for waker in waiters:
                    waker.set()
        self._committer.close()
        with self._lock:
            self._reader.close()
