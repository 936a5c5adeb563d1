"""Durability: kill -9 of the sandbox mid-workflow, restart on the same data dir, every workflow still finishes.

The official WorkflowRuntime stays up across the crash and reconnects by itself (its back-off is a
few seconds), so this module is the slowest workflow test; every wait stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf
from _workflow_support import shutdown

from dapr_nb.sandbox import Sandbox

TIMEOUT = 60


def register(runtime: wf.WorkflowRuntime) -> None:
    """Register the crash-test workflows."""

    @runtime.activity(name="wfr_slow_double")
    def slow_double(ctx: Any, x: int) -> int:
        time.sleep(0.05)
        return 2 * x

    @runtime.workflow(name="wfr_timer_chain")
    def timer_chain(ctx: Any, x: int) -> Any:
        a = yield ctx.call_activity("wfr_slow_double", input=x)
        yield ctx.create_timer(timedelta(seconds=2))
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
        time.sleep(0.3)  # timers armed, fan-out activities in flight
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
        deadline = time.monotonic() + TIMEOUT
        while not any(e.event_type == wf.WorkflowHistoryEventType.TIMER_CREATED
                      for e in client.get_workflow_history(instance_id)):  # fmt: skip
            assert time.monotonic() < deadline
            time.sleep(0.05)
        shutdown(runtime)
        sb.kill()
        time.sleep(2.0)  # the timer comes due while nothing runs
        sb.restart()
        runtime = wf.WorkflowRuntime(host=host, port=port)
        register(runtime)
        runtime.start()
        state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
        assert state is not None and state.serialized_output == "40"
    finally:
        client.close()
        shutdown(runtime)
