"""Soak: does the sandbox give memory and threads back after sustained work?

The sandbox runs in a child process. Three phases run one after another — state writes (raw gRPC
``SaveState``, a few client threads), workflow completions (the official ``WorkflowRuntime`` and
``DaprWorkflowClient``, a one-activity workflow, a bounded number in flight) and subscription cycles
(official ``DaprClient.subscribe``: publish, receive, ack, close) — and the sandbox's RSS and thread
count (``/proc/<pid>/status``) are printed before, after each phase and after an idle pause. Flat
means: after the idle pause, memory is close to where the warm-up left it and threads are back.
Each phase stops at ``--budget`` seconds even if its count is not reached (the table says how many
ran). Not a test: run it by hand (Linux only).

    python benchmarks/bench_soak.py [--writes 100000] [--workflows 10000] [--subscriptions 1000]
                                    [--budget 600] [--idle 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dapr.ext.workflow as wf
import grpc
from dapr.clients import DaprClient
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

from dapr_nb.sandbox import Sandbox


def probe(pid: int) -> tuple[float, int]:
    """Return (RSS in MiB, thread count) of a process."""
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["Threads"][0])


def bounded(count: int, budget: float, step: Callable[[int], None], workers: int) -> tuple[int, float]:
    """Run ``step(i)`` for i < count on ``workers`` threads until done or ``budget`` seconds; return (done, s)."""
    start = time.perf_counter()
    deadline = start + budget
    done = 0
    lock = threading.Lock()
    taken = iter(range(count))

    def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            with lock:
                i = next(taken, None)
            if i is None:
                return
            step(i)
            with lock:
                done += 1

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    return done, time.perf_counter() - start


def state_writes(sb: Sandbox, count: int, budget: float) -> tuple[int, float]:
    """Write ``count`` keys (256-byte values, 1,000 distinct keys rewritten) with raw SaveState calls."""
    value = b"x" * 256
    with grpc.insecure_channel(sb.grpc_endpoint) as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)

        def write(i: int) -> None:
            item = common_pb2.StateItem(key=f"soak-{i % 1000}", value=value)
            stub.SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=[item]), timeout=60)

        return bounded(count, budget, write, 4)


def workflows(sb: Sandbox, count: int, budget: float) -> tuple[int, float]:
    """Run ``count`` one-activity workflows to completion, 16 in flight."""
    runtime = wf.WorkflowRuntime(host=sb.host, port=str(sb.grpc_port))

    @runtime.activity(name="soak_inc")
    def inc(ctx: Any, x: int) -> int:
        return x + 1

    @runtime.workflow(name="soak_one")
    def one(ctx: Any, x: int) -> Any:
        return (yield ctx.call_activity("soak_inc", input=x))

    runtime.start()
    try:
        client = wf.DaprWorkflowClient(host=sb.host, port=str(sb.grpc_port))

        def run(i: int) -> None:
            instance_id = client.schedule_new_workflow("soak_one", input=i)
            state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=120)
            assert state is not None and state.serialized_output == str(i + 1), state

        return bounded(count, budget, run, 16)
    finally:
        runtime.shutdown()


def subscriptions(sb: Sandbox, count: int, budget: float) -> tuple[int, float]:
    """Open a subscription, publish one message, receive and ack it, close: ``count`` times."""
    for key, value in sb.env().items():
        os.environ[key] = value
    os.environ.setdefault("DAPR_HEALTH_TIMEOUT", "5")
    with DaprClient() as client:

        def cycle(i: int) -> None:
            subscription = client.subscribe("pubsub", "soak")
            try:
                client.publish_event("pubsub", "soak", f"m{i}")
                message = subscription.next_message()
                assert message is not None and message.data() == f"m{i}", message
                subscription.respond_success(message)
            finally:
                subscription.close()

        return bounded(count, budget, cycle, 1)


def main() -> None:
    """Run the phases and print RSS and threads around them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=100_000)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=1_000)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per phase at most")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds to wait before the idle reading")
    args = parser.parse_args()
    with Sandbox() as sb:
        rows: list[tuple[str, int, float, float, int]] = []

        def row(label: str, done: int = 0, seconds: float = 0.0) -> None:
            rss, threads = probe(sb.pid)
            rows.append((label, done, seconds, rss, threads))
            print(f"{label:<24}{done:>9}{seconds:>9.1f}{rss:>10.1f}{threads:>9}", flush=True)

        print(f"{'phase':<24}{'done':>9}{'seconds':>9}{'RSS MiB':>10}{'threads':>9}")
        row("start")
        state_writes(sb, 1000, args.budget)
        workflows(sb, 50, args.budget)
        subscriptions(sb, 20, args.budget)
        time.sleep(args.idle)
        row("before (warmed up)")
        row("after state writes", *state_writes(sb, args.writes, args.budget))
        row("after workflows", *workflows(sb, args.workflows, args.budget))
        row("after subscriptions", *subscriptions(sb, args.subscriptions, args.budget))
        gc.collect()
        time.sleep(args.idle)
        row(f"idle ({args.idle:g} s)")
        base, idle = rows[1], rows[-1]
        print(f"growth after idle: {idle[3] - base[3]:+.1f} MiB RSS, {idle[4] - base[4]:+d} threads")


if __name__ == "__main__":
    main()
