"""Wire-level tests of TaskHubSidecarService: a hand-driven worker on a raw stub against an in-process engine.

These pin what the SDK relies on without running it: turn structure, completion tokens, redelivery
after a stream drops, stateful-history deltas, health pings, sentinel timers, continue-as-new.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from _waiting import wait_until
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs
from dapr.ext.workflow._durabletask.internal import protos as pb
from google.protobuf import empty_pb2, timestamp_pb2, wrappers_pb2

from dapr_nb.sandbox.server import LoopThread
from dapr_nb.sandbox.workflow.servicer import TaskHubServicer, WorkflowService

STATEFUL, PING = 2, 3


class Worker:
    """One GetWorkItems stream read on a background thread."""

    def __init__(self, stub: Any, capabilities: list[int]) -> None:
        self.call = stub.GetWorkItems(pb.GetWorkItemsRequest(capabilities=capabilities))
        self.items: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for item in self.call:
                self.items.put(item)
        except grpc.RpcError:
            pass

    def next(self, kind: str = "workflowRequest", timeout: float = 5.0) -> Any:
        """Return the next work item of a kind, skipping health pings."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if item.WhichOneof("request") == kind:
                return item
            assert item.WhichOneof("request") == "healthPing", item

    def nothing(self, wait: float = 0.3) -> bool:
        """Return True if no work item (other than pings) arrives within ``wait``."""
        try:
            self.next("workflowRequest", wait)
        except queue.Empty:
            return True
        return False

    def cancel(self) -> None:
        """Drop the stream like a crashed worker."""
        self.call.cancel()


@pytest.fixture
def stub(served: tuple[Any, WorkflowService]) -> Any:
    """A raw TaskHubSidecarService stub on a fresh in-process engine (fast health pings)."""
    return served[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, WorkflowService]]:
    """The stub and the engine it talks to."""
    service = WorkflowService(tmp_path / "wf.db", app_id="proto")
    pool = futures.ThreadPoolExecutor(64)
    loop = LoopThread(pool)

    async def serve() -> tuple[grpc.aio.Server, int]:
        server = grpc.aio.server(migration_thread_pool=pool)
        stubs.add_TaskHubSidecarServiceServicer_to_server(TaskHubServicer(service.hub, ping_interval=0.2), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, port = loop.run(serve())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield stubs.TaskHubSidecarServiceStub(channel), service
    channel.close()
    loop.run(server.stop(0))
    assert loop.close(5)
    pool.shutdown()
    service.close()
    started.clear()
    pending.clear()


started: set[str] = set()
pending: list[Any] = []


def start(stub: Any, name: str = "wf", data: str | None = '"in"', instance_id: str = "i1") -> str:
    """Start an instance with the request shape the Python client sends."""
    req = pb.CreateInstanceRequest(name=name, instanceId=instance_id, version=wrappers_pb2.StringValue(value=""))
    if data is not None:
        req.input.value = data
    if instance_id in started:
        return str(stub.StartInstance(req).instanceId)  # raises ALREADY_EXISTS at once
    started.add(instance_id)
    pending.append(stub.StartInstance.future(req))  # StartInstance waits (boundedly) for a connected worker to start it
    wait_until(lambda: stub.GetInstance(pb.GetInstanceRequest(instanceId=instance_id)).exists,
               message=f"{instance_id} was never created")  # fmt: skip
    return instance_id


def action(action_id: int, **kind: Any) -> Any:
    """Return a WorkflowAction."""
    return pb.WorkflowAction(id=action_id, **kind)


def respond(stub: Any, item: Any, *actions: Any, token: str | None = None) -> None:
    """Complete a turn."""
    req = item.workflowRequest
    stub.CompleteOrchestratorTask(pb.WorkflowResponse(
        instanceId=req.instanceId, actions=actions,
        completionToken=item.completionToken if token is None else token))  # fmt: skip


def schedule(action_id: int, name: str = "act") -> Any:
    """Return a scheduleTask action."""
    return action(action_id, scheduleTask=pb.ScheduleTaskAction(name=name, taskExecutionId=f"x{action_id}"))


def finish(stub: Any, item: Any, result: str = '"done"') -> None:
    """Complete the workflow in this turn."""
    done = pb.CompleteWorkflowAction(workflowStatus=pb.ORCHESTRATION_STATUS_COMPLETED,
                                     result=wrappers_pb2.StringValue(value=result))  # fmt: skip
    respond(stub, item, action(99, completeWorkflow=done))


def kinds(events: Any) -> list[str]:
    """Return the event type names."""
    return [e.WhichOneof("eventType") for e in events]


def test_hello_and_turn_structure(stub: Any) -> None:
    stub.Hello(empty_pb2.Empty())
    worker = Worker(stub, [STATEFUL, PING])
    start(stub)
    item = worker.next()
    req = item.workflowRequest
    assert item.completionToken and req.instanceId == "i1" and not req.pastEvents
    assert kinds(req.newEvents) == ["workflowStarted", "executionStarted"]
    assert req.newEvents[0].eventId == -1 and req.newEvents[0].timestamp.seconds > 0
    assert req.newEvents[1].executionStarted.input.value == '"in"'
    assert req.newEvents[1].router.sourceAppID == "proto"
    respond(stub, item)  # no actions: the instance waits
    assert worker.nothing()  # never a turn without inbox events
    state = stub.GetInstance(pb.GetInstanceRequest(instanceId="i1", getInputsAndOutputs=True)).workflowState
    assert state.workflowStatus == pb.ORCHESTRATION_STATUS_RUNNING and state.input.value == '"in"'
    worker.cancel()


def test_activity_round_trip_and_stateful_deltas(stub: Any) -> None:
    worker = Worker(stub, [STATEFUL, PING])
    start(stub)
    respond(stub, worker.next(), schedule(1))
    for task_id, expected_count in ((1, 0), (2, 3)):
        work = worker.next("activityRequest")
        assert work.activityRequest.taskId == task_id and work.activityRequest.workflowInstance.instanceId == "i1"
        result = wrappers_pb2.StringValue(value=str(task_id))
        token = work.completionToken
        response = pb.ActivityResponse(instanceId="i1", taskId=task_id, completionToken=token, result=result)
        stub.CompleteActivityTask(response)
        item = worker.next()
        req = item.workflowRequest
        assert req.cachedHistory.eventCount == expected_count
        assert kinds(req.newEvents) == ["workflowStarted", "taskCompleted"]
        assert req.newEvents[1].taskCompleted.taskScheduledId == task_id
        assert req.newEvents[1].taskCompleted.taskExecutionId == f"x{task_id}"
        if task_id == 1:
            assert len(req.pastEvents) == 3  # cold: full history
            respond(stub, item, schedule(2))
        else:
            assert kinds(req.pastEvents) == ["workflowStarted", "taskCompleted", "taskScheduled"]  # warm: the delta
            finish(stub, item)
    history = stub.GetInstanceHistory(pb.GetInstanceHistoryRequest(instanceId="i1")).events
    assert kinds(history)[-1] == "executionCompleted" and len(history) == 9
    stamps = [e.timestamp.ToNanoseconds() for e in history]
    turns = [t for e, t in zip(history, stamps, strict=True) if e.HasField("workflowStarted")]
    assert turns == sorted(set(turns)) and len(turns) == 3
    for i, kind in enumerate(kinds(history)):  # as in daprd: an event keeps the time it arrived, before its turn
        if kind in ("executionStarted", "taskCompleted"):
            assert kinds(history)[i - 1] == "workflowStarted" and stamps[i] < stamps[i - 1]


def test_redelivery_after_stream_loss_and_stale_tokens(stub: Any) -> None:
    first = Worker(stub, [])
    start(stub)
    lost = first.next()
    first.cancel()
    second = Worker(stub, [])
    again = second.next()
    assert again.completionToken != lost.completionToken
    assert kinds(again.workflowRequest.newEvents) == ["workflowStarted", "executionStarted"]
    respond(stub, again, schedule(1), token=lost.completionToken)  # stale: dropped
    respond(stub, again, schedule(1))
    task = second.next("activityRequest")
    second.cancel()
    third = Worker(stub, [])
    redelivered = third.next("activityRequest")
    assert redelivered.activityRequest.taskId == 1 and redelivered.completionToken != task.completionToken
    stub.CompleteActivityTask(pb.ActivityResponse(instanceId="i1", taskId=1, completionToken=task.completionToken))
    assert third.nothing()  # the stale result was dropped
    token = redelivered.completionToken
    stub.CompleteActivityTask(pb.ActivityResponse(instanceId="i1", taskId=1, completionToken=token))
    assert kinds(third.next().workflowRequest.newEvents) == ["workflowStarted", "taskCompleted"]
    third.cancel()


def test_health_pings_only_for_workers_that_ask(stub: Any) -> None:
    pinged, plain = Worker(stub, [PING]), Worker(stub, [])
    assert pinged.items.get(timeout=2).WhichOneof("request") == "healthPing"
    with pytest.raises(queue.Empty):
        plain.items.get(timeout=0.5)
    pinged.cancel()
    plain.cancel()


def test_sentinel_timer_is_never_scheduled_and_events_wake(stub: Any) -> None:
    worker = Worker(stub, [])
    start(stub)
    forever = timestamp_pb2.Timestamp()
    forever.FromJsonString("9999-12-31T23:59:59.999999999Z")
    timer = pb.CreateTimerAction(fireAt=forever, externalEvent=pb.TimerOriginExternalEvent(name="go"))
    respond(stub, worker.next(), action(1, createTimer=timer))
    assert worker.nothing()
    stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="go", input=wrappers_pb2.StringValue(value="0")))
    req = worker.next().workflowRequest
    assert kinds(req.newEvents) == ["workflowStarted", "eventRaised"]
    assert req.newEvents[1].eventRaised.input.value == "0"
    worker.cancel()


def test_real_timer_fires(stub: Any) -> None:
    worker = Worker(stub, [])
    start(stub)
    item = worker.next()
    fire_at = timestamp_pb2.Timestamp()
    fire_at.FromNanoseconds(item.workflowRequest.newEvents[0].timestamp.ToNanoseconds() + 300_000_000)
    respond(stub, item, action(1, createTimer=pb.CreateTimerAction(fireAt=fire_at)))
    assert worker.nothing(0.1)
    req = worker.next(timeout=3).workflowRequest
    assert kinds(req.newEvents) == ["workflowStarted", "timerFired"] and req.newEvents[1].timerFired.timerId == 1
    worker.cancel()


def test_continue_as_new_restamps_carryover(stub: Any) -> None:
    worker = Worker(stub, [STATEFUL])
    start(stub)
    item = worker.next()
    old_execution = item.workflowRequest.executionId.value
    raised = pb.EventRaisedEvent(name="e", input=wrappers_pb2.StringValue(value="1"))
    carry = pb.HistoryEvent(eventId=-1, eventRaised=raised)  # the SDK leaves the timestamp at the epoch
    status, result = pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW, wrappers_pb2.StringValue(value='"next"')
    done = pb.CompleteWorkflowAction(workflowStatus=status, result=result, carryoverEvents=[carry])
    respond(stub, item, action(1, completeWorkflow=done))
    req = worker.next().workflowRequest
    assert not req.pastEvents and not req.HasField("cachedHistory")
    assert kinds(req.newEvents) == ["workflowStarted", "executionStarted", "eventRaised"]
    assert req.newEvents[1].executionStarted.input.value == '"next"'
    assert req.executionId.value != old_execution
    assert req.newEvents[2].timestamp.seconds > 1_000_000_000
    worker.cancel()


def test_client_errors(stub: Any) -> None:
    start(stub)
    with pytest.raises(grpc.RpcError) as dup:
        start(stub)
    assert dup.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as busy:
        stub.PurgeInstances(pb.PurgeInstancesRequest(instanceId="i1"))
    assert busy.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    forced = stub.PurgeInstances(pb.PurgeInstancesRequest(instanceId="i1", force=True))
    assert forced.deletedInstanceCount == 1
    with pytest.raises(grpc.RpcError) as missing:
        stub.PurgeInstances(pb.PurgeInstancesRequest(instanceId="i1"))
    assert missing.value.code() == grpc.StatusCode.UNKNOWN  # daprd's status (tests/test_differential_workflow.py)
    with pytest.raises(grpc.RpcError) as multi:
        stub.PurgeInstances(pb.PurgeInstancesRequest(purgeInstanceFilter=pb.PurgeInstanceFilter()))
    assert multi.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert not stub.GetInstance(pb.GetInstanceRequest(instanceId="i1")).exists


@pytest.mark.parametrize("seconds, nanos", [(10**12, 0), (-(10**12), 0), (253_402_300_799, 999_999_999), (0, -1)])
def test_unreadable_start_is_refused_and_stores_nothing(stub: Any, seconds: int, nanos: int) -> None:
    stamp = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    bad = pb.CreateInstanceRequest(name="wf", instanceId="poison", scheduledStartTimestamp=stamp)
    with pytest.raises(grpc.RpcError) as refused:
        stub.StartInstance(bad)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "scheduledStartTimestamp" in (refused.value.details() or "")
    assert not stub.GetInstance(pb.GetInstanceRequest(instanceId="poison")).exists
    assert "poison" not in stub.ListInstanceIDs(pb.ListInstanceIDsRequest()).instanceIds
    later = timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600)
    ok = pb.CreateInstanceRequest(name="wf", instanceId="poison", scheduledStartTimestamp=later)
    assert stub.StartInstance(ok).instanceId == "poison"
    state = stub.GetInstance(pb.GetInstanceRequest(instanceId="poison")).workflowState
    assert state.scheduledStartTimestamp.seconds == later.seconds


def test_non_numeric_continuation_token_is_invalid(stub: Any) -> None:
    for token in ("abc", "1.5", "\u00e9"):
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListInstanceIDs(pb.ListInstanceIDsRequest(continuationToken=token, pageSize=2))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_finished_instances_leave_memory_and_read_back_from_sqlite(served: tuple[Any, WorkflowService],
                                                                    tmp_path: Path) -> None:  # fmt: skip
    stub, service = served
    worker = Worker(stub, [])
    ids = [f"c{n}" for n in range(40)]
    for instance_id in ids:
        start(stub, instance_id=instance_id)
        finish(stub, worker.next(), result=f'"{instance_id}"')
    start(stub, instance_id="live")  # started, never finished: live work stays in memory
    worker.next()
    wait_until(lambda: service.hub.instances_in_memory == 1, message="finished instances stayed in memory")
    state = stub.GetInstance(pb.GetInstanceRequest(instanceId="c7", getInputsAndOutputs=True)).workflowState
    assert state.workflowStatus == pb.ORCHESTRATION_STATUS_COMPLETED and state.output.value == '"c7"'
    done = stub.WaitForInstanceCompletion(pb.GetInstanceRequest(instanceId="c8"), timeout=5)
    assert done.workflowState.workflowStatus == pb.ORCHESTRATION_STATUS_COMPLETED
    assert kinds(stub.GetInstanceHistory(pb.GetInstanceHistoryRequest(instanceId="c9")).events)[-1] == \
        "executionCompleted"
    listed, token = [], None
    while True:
        page = stub.ListInstanceIDs(pb.ListInstanceIDsRequest(pageSize=7, continuationToken=token))
        listed += page.instanceIds
        if not page.HasField("continuationToken"):
            break
        token = page.continuationToken
    assert listed == [*ids, "live"]
    assert stub.PurgeInstances(pb.PurgeInstancesRequest(instanceId="c0")).deletedInstanceCount == 1
    assert not stub.GetInstance(pb.GetInstanceRequest(instanceId="c0")).exists
    started.discard("c1")
    start(stub, instance_id="c1")  # a finished id is reused
    finish(stub, worker.next(), result='"again"')
    again = stub.WaitForInstanceCompletion(pb.GetInstanceRequest(instanceId="c1", getInputsAndOutputs=True), timeout=5)
    assert again.workflowState.output.value == '"again"'
    assert "c0" not in stub.ListInstanceIDs(pb.ListInstanceIDsRequest()).instanceIds
    wait_until(lambda: service.hub.instances_in_memory == 1)
    reopened = WorkflowService(tmp_path / "wf.db")  # a restart loads only the live work
    try:
        assert reopened.hub.instances_in_memory == 1
        assert reopened.hub.get("c5", True).workflowState.output.value == '"c5"'
    finally:
        reopened.close()


def test_wait_honours_deadline_and_list_paging(stub: Any) -> None:
    for n in range(3):
        start(stub, instance_id=f"i{n}")
    state = stub.GetInstance(pb.GetInstanceRequest(instanceId="i0")).workflowState
    assert state.workflowStatus == pb.ORCHESTRATION_STATUS_PENDING and state.createdTimestamp.seconds > 0
    with pytest.raises(grpc.RpcError) as late:
        stub.WaitForInstanceCompletion(pb.GetInstanceRequest(instanceId="i0"), timeout=0.5)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    first = stub.ListInstanceIDs(pb.ListInstanceIDsRequest(pageSize=2))
    assert list(first.instanceIds) == ["i0", "i1"] and first.HasField("continuationToken")
    last = stub.ListInstanceIDs(pb.ListInstanceIDsRequest(pageSize=2, continuationToken=first.continuationToken))
    assert list(last.instanceIds) == ["i2"] and not last.HasField("continuationToken")
