"""Acceptance: the official, unmodified ``dapr.ext.workflow`` runtime and client against the sandbox.

One WorkflowRuntime for the module (workflows registered before start, names prefixed ``wft_``),
shut down in teardown; every wait is bounded so a bug fails instead of hanging.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dapr.ext.workflow as wf
import grpc
import pytest
from _waiting import wait_until
from _workflow_support import shutdown
from dapr.ext.workflow._durabletask.task import NonRetryableError

from dapr_nb.sandbox import Sandbox

TIMEOUT = 30
attempts: Counter[str] = Counter()
attempts_lock = threading.Lock()

FAST_RETRY = wf.RetryPolicy(first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=3)


def count(key: str) -> int:
    """Count one attempt for key and return the running total."""
    with attempts_lock:
        attempts[key] += 1
        return attempts[key]


def register(runtime: wf.WorkflowRuntime) -> None:
    """Register every workflow and activity this module uses."""

    @runtime.activity(name="wft_hello")
    def hello(ctx: Any, name: str) -> str:
        return f"Hello {name}!"

    @runtime.activity(name="wft_square")
    def square(ctx: Any, x: int) -> int:
        return x * x

    @runtime.activity(name="wft_flaky")
    def flaky(ctx: Any, key: str) -> int:
        n = count(key)
        if n < 3:
            raise RuntimeError(f"attempt {n} failed")
        return n

    @runtime.activity(name="wft_fatal")
    def fatal(ctx: Any, key: str) -> int:
        count(key)
        raise NonRetryableError("do not retry me")

    @runtime.workflow(name="wft_chain")
    def chain(ctx: Any, names: list[str]) -> Any:
        results = []
        for name in names:
            results.append((yield ctx.call_activity("wft_hello", input=name)))
        return results

    @runtime.workflow(name="wft_fanout")
    def fanout(ctx: Any, n: int) -> Any:
        results = yield wf.when_all([ctx.call_activity("wft_square", input=i) for i in range(n)])
        return sum(results)

    @runtime.workflow(name="wft_approval")
    def approval(ctx: Any, timeout_s: float | None) -> Any:
        event = ctx.wait_for_external_event("approve")
        if timeout_s is None:
            return {"approved": (yield event)}
        timer = ctx.create_timer(timedelta(seconds=timeout_s))
        winner = yield wf.when_any([event, timer])
        return "timeout" if winner == timer else {"approved": event.get_result()}

    @runtime.workflow(name="wft_timer")
    def timer_wf(ctx: Any, seconds: float) -> Any:
        start = ctx.current_utc_datetime
        yield ctx.create_timer(timedelta(seconds=seconds))
        return (ctx.current_utc_datetime - start).total_seconds()

    @runtime.workflow(name="wft_child")
    def child(ctx: Any, name: str) -> Any:
        greeting = yield ctx.call_activity("wft_hello", input=name)
        return greeting.upper()

    @runtime.workflow(name="wft_parent")
    def parent(ctx: Any, names: list[str]) -> Any:
        return (yield wf.when_all([ctx.call_child_workflow("wft_child", input=n) for n in names]))

    @runtime.workflow(name="wft_flaky_child")
    def flaky_child(ctx: Any, key: str) -> Any:
        n = yield ctx.call_activity("wft_count", input=key)
        if n < 3:
            raise ValueError(f"child attempt {n} failed")
        return n

    @runtime.activity(name="wft_count")
    def count_activity(ctx: Any, key: str) -> int:
        return count(key)

    @runtime.workflow(name="wft_retry_parent")
    def retry_parent(ctx: Any, key: str) -> Any:
        return (yield ctx.call_child_workflow("wft_flaky_child", input=key, retry_policy=FAST_RETRY))

    @runtime.workflow(name="wft_retry_activity")
    def retry_activity(ctx: Any, key: str) -> Any:
        return (yield ctx.call_activity("wft_flaky", input=key, retry_policy=FAST_RETRY))

    @runtime.workflow(name="wft_fatal_activity")
    def fatal_activity(ctx: Any, key: str) -> Any:
        return (yield ctx.call_activity("wft_fatal", input=key, retry_policy=FAST_RETRY))

    @runtime.workflow(name="wft_counter")
    def counter(ctx: Any, state: dict[str, Any] | None) -> Any:
        state = state or {"seen": []}
        value = yield ctx.wait_for_external_event("add")
        state["seen"].append(value)
        if len(state["seen"]) >= 3:
            return state
        ctx.continue_as_new(state, save_events=True)
        return None

    @runtime.workflow(name="wft_status")
    def status_wf(ctx: Any, _: Any) -> Any:
        ctx.set_custom_status("waiting")
        value = yield ctx.wait_for_external_event("go")
        ctx.set_custom_status({"got": value})
        greeting = yield ctx.call_activity("wft_hello", input=str(value))
        return greeting

    @runtime.workflow(name="wft_waiter_parent")
    def waiter_parent(ctx: Any, child_id: str) -> Any:
        return (yield ctx.call_child_workflow("wft_approval", input=None, instance_id=child_id))


@pytest.fixture(scope="module")
def endpoint(sandbox: Sandbox) -> tuple[str, str]:
    """Host and port of the session sandbox."""
    return sandbox.host, str(sandbox.grpc_port)


@pytest.fixture(scope="module")
def runtime(endpoint: tuple[str, str]) -> Iterator[wf.WorkflowRuntime]:
    """A started WorkflowRuntime with this module's workflows; shut down afterwards."""
    runtime = wf.WorkflowRuntime(host=endpoint[0], port=endpoint[1])
    register(runtime)
    runtime.start()
    yield runtime
    shutdown(runtime)


@pytest.fixture(scope="module")
def client(endpoint: tuple[str, str], runtime: wf.WorkflowRuntime) -> Iterator[wf.DaprWorkflowClient]:
    """The official DaprWorkflowClient pointed at the sandbox."""
    client = wf.DaprWorkflowClient(host=endpoint[0], port=endpoint[1])
    yield client
    client.close()


def run(client: wf.DaprWorkflowClient, name: str, data: Any = None, **kw: Any) -> wf.WorkflowState:
    """Start a workflow and wait for it to finish."""
    instance_id = client.schedule_new_workflow(name, input=data, **kw)
    state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert state is not None
    return state


def key() -> str:
    """Return a fresh attempt-counter key."""
    return uuid.uuid4().hex


def test_chaining(client: wf.DaprWorkflowClient) -> None:
    state = run(client, "wft_chain", ["Tokyo", "Seattle", "London"])
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert state.serialized_output == '["Hello Tokyo!", "Hello Seattle!", "Hello London!"]'
    assert state.serialized_input == '["Tokyo", "Seattle", "London"]'


@pytest.mark.fanout
def test_fan_out_fan_in_1000(client: wf.DaprWorkflowClient) -> None:
    state = run(client, "wft_fanout", 1000)
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert state.serialized_output == str(sum(i * i for i in range(1000)))


def test_external_event_without_timeout(client: wf.DaprWorkflowClient) -> None:
    instance_id = client.schedule_new_workflow("wft_approval", input=None)
    client.wait_for_workflow_start(instance_id, timeout_in_seconds=TIMEOUT)
    client.raise_workflow_event(instance_id, "approve", data="yes")
    state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert state is not None and state.serialized_output == '{"approved": "yes"}'


def test_external_event_with_timeout(client: wf.DaprWorkflowClient) -> None:
    approved = client.schedule_new_workflow("wft_approval", input=30)
    timed_out = client.schedule_new_workflow("wft_approval", input=0.3)
    client.raise_workflow_event(approved, "APPROVE", data={"by": "me"})  # names match case-insensitively
    first = client.wait_for_workflow_completion(approved, timeout_in_seconds=TIMEOUT)
    second = client.wait_for_workflow_completion(timed_out, timeout_in_seconds=TIMEOUT)
    assert first is not None and first.serialized_output == '{"approved": {"by": "me"}}'
    assert second is not None and second.serialized_output == '"timeout"'


def test_event_raised_before_start_is_kept(client: wf.DaprWorkflowClient) -> None:
    start_at = datetime.now(tz=timezone.utc) + timedelta(seconds=0.5)
    instance_id = client.schedule_new_workflow("wft_approval", input=None, start_at=start_at)
    state = client.get_workflow_state(instance_id)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.PENDING
    client.raise_workflow_event(instance_id, "approve", data=0)  # falsy payloads are dropped by the SDK itself
    done = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert done is not None and done.runtime_status == wf.WorkflowStatus.COMPLETED


def test_durable_timer(client: wf.DaprWorkflowClient) -> None:
    started = time.monotonic()
    state = run(client, "wft_timer", 1.0)
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert time.monotonic() - started >= 1.0
    assert 1.0 <= float(state.serialized_output or "0") < 5.0


def test_child_workflows(client: wf.DaprWorkflowClient) -> None:
    state = run(client, "wft_parent", ["a", "b", "c"])
    assert state.serialized_output == '["HELLO A!", "HELLO B!", "HELLO C!"]'


def test_failing_child_with_retry_policy(client: wf.DaprWorkflowClient) -> None:
    k = key()
    state = run(client, "wft_retry_parent", k)
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert state.serialized_output == "3" and attempts[k] == 3


def test_activity_retry_policy(client: wf.DaprWorkflowClient) -> None:
    k = key()
    state = run(client, "wft_retry_activity", k)
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED and state.serialized_output == "3"


def test_non_retryable_error_fails_at_once(client: wf.DaprWorkflowClient) -> None:
    k = key()
    state = run(client, "wft_fatal_activity", k)
    assert state.runtime_status == wf.WorkflowStatus.FAILED
    assert attempts[k] == 1
    assert state.failure_details is not None and "do not retry me" in state.failure_details.message


def test_continue_as_new_keeps_saved_events(client: wf.DaprWorkflowClient) -> None:
    instance_id = client.schedule_new_workflow("wft_counter", input=None)
    client.wait_for_workflow_start(instance_id, timeout_in_seconds=TIMEOUT)
    for value in (1, 2, 3):
        client.raise_workflow_event(instance_id, "add", data=value)
    state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert state.serialized_output == '{"seen": [1, 2, 3]}'
    history = client.get_workflow_history(instance_id)
    started = [e for e in history if e.event_type == wf.WorkflowHistoryEventType.EXECUTION_STARTED]
    assert len(started) == 1  # only the final generation's history is kept
    assert all(e.timestamp.year > 2000 for e in history)  # carry-over events were re-stamped


def test_custom_status(client: wf.DaprWorkflowClient) -> None:
    instance_id = client.schedule_new_workflow("wft_status", input=None)
    client.wait_for_workflow_start(instance_id, timeout_in_seconds=TIMEOUT)

    def custom_status() -> str | None:
        state = client.get_workflow_state(instance_id)
        return None if state is None else state.serialized_custom_status

    assert wait_until(custom_status, TIMEOUT, "no custom status") == "waiting"  # the SDK sends strings unencoded
    client.raise_workflow_event(instance_id, "go", data=7)
    done = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert done is not None and done.serialized_custom_status == '{"got": 7}'
    assert done.serialized_output == '"Hello 7!"'


def test_suspend_resume_keeps_events(client: wf.DaprWorkflowClient) -> None:
    instance_id = client.schedule_new_workflow("wft_status", input=None)
    client.wait_for_workflow_start(instance_id, timeout_in_seconds=TIMEOUT)
    client.pause_workflow(instance_id)
    state = client.get_workflow_state(instance_id)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.SUSPENDED
    client.raise_workflow_event(instance_id, "go", data="while-paused")
    time.sleep(0.5)  # a window in which nothing may happen: the event must not resume the paused instance
    state = client.get_workflow_state(instance_id)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.SUSPENDED
    client.resume_workflow(instance_id)
    done = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert done is not None and done.serialized_output == '"Hello while-paused!"'


def test_terminate_recursive_then_purge_recursive(client: wf.DaprWorkflowClient) -> None:
    parent_id, child_id = f"wft-p-{key()}", f"wft-c-{key()}"
    client.schedule_new_workflow("wft_waiter_parent", input=child_id, instance_id=parent_id)
    client.wait_for_workflow_start(child_id, timeout_in_seconds=TIMEOUT)
    with pytest.raises(grpc.RpcError) as busy:
        client.purge_workflow(parent_id)
    assert busy.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    client.terminate_workflow(parent_id, output="stopped")
    parent = client.wait_for_workflow_completion(parent_id, timeout_in_seconds=TIMEOUT)
    child = client.wait_for_workflow_completion(child_id, timeout_in_seconds=TIMEOUT)
    assert parent is not None and parent.runtime_status == wf.WorkflowStatus.TERMINATED
    assert parent.serialized_output == '"stopped"'
    assert child is not None and child.runtime_status == wf.WorkflowStatus.TERMINATED
    client.purge_workflow(parent_id)
    assert client.get_workflow_state(parent_id) is None
    assert client.get_workflow_state(child_id) is None
    with pytest.raises(grpc.RpcError) as gone:
        client.get_workflow_history(parent_id)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


def test_id_reuse_and_already_exists(client: wf.DaprWorkflowClient) -> None:
    instance_id = f"wft-reuse-{key()}"
    client.schedule_new_workflow("wft_approval", input=None, instance_id=instance_id)
    with pytest.raises(grpc.RpcError) as dup:
        client.schedule_new_workflow("wft_approval", input=None, instance_id=instance_id)
    assert dup.value.code() == grpc.StatusCode.ALREADY_EXISTS
    client.terminate_workflow(instance_id)
    client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    client.schedule_new_workflow("wft_chain", input=["again"], instance_id=instance_id)
    state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    assert state is not None and state.serialized_output == '["Hello again!"]'


def test_wait_honours_client_deadline(client: wf.DaprWorkflowClient) -> None:
    instance_id = client.schedule_new_workflow("wft_approval", input=None)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.wait_for_workflow_completion(instance_id, timeout_in_seconds=1)
    assert time.monotonic() - started < 3
    client.terminate_workflow(instance_id)


def test_list_ids_with_paging(client: wf.DaprWorkflowClient) -> None:
    mine = [client.schedule_new_workflow("wft_chain", input=[]) for _ in range(5)]
    for instance_id in mine:
        client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    page = client.list_workflow_instance_ids(page_size=2)
    assert len(page.instance_ids) == 2 and page.continuation_token
    everything = list(client.iter_workflow_instance_ids(page_size=2))
    assert len(everything) == len(set(everything))
    positions = [everything.index(i) for i in mine]
    assert positions == sorted(positions)  # creation order
    unpaged = client.list_workflow_instance_ids()
    assert unpaged.continuation_token is None and set(mine) <= set(unpaged.instance_ids)


def test_history(client: wf.DaprWorkflowClient) -> None:
    state = run(client, "wft_chain", ["x", "y"])
    history = client.get_workflow_history(state.instance_id)
    kinds = [e.event_type for e in history]
    types = wf.WorkflowHistoryEventType
    assert kinds[0] == types.WORKFLOW_STARTED and kinds[1] == types.EXECUTION_STARTED
    assert kinds.count(types.TASK_SCHEDULED) == 2 and kinds.count(types.TASK_COMPLETED) == 2
    assert kinds[-1] == types.EXECUTION_COMPLETED
    stamps = [e.timestamp for e in history]
    turns = [t for k, t in zip(kinds, stamps, strict=True) if k == types.WORKFLOW_STARTED]
    assert turns == sorted(set(turns)) and len(turns) == 3
    for i, kind in enumerate(kinds):  # as in daprd: an event keeps the time it arrived, before the turn taking it
        if kind in (types.EXECUTION_STARTED, types.TASK_COMPLETED):
            assert kinds[i - 1] == types.WORKFLOW_STARTED and stamps[i] < stamps[i - 1]


def test_rerun_from_event(client: wf.DaprWorkflowClient) -> None:
    state = run(client, "wft_chain", ["a", "b", "c"])
    history = client.get_workflow_history(state.instance_id)
    scheduled = [e for e in history if e.event_type == wf.WorkflowHistoryEventType.TASK_SCHEDULED]
    assert all(e.is_rerunnable for e in scheduled)
    new_id = client.rerun_workflow_from_event(state.instance_id, scheduled[1].event_id, input="B")
    rerun = client.wait_for_workflow_completion(new_id, timeout_in_seconds=TIMEOUT)
    assert rerun is not None and rerun.serialized_output == '["Hello a!", "Hello B!", "Hello c!"]'
    again = client.rerun_workflow_from_event(state.instance_id, scheduled[0].event_id, new_instance_id=f"wft-{key()}")
    assert client.wait_for_workflow_completion(again, timeout_in_seconds=TIMEOUT).serialized_output == (  # type: ignore[union-attr]
        state.serialized_output
    )
    with pytest.raises(grpc.RpcError) as exists:
        client.rerun_workflow_from_event(state.instance_id, scheduled[0].event_id, new_instance_id=again)
    assert exists.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as bad:
        client.rerun_workflow_from_event(state.instance_id, 9999)
    assert bad.value.code() == grpc.StatusCode.NOT_FOUND


def test_unknown_instance(client: wf.DaprWorkflowClient) -> None:
    assert client.get_workflow_state(f"nope-{key()}") is None
    with pytest.raises(grpc.RpcError) as unknown:  # as daprd answers (tests/test_differential_workflow.py)
        client.raise_workflow_event(f"nope-{key()}", "x", data=1)
    assert unknown.value.code() == grpc.StatusCode.UNKNOWN and unknown.value.details() == "no such instance exists"
