"""dapr_nb's clients against the raw generated stub and the official SDK, on one sandbox (a child process).

Measures, in one run: GetState / SaveState per call (raw stub, Client, AsyncClient, official DaprClient
sync and aio); 10,000 keys → DataFrame (dapr_nb, official get_bulk_state + json_normalize, raw stub +
json_normalize); publishing a 10,000-row DataFrame (dapr_nb bulk vs the official publish_event loop).
Prints microseconds/milliseconds and the ratios against the targets. Not a test: run it by hand.

    python benchmarks/bench_client.py [--calls 2000] [--rounds 3] [--rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pandas as pd
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

from dapr_nb.client import AsyncClient, Client
from dapr_nb.frames import publish_frame, to_frame
from dapr_nb.sandbox import Sandbox

STORE, PUBSUB = "statestore", "pubsub"
VALUE = {"status": "shipped", "total": 42.5, "items": [1, 2, 3]}
RAW = json.dumps(VALUE).encode()


def per_call(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    """Return the best-of-rounds microseconds per call."""
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter() - start) / calls * 1e6)
    return min(results)


def per_call_async(
    make: Callable[[], Awaitable[Any]], calls: int, rounds: int, loop: asyncio.AbstractEventLoop
) -> float:
    """Return the best-of-rounds microseconds per awaited call, run on ``loop``."""

    async def batch() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await make()
        return (time.perf_counter() - start) / calls * 1e6

    return min(loop.run_until_complete(batch()) for _ in range(rounds))


def once(fn: Callable[[], Any], rounds: int) -> float:
    """Return the median milliseconds of ``fn()``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def unary(sb: Sandbox, calls: int, rounds: int) -> dict[str, dict[str, float]]:
    """GetState / SaveState per call through every client."""
    from dapr.aio.clients import DaprClient as AioDaprClient
    from dapr.clients import DaprClient

    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(sb.grpc_endpoint))
    save = state_pb2.SaveStateRequest(store_name=STORE, states=[common_pb2.StateItem(key="bench", value=RAW)])
    get = state_pb2.GetStateRequest(store_name=STORE, key="bench")
    client = Client(sb.grpc_endpoint)
    official = DaprClient()
    loop = asyncio.new_event_loop()
    aclient = AsyncClient(sb.grpc_endpoint)
    aofficial = loop.run_until_complete(_make_async(AioDaprClient))
    table: dict[str, dict[str, float]] = {}
    for op in ("SaveState", "GetState"):
        saving = op == "SaveState"
        sync_calls = {
            "raw stub": (lambda: stub.SaveState(save)) if saving else (lambda: stub.GetState(get)),
            "Client": (lambda: client.save_state(STORE, "bench", VALUE)) if saving
            else (lambda: client.get_state(STORE, "bench")),
            "official sync": (lambda: official.save_state(STORE, "bench", RAW)) if saving
            else (lambda: official.get_state(STORE, "bench")),
        }
        async_calls = {
            "AsyncClient": (lambda: aclient.save_state(STORE, "bench", VALUE)) if saving
            else (lambda: aclient.get_state(STORE, "bench")),
            "official aio": (lambda: aofficial.save_state(STORE, "bench", RAW)) if saving
            else (lambda: aofficial.get_state(STORE, "bench")),
        }
        row: dict[str, float] = {}
        for _ in range(rounds):  # interleave the clients round by round: load drifts hit all alike
            for name, fn in sync_calls.items():
                row[name] = min(row.get(name, float("inf")), per_call(fn, calls, 1))
            for name, make in async_calls.items():
                row[name] = min(row.get(name, float("inf")), per_call_async(make, calls, 1, loop))
        table[op] = row
    loop.run_until_complete(aclient.close())
    loop.run_until_complete(aofficial.close())
    loop.close()
    official.close()
    client.close()
    return table


async def _make_async(cls: Any) -> Any:
    return cls()


def to_frames(sb: Sandbox, rows: int, rounds: int) -> dict[str, float]:
    """10k keys → DataFrame three ways."""
    from dapr.clients import DaprClient

    keys = [f"bench-frame-{i}" for i in range(rows)]
    client = Client(sb.grpc_endpoint)
    for start in range(0, rows, 1000):
        client.save_bulk_state(STORE, {k: {**VALUE, "n": i} for i, k in enumerate(keys[start:start + 1000], start)})
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(sb.grpc_endpoint, options=[
        ("grpc.max_receive_message_length", 64 * 1024 * 1024)]))
    official = DaprClient(max_grpc_message_length=64 * 1024 * 1024)

    def raw() -> Any:
        reply = stub.GetBulkState(state_pb2.GetBulkStateRequest(store_name=STORE, keys=keys))
        frame = pd.json_normalize([json.loads(i.data) for i in reply.items])
        frame.insert(0, "etag", [i.etag for i in reply.items])
        frame.insert(0, "key", [i.key for i in reply.items])
        return frame

    def sdk() -> Any:
        reply = official.get_bulk_state(STORE, keys)
        frame = pd.json_normalize([json.loads(i.data) for i in reply.items])
        frame.insert(0, "etag", [i.etag for i in reply.items])
        frame.insert(0, "key", [i.key for i in reply.items])
        return frame

    assert list(to_frame(client.get_bulk_state(STORE, keys)).columns) == list(raw().columns)
    result = {
        "raw stub + json_normalize": once(raw, rounds),
        "dapr_nb get_bulk_state → to_frame": once(lambda: to_frame(client.get_bulk_state(STORE, keys)), rounds),
        "official get_bulk_state + json_normalize": once(sdk, rounds),
    }
    client.close()
    official.close()
    return result


def publishing(sb: Sandbox, rows: int) -> dict[str, float]:
    """Publish a DataFrame: dapr_nb bulk vs the official publish_event loop."""
    from dapr.clients import DaprClient

    frame = pd.DataFrame({"n": range(rows), "label": [f"row {i}" for i in range(rows)], "value": 1.5})
    client = Client(sb.grpc_endpoint)
    official = DaprClient()

    def loop() -> None:
        for row in frame.to_dict("records"):
            official.publish_event(PUBSUB, "bench-official", json.dumps(row), data_content_type="application/json")

    result = {
        "dapr_nb publish_frame (bulk)": once(lambda: publish_frame(client, PUBSUB, "bench-nb", frame), 1),
        "official publish_event loop": once(loop, 1),
    }
    client.close()
    official.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with Sandbox() as sb:
        os.environ.update(sb.env())
        os.environ["DAPR_HEALTH_TIMEOUT"] = "10"
        print(f"sandbox {sb.grpc_endpoint}; {args.calls} calls x {args.rounds} rounds (best round)\n")
        for op, row in unary(sb, args.calls, args.rounds).items():
            raw = row["raw stub"]
            print(f"{op}:")
            for name, micros in row.items():
                print(f"  {name:16s} {micros:8.1f} µs/call  {micros / raw:5.2f}x raw")
            print(f"  Client vs official sync: {row['official sync'] / row['Client']:.2f}x faster "
                  f"(target: Client ≤ 1.05x raw and faster than official)")
        frames = to_frames(sb, args.rows, args.rounds)
        raw_ms = frames["raw stub + json_normalize"]
        print(f"\n{args.rows} keys → DataFrame (median ms):")
        for name, ms in frames.items():
            print(f"  {name:42s} {ms:8.1f} ms  {ms / raw_ms:5.2f}x raw  (target dapr_nb ≤ 1.2x)")
        pub = publishing(sb, args.rows)
        print(f"\npublish a {args.rows}-row DataFrame:")
        for name, ms in pub.items():
            print(f"  {name:32s} {ms:9.1f} ms")
        ratio = pub["official publish_event loop"] / pub["dapr_nb publish_frame (bulk)"]
        print(f"  dapr_nb is {ratio:.1f}x faster (target ≥ 5x)")


if __name__ == "__main__":
    main()
