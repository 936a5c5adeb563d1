"""Pure engine semantics and the SQLite store, driven by hand (no network, no worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from dapr.ext.workflow._durabletask.internal import protos as pb
from google.protobuf import timestamp_pb2, wrappers_pb2

from dapr_nb.sandbox.workflow import engine
from dapr_nb.sandbox.workflow.engine import EngineError, InboxItem, Instance
from dapr_nb.sandbox.workflow.store import Batch, StoredTask, WorkflowStore


def instance(**kw: Any) -> Instance:
    """Return a running instance with a started history."""
    inst = Instance(id="w1", seq=1, name="wf", execution_id="e1", created=1.0, **kw)
    inst.history = [engine.new_event(1.0, workflowStarted=pb.WorkflowStartedEvent()),
                    engine.execution_started(inst, 1.0)]  # fmt: skip
    return inst


def response(*actions: Any, **kw: Any) -> Any:
    """Return a WorkflowResponse."""
    return pb.WorkflowResponse(instanceId="w1", actions=actions, **kw)


def test_actions_become_events_and_side_effects() -> None:
    inst = instance()
    fire = timestamp_pb2.Timestamp(seconds=2_000_000_000)
    forever = timestamp_pb2.Timestamp(seconds=engine.SENTINEL_SECONDS + 10)
    out = engine.apply_response(inst, [engine.new_event(5.0, workflowStarted=pb.WorkflowStartedEvent())], response(
        pb.WorkflowAction(id=1, scheduleTask=pb.ScheduleTaskAction(name="a", taskExecutionId="t1")),
        pb.WorkflowAction(id=2, createChildWorkflow=pb.CreateChildWorkflowAction(instanceId="w1:0002", name="c")),
        pb.WorkflowAction(id=3, createTimer=pb.CreateTimerAction(fireAt=fire)),
        pb.WorkflowAction(id=4, createTimer=pb.CreateTimerAction(fireAt=forever)),
        customStatus=wrappers_pb2.StringValue(value="s"), version=pb.WorkflowVersion(patches=["p1"]),
    ), 5.0)  # fmt: skip
    assert [e.WhichOneof("eventType") for e in out.events] == [
        "workflowStarted", "taskScheduled", "childWorkflowInstanceCreated", "timerCreated", "timerCreated"]  # fmt: skip
    assert [e.eventId for e in out.events[1:]] == [1, 2, 3, 4]
    assert list(out.events[0].workflowStarted.version.patches) == ["p1"]
    assert out.custom_status == "s"
    assert out.activities[0].taskId == 1 and out.activities[0].workflowInstance.executionId.value == "e1"
    assert out.children[0].instance_id == "w1:0002" and out.children[0].task_id == 2
    assert len(out.timers) == 1 and out.timers[0][0] == 2_000_000_000  # the sentinel timer is never armed


def test_failure_and_continue_as_new() -> None:
    inst = instance()
    details = pb.TaskFailureDetails(errorType="ValueError", errorMessage="boom")
    failed = pb.CompleteWorkflowAction(workflowStatus=pb.ORCHESTRATION_STATUS_FAILED, failureDetails=details)
    out = engine.apply_response(inst, [], response(pb.WorkflowAction(id=-1, completeWorkflow=failed)), 2.0)
    assert out.completion is not None and out.completion[0] == engine.FAILED
    assert out.events[-1].executionCompleted.failureDetails.errorMessage == "boom"
    again = pb.CompleteWorkflowAction(workflowStatus=pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
                                      result=wrappers_pb2.StringValue(value="0"))  # fmt: skip
    out = engine.apply_response(inst, [], response(
        pb.WorkflowAction(id=1, completeWorkflow=again),
        pb.WorkflowAction(id=2, scheduleTask=pb.ScheduleTaskAction(name="ignored"))), 2.0)  # fmt: skip
    assert out.continue_as_new == ("0", []) and not out.activities and out.completion is None


def test_fork_keeps_finished_pairs_and_reruns_the_target() -> None:
    source = instance(status=engine.COMPLETED)
    scheduled = [engine.new_event(2.0, i, taskScheduled=pb.TaskScheduledEvent(name="a")) for i in (1, 2)]
    done = engine.new_event(3.0, taskCompleted=pb.TaskCompletedEvent(taskScheduledId=1))
    source.history += [scheduled[0], engine.new_event(3.0, workflowStarted=pb.WorkflowStartedEvent()), done,
                       scheduled[1]]  # fmt: skip
    target = Instance(id="w2", seq=2, name="wf", execution_id="e2", created=4.0)
    forked = engine.fork(source, target, 2, '"new"', True, None, 4.0)
    kinds = [e.WhichOneof("eventType") for e in forked.history]
    assert kinds == ["workflowStarted", "executionStarted", "workflowStarted", "taskScheduled", "taskCompleted",
                     "taskScheduled"]  # fmt: skip
    assert forked.history[1].executionStarted.workflowInstance.instanceId == "w2"
    assert forked.history[-1].taskScheduled.rerunParentInstanceInfo.instanceID == "w1"
    assert forked.activities[0].input.value == '"new"' and forked.activities[0].workflowInstance.instanceId == "w2"
    with pytest.raises(EngineError) as missing:
        engine.fork(source, target, 42, None, False, None, 4.0)
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(EngineError) as child_id:
        engine.fork(source, target, 2, None, False, "kid", 4.0)
    assert child_id.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_store_round_trip(tmp_path: Path) -> None:
    store = WorkflowStore(tmp_path / "wf.db")
    inst = instance(input='"x"', tags={"k": "v"}, failure=b"\x01\x02")
    batch = Batch()
    batch.put_instance(inst)
    batch.append_history(inst.id, 0, inst.history)
    batch.add_inbox(inst.id, InboxItem(7, engine.new_event(1.0, eventRaised=pb.EventRaisedEvent(name="e")), 9.5, 0))
    batch.add_task(StoredTask(inst.id, 0, 1, pb.ActivityRequest(name="a", taskId=1)))
    store.commit([batch])
    store.close()
    instances, tasks, next_seq, next_row = WorkflowStore(tmp_path / "wf.db").load()
    loaded = instances["w1"]
    assert (loaded.input, loaded.tags, loaded.failure, len(loaded.history)) == ('"x"', {"k": "v"}, b"\x01\x02", 2)
    assert loaded.inbox[0].visible_at == 9.5 and loaded.inbox[0].event.eventRaised.name == "e"
    assert tasks[0].request.name == "a" and (next_seq, next_row) == (2, 8)
