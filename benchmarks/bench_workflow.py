"""Workflow throughput: a 100-step activity chain and a 1,000-activity fan-out on the sandbox.

The sandbox runs in a child process; the official WorkflowRuntime and DaprWorkflowClient run here.
Each shape is reported as milliseconds per activity step and as a ratio to one raw gRPC round trip
(``Hello`` on a raw TaskHubSidecarService stub) measured on the same sandbox in the same run.
Not a test: run it by hand.

    python benchmarks/bench_workflow.py [--chain 100] [--fanout 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

import dapr.ext.workflow as wf
import grpc
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs
from dapr.ext.workflow._durabletask.worker import _AsyncWorkerManager
from google.protobuf import empty_pb2

from dapr_nb.sandbox import Sandbox


def register(runtime: wf.WorkflowRuntime) -> None:
    """Register the benchmark workflows."""

    @runtime.activity(name="bench_inc")
    def inc(ctx: Any, x: int) -> int:
        return x + 1

    @runtime.workflow(name="bench_chain")
    def chain(ctx: Any, n: int) -> Any:
        x = 0
        for _ in range(n):
            x = yield ctx.call_activity("bench_inc", input=x)
        return x

    @runtime.workflow(name="bench_fanout")
    def fanout(ctx: Any, n: int) -> Any:
        results = yield wf.when_all([ctx.call_activity("bench_inc", input=i) for i in range(n)])
        return sum(results)


def hello_rtt(endpoint: str, calls: int = 2000) -> float:
    """Return seconds per raw Hello round trip."""
    with grpc.insecure_channel(endpoint) as channel:
        stub = stubs.TaskHubSidecarServiceStub(channel)
        for _ in range(100):
            stub.Hello(empty_pb2.Empty())
        start = time.perf_counter()
        for _ in range(calls):
            stub.Hello(empty_pb2.Empty())
        return (time.perf_counter() - start) / calls


def run_once(client: wf.DaprWorkflowClient, name: str, n: int, expected: int) -> float:
    """Return seconds for one workflow run, start to completion."""
    start = time.perf_counter()
    instance_id = client.schedule_new_workflow(name, input=n)
    state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=600)
    elapsed = time.perf_counter() - start
    assert state is not None and state.serialized_output == str(expected), state
    return elapsed


def main() -> None:
    """Run both shapes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chain", type=int, default=100)
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with Sandbox() as sb:
        runtime = wf.WorkflowRuntime(host=sb.host, port=str(sb.grpc_port))
        register(runtime)
        runtime.start()
        client = wf.DaprWorkflowClient(host=sb.host, port=str(sb.grpc_port))
        try:
            run_once(client, "bench_chain", 3, 3)  # warm up
            rtt = hello_rtt(sb.grpc_endpoint)
            shapes = {
                f"chain of {args.chain}": ("bench_chain", args.chain, args.chain),
                f"fan-out of {args.fanout}": ("bench_fanout", args.fanout, sum(range(1, args.fanout + 1))),
            }
            print(f"raw Hello round trip: {rtt * 1e6:.0f} µs")
            print(f"{'shape':<18} {'total s':>8} {'ms/step':>8} {'× Hello':>8}")
            for label, (name, n, expected) in shapes.items():
                best = statistics.median(run_once(client, name, n, expected) for _ in range(args.rounds))
                per_step = best / n
                print(f"{label:<18} {best:>8.2f} {per_step * 1e3:>8.2f} {per_step / rtt:>8.1f}")
        finally:
            client.close()
            runtime.shutdown()
            for obj in gc.get_referrers(_AsyncWorkerManager):  # the SDK leaves its worker loop open
                for value in list(vars(obj).values()) if isinstance(obj, _AsyncWorkerManager) else []:
                    if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running():
                        value.close()


if __name__ == "__main__":
    main()
