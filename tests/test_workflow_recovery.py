"""Durability: kill -9 of the sandbox mid-workflow, restart on the same data dir, every workflow still finishes.

The official WorkflowRuntime stays up across the crash and reconnects by itself (its back-off is a
few seconds), so this module is the slowest workflow test; every wait stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import dapr.ext.workflow as wf
from _waiting import wait_until
from _workflow_support import shutdown

from dapr_nb.sandbox import Sandbox

TIMEOUT = 60
TIMER = timedelta(seconds=2)


def register(runtime: wf.WorkflowRuntime) -> None:
    """Register the crash-test workflows."""

    @runtime.activity(name="wfr_slow_double")
    def slow_double(ctx: Any, x: int) -> int:
        time.sleep(0.05)  # stands for work, so a kill finds fan-out activities in flight
        return 2 * x

    @runtime.workflow(name="wfr_timer_chain")
    def timer_chain(ctx: Any, x: int) -> Any:
        a = yield ctx.call_activity("wfr_slow_double", input=x)
        yield ctx.create_timer(TIMER)
        b = yield ctx.call_activity("wfr_slow_double", input=a)
        return b

    @runtime.workflow(name="wfr_fan")
    def fan(ctx: Any, n: int) -> Any:
        results = yield wf.when_all([ctx.call_activity("wfr_slow_double", input=i) for i in range(n)])
        return sum(results)

    @runtime.workflow(name="wfr_wait_event")
    def wait_event(ctx: Any, _: Any) -> Any:
        value = yield ctx.wait_for_external_event("poke")
        return value


def first_event(client: wf.DaprWorkflowClient, instance_id: str, kind: wf.WorkflowHistoryEventType) -> Any:
    """Return the instance's first history event of ``kind``, or None."""
    return next((e for e in client.get_workflow_history(instance_id) if e.event_type == kind), None)


def test_kill_9_mid_workflow_then_restart(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    host, port = sb.host, str(sb.grpc_port)
    runtime = wf.WorkflowRuntime(host=host, port=port)
    register(runtime)
    runtime.start()
    client = wf.DaprWorkflowClient(host=host, port=port)
    try:
        chains = {client.schedule_new_workflow("wfr_timer_chain", input=i): 4 * i for i in range(1, 6)}
        fans = {client.schedule_new_workflow("wfr_fan", input=n): n * (n - 1) for n in (40, 60)}
        waiter = client.schedule_new_workflow("wfr_wait_event", input=None)
        for instance_id in [*chains, *fans, waiter]:
            client.wait_for_workflow_start(instance_id, timeout_in_seconds=TIMEOUT)
        armed = wf.WorkflowHistoryEventType.TIMER_CREATED
        scheduled = wf.WorkflowHistoryEventType.TASK_SCHEDULED
        wait_until(lambda: all(first_event(client, i, armed) for i in chains), TIMEOUT, "timers never armed")
        wait_until(lambda: all(first_event(client, i, scheduled) for i in fans), TIMEOUT, "fan-out never began")
        unfinished = [i for i in [*chains, *fans] if client.get_workflow_state(i).runtime_status  # type: ignore[union-attr]
                      == wf.WorkflowStatus.RUNNING]  # fmt: skip
        sb.kill()
        assert len(unfinished) >= len(chains) + 1
        sb.restart()
        client.raise_workflow_event(waiter, "poke", data="after-restart")
        for instance_id, expected in {**chains, **fans, waiter: '"after-restart"'}.items():
            state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
            assert state is not None, instance_id
            assert state.runtime_status == wf.WorkflowStatus.COMPLETED, (instance_id, state.failure_details)
            assert state.serialized_output == str(expected)
    finally:
        client.close()
        shutdown(runtime)


def test_timer_survives_restart_without_worker(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    host, port = sb.host, str(sb.grpc_port)
    runtime = wf.WorkflowRuntime(host=host, port=port)
    register(runtime)
    runtime.start()
    client = wf.DaprWorkflowClient(host=host, port=port)
    try:
        instance_id = client.schedule_new_workflow("wfr_timer_chain", input=10)
        armed = wait_until(lambda: first_event(client, instance_id, wf.WorkflowHistoryEventType.TIMER_CREATED),
                           TIMEOUT, "the timer was never created")  # fmt: skip
        shutdown(runtime)
        sb.kill()
        # The timer comes due while nothing runs: it fires at most TIMER after it was recorded (naive UTC).
        due = armed.timestamp + TIMER
        wait_until(lambda: datetime.now(timezone.utc).replace(tzinfo=None) > due, TIMEOUT, "the timer never came due")
        sb.restart()
        runtime = wf.WorkflowRuntime(host=host, port=port)
        register(runtime)
        runtime.start()
        state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
        assert state is not None and state.serialized_output == "40"
    finally:
        client.close()
        shutdown(runtime)
