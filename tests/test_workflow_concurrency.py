"""Concurrency: two workers on one sandbox, hundreds of live instances, a hundred blocked waits at once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf
from _workflow_support import shutdown

from dapr_nb.sandbox import Sandbox

TIMEOUT = 60


def make_runtime(sb: Sandbox, label: str, seen: Counter[str], lock: threading.Lock) -> wf.WorkflowRuntime:
    """Return a started runtime whose activity records which worker ran it."""
    runtime = wf.WorkflowRuntime(host=sb.host, port=str(sb.grpc_port))

    @runtime.activity(name="wfc_add")
    def add(ctx: Any, pair: list[int]) -> int:
        with lock:
            seen[label] += 1
        return pair[0] + pair[1]

    @runtime.workflow(name="wfc_steps")
    def steps(ctx: Any, n: int) -> Any:
        total = yield ctx.call_activity("wfc_add", input=[n, 1])
        yield ctx.create_timer(timedelta(milliseconds=50))
        total = yield ctx.call_activity("wfc_add", input=[total, 1])
        return total

    runtime.start()
    return runtime


def test_two_workers_hundreds_of_instances_and_waits(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    runtimes = [make_runtime(sb, label, seen, lock) for label in ("a", "b")]
    client = wf.DaprWorkflowClient(host=sb.host, port=str(sb.grpc_port))
    try:
        ids = {client.schedule_new_workflow("wfc_steps", input=n): n + 2 for n in range(200)}

        def wait(instance_id: str) -> str | None:
            state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
            return state.serialized_output if state is not None else None

        with ThreadPoolExecutor(100) as pool:
            outputs = dict(zip(ids, pool.map(wait, ids), strict=True))
        assert outputs == {instance_id: str(expected) for instance_id, expected in ids.items()}
        assert seen["a"] + seen["b"] >= 400 and seen["a"] > 0 and seen["b"] > 0
    finally:
        client.close()
        for runtime in runtimes:
            shutdown(runtime)
