"""Service invocation round trip through the sandbox's app channel, beside a direct HTTP call to the same app.

One stdlib HTTP app (answers ``POST /echo`` with its body) in this process; columns, each a keep-alive
HTTP/1.1 connection (or one gRPC channel) from this process: ``direct`` (the app itself), ``sandbox http``
(``/v1.0/invoke/bench/method/echo``), ``sandbox grpc`` (``InvokeService``), ``sandbox → sandbox`` (a second
sandbox invoking ``bench`` by app id), and the same columns through real daprd when it is built. Columns run
in short batches interleaved round by round; the median round's microseconds per call and the ratio to
``direct`` are printed. Not a test: run it by hand.

    python benchmarks/bench_invoke.py [--calls 200] [--rounds 9] [--no-daprd]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, invoke_pb2
from google.protobuf import any_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dapr_nb.daprd import Daprd, binaries  # noqa: E402
from dapr_nb.sandbox import Sandbox  # noqa: E402
from tests.apps import serve_echo  # noqa: E402

BODY = b'{"order": 42}'


def http_caller(port: int, path: str) -> Callable[[], None]:
    """Return one keep-alive POST of BODY to ``path``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def once() -> None:
        conn.request("POST", path, BODY, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status

    return once


def grpc_caller(port: int, app_id: str) -> Callable[[], None]:
    """Return one InvokeService of BODY."""
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    message = common_pb2.InvokeRequest(method="echo", data=any_pb2.Any(value=BODY), content_type="application/json")
    message.http_extension.verb = common_pb2.HTTPExtension.POST
    request = invoke_pb2.InvokeServiceRequest(id=app_id, message=message)
    return lambda: stub.InvokeService(request, timeout=30) and None


def measure(columns: dict[str, Callable[[], None]], calls: int, rounds: int) -> dict[str, float]:
    """Return the median microseconds per call of each column over interleaved rounds."""
    for once in columns.values():
        for _ in range(20):
            once()
    samples: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(rounds):
        for name, once in columns.items():
            began = time.perf_counter()
            for _ in range(calls):
                once()
            samples[name].append((time.perf_counter() - began) / calls * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    """Start the app and sidecars, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-daprd", action="store_true")
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        port = stack.enter_context(serve_echo())
        columns = {"direct": http_caller(port, "/echo")}
        bench = stack.enter_context(Sandbox(app_id="bench", app_port=port, data_dir=Path(tmp) / "a"))
        caller = stack.enter_context(Sandbox(app_id="caller", data_dir=Path(tmp) / "b"))
        columns["sandbox http"] = http_caller(bench.http_port, "/v1.0/invoke/bench/method/echo")
        columns["sandbox grpc"] = grpc_caller(bench.grpc_port, "bench")
        columns["sandbox → sandbox"] = http_caller(caller.http_port, "/v1.0/invoke/bench/method/echo")
        if not args.no_daprd and binaries().present():
            daprd = stack.enter_context(Daprd(app_id="dbench", app_port=port, redis=False))
            other = stack.enter_context(Daprd(app_id="dcaller", redis=False))
            columns["daprd http"] = http_caller(daprd.http_port, "/v1.0/invoke/dbench/method/echo")
            columns["daprd grpc"] = grpc_caller(daprd.grpc_port, "dbench")
            columns["daprd → daprd"] = http_caller(other.http_port, "/v1.0/invoke/dbench/method/echo")
        medians = measure(columns, args.calls, args.rounds)
    direct = medians["direct"]
    print(f"{'column':<20}{'µs/call':>10}{'× direct':>10}")
    for name, value in medians.items():
        print(f"{name:<20}{value:>10.0f}{value / direct:>10.1f}")


if __name__ == "__main__":
    main()
