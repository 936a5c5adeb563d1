"""GetState / SaveState round trips: the sandbox next to a bare grpcio servicer returning constants.

Both servers run in child processes (so the client never competes with them for the GIL) and are
measured in one run with the same raw generated stub; the official SDK against the sandbox is a third
column. Prints microseconds per call and the ratios. Not a test: run it by hand.

    python benchmarks/bench_state.py [--calls 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2
from google.protobuf import empty_pb2

from dapr_nb.sandbox import Sandbox

VALUE = b'{"status": "shipped", "total": 42.5, "items": [1, 2, 3]}'


class ConstantServicer(dapr_pb2_grpc.DaprServicer):  # type: ignore[misc]
    """The floor: a grpcio servicer that does no work."""

    def GetState(self, request: Any, context: Any) -> Any:  # noqa: N802
        """Return a constant value."""
        return state_pb2.GetStateResponse(data=VALUE, etag="1")

    def SaveState(self, request: Any, context: Any) -> Any:  # noqa: N802
        """Accept and drop."""
        return empty_pb2.Empty()


def serve_bare() -> None:
    """Run the constant servicer on a free port; print the port; serve until stdin closes."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    dapr_pb2_grpc.add_DaprServicer_to_server(ConstantServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(0)


def time_calls(call: Callable[[], Any], calls: int) -> float:
    """Return microseconds per call over ``calls`` sequential calls."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def raw_ops(endpoint: str, store: str) -> dict[str, Callable[[], Any]]:
    """Build GetState/SaveState calls on a raw generated stub."""
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(endpoint))
    save = state_pb2.SaveStateRequest(store_name=store, states=[common_pb2.StateItem(key="bench", value=VALUE)])
    get = state_pb2.GetStateRequest(store_name=store, key="bench")
    return {"SaveState": lambda: stub.SaveState(save), "GetState": lambda: stub.GetState(get)}


def sdk_ops(sb: Sandbox) -> dict[str, Callable[[], Any]]:
    """Build the same calls through the official SDK's DaprClient."""
    import os

    os.environ.update(sb.env())
    from dapr.clients import DaprClient

    client = DaprClient()
    return {
        "SaveState": lambda: client.save_state("statestore", "bench", VALUE),
        "GetState": lambda: client.get_state("statestore", "bench"),
    }


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare()
        return
    bare = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert bare.stdout is not None
    bare_port = int(bare.stdout.readline())
    with Sandbox() as sb:
        columns = {
            "bare grpcio (raw stub)": raw_ops(f"127.0.0.1:{bare_port}", "statestore"),
            "sandbox (raw stub)": raw_ops(sb.grpc_endpoint, "statestore"),
            "sandbox (official SDK)": sdk_ops(sb),
        }
        results: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):  # interleave rounds so machine noise hits every column alike
            for column, ops in columns.items():
                for op, call in ops.items():
                    time_calls(call, max(50, args.calls // 20))  # warm-up
                    results.setdefault((column, op), []).append(time_calls(call, args.calls))
    bare.communicate("")
    print(f"{args.calls} sequential calls x {args.rounds} rounds, median µs per call (lower is better)\n")
    header = f"{'op':<10}" + "".join(f"{c:>26}" for c in columns) + f"{'sandbox/bare':>14}{'sdk/sandbox':>13}"
    print(header)
    for op in ("SaveState", "GetState"):
        med = {c: statistics.median(results[(c, op)]) for c in columns}
        names = list(columns)
        row = f"{op:<10}" + "".join(f"{med[c]:>26.1f}" for c in names)
        row += f"{med[names[1]] / med[names[0]]:>13.2f}x{med[names[2]] / med[names[1]]:>12.2f}x"
        print(row)


if __name__ == "__main__":
    main()
