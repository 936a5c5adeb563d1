"""dapr_nb's clients against the raw generated stub and the official SDK, on one sandbox (a child process).

Measures, in one run: GetState / SaveState per call (raw stub, Client, AsyncClient, official DaprClient
sync and aio), as wall time and as this (client) process's CPU time — ``time.process_time()`` around each
batch, so the sandbox's work is excluded; CPU time is far steadier than wall time on a loaded machine and is
the fair measure of a client's overhead; 10,000 keys → DataFrame (dapr_nb, official get_bulk_state +
json_normalize, raw stub + json_normalize); publishing a 10,000-row DataFrame (dapr_nb bulk vs the official
publish_event loop).
Prints microseconds/milliseconds and the ratios against the targets. Not a test: run it by hand.

Fairness: the raw stub uses the same channel options as Client; every column gets the same warm-up; the
columns run in short batches interleaved round by round (order rotated each round) and the median round is
reported, so load drifts and the sandbox's per-SaveState fsync hit all columns alike; GC is paused inside
every per-call batch (for all columns) and left on for the DataFrame runs, where allocation is part of the
cost. Every SaveState column sends the same request (compact JSON bytes with contentType metadata, which
the store handles differently from plain bytes); the official client gets the bytes pre-encoded while
Client/AsyncClient encode the dict themselves. The raw stub builds its request each call, as any caller
must (from pre-encoded bytes, no json.dumps): reusing one prebuilt SaveStateRequest measured ~40 µs less
client CPU per call than building the same request afresh, a saving no real caller gets. No GetState column
decodes the value (the raw stub and the official client hand back bytes; ``StateItem.value`` decodes on first
access), so all do the same work.

    python benchmarks/bench_client.py [--calls 200] [--rounds 15] [--warmup 200] [--frame-rounds 7] [--rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pandas as pd
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

from dapr_nb.client import AsyncClient, Client
from dapr_nb.core.values import to_json
from dapr_nb.frames import publish_frame, to_frame
from dapr_nb.sandbox import Sandbox
from dapr_nb.transport.channels import channel_options

STORE, PUBSUB = "statestore", "pubsub"
VALUE = {"status": "shipped", "total": 42.5, "items": [1, 2, 3]}
RAW = to_json(VALUE)  # the exact bytes Client sends for VALUE
JSON_META = {"contentType": "application/json"}  # ... and the metadata it sends with them
S = TypeVar("S")


Sample = tuple[float, float]  # (wall µs, client-process CPU µs) per call over one batch


def _batch(fn: Callable[[], Any], calls: int) -> Sample:
    """Return (wall, CPU) microseconds per call over one batch of ``calls`` sequential calls, GC paused.

    CPU is ``time.process_time()``: every thread of this (client) process — the Python caller and grpc's
    C-core threads — but not the sandbox, which runs in a child process. It is far less noisy than wall
    time on a loaded machine, and is the fair measure of what a client library costs its caller.
    """
    gc.collect()
    gc.disable()
    try:
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(calls):
            fn()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return wall / calls * 1e6, cpu / calls * 1e6
    finally:
        gc.enable()


def _batch_async(make: Callable[[], Awaitable[Any]], calls: int, loop: asyncio.AbstractEventLoop) -> Sample:
    """Return (wall, CPU) microseconds per awaited call over one batch run on ``loop``, GC paused."""

    async def batch() -> Sample:
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(calls):
            await make()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return wall / calls * 1e6, cpu / calls * 1e6

    gc.collect()
    gc.disable()
    try:
        return loop.run_until_complete(batch())
    finally:
        gc.enable()


def interleaved(samplers: dict[str, Callable[[], S]], rounds: int) -> dict[str, list[S]]:
    """Run every sampler once per round, rotating the order each round; return each sampler's samples.

    Interleaving short batches spreads load drifts (other processes, the sandbox's fsyncs, CPU frequency)
    over all columns alike; rotating the order keeps any column from always running first or last.
    """
    names = list(samplers)
    samples: dict[str, list[S]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(samplers[name]())
    return samples


def once(fn: Callable[[], Any]) -> float:
    """Return the milliseconds of one ``fn()`` (GC left on: allocation is part of the cost measured)."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _read(reply: Any) -> tuple[bytes, str]:
    """Read what any caller of GetState reads (the value and its etag): fresh upb fields cost on first access."""
    return reply.data, reply.etag


async def _read_async(call: Awaitable[Any]) -> tuple[bytes, str]:
    return _read(await call)


def unary(sb: Sandbox, calls: int, rounds: int, warmup: int) -> dict[str, dict[str, list[Sample]]]:
    """GetState / SaveState per call through every client: interleaved batches, per-round (wall, CPU) samples."""
    from dapr.aio.clients import DaprClient as AioDaprClient
    from dapr.clients import DaprClient

    client = Client(sb.grpc_endpoint)
    # The raw stub runs on Client's own channel: two channels to one server differ by ±5 % in client CPU here,
    # so sharing the connection leaves exactly dapr_nb's Python layer between the two columns.
    stub = dapr_pb2_grpc.DaprStub(client._driver.channel)

    def save() -> state_pb2.SaveStateRequest:  # the same wire request as Client's, from pre-encoded bytes
        item = common_pb2.StateItem(key="bench", value=RAW, metadata=JSON_META)
        return state_pb2.SaveStateRequest(store_name=STORE, states=[item])

    def get() -> state_pb2.GetStateRequest:
        return state_pb2.GetStateRequest(store_name=STORE, key="bench")

    official = DaprClient()
    loop = asyncio.new_event_loop()
    aclient = AsyncClient(sb.grpc_endpoint)
    aofficial = loop.run_until_complete(_make_async(AioDaprClient))
    achannel = loop.run_until_complete(_make_async(lambda: aclient._driver.channel))  # made inside the loop
    astub = dapr_pb2_grpc.DaprStub(achannel)  # the raw aio stub shares AsyncClient's channel, as above
    table: dict[str, dict[str, list[Sample]]] = {}
    for op in ("SaveState", "GetState"):
        saving = op == "SaveState"
        sync_calls: dict[str, Callable[[], Any]] = {
            "raw stub": (lambda: stub.SaveState(save())) if saving else (lambda: _read(stub.GetState(get()))),
            "Client": (lambda: client.save_state(STORE, "bench", VALUE))
            if saving
            else (lambda: client.get_state(STORE, "bench")),
            "official sync": (lambda: official.save_state(STORE, "bench", RAW, state_metadata=JSON_META))
            if saving
            else (lambda: official.get_state(STORE, "bench")),
        }
        async_calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "raw aio stub": (lambda: astub.SaveState(save()))
            if saving
            else (lambda: _read_async(astub.GetState(get()))),
            "AsyncClient": (lambda: aclient.save_state(STORE, "bench", VALUE))
            if saving
            else (lambda: aclient.get_state(STORE, "bench")),
            "official aio": (lambda: aofficial.save_state(STORE, "bench", RAW, state_metadata=JSON_META))
            if saving
            else (lambda: aofficial.get_state(STORE, "bench")),
        }
        samplers: dict[str, Callable[[], Sample]] = {}
        for name, fn in sync_calls.items():
            _batch(fn, warmup)
            samplers[name] = functools.partial(_batch, fn, calls)
        for name, make in async_calls.items():
            _batch_async(make, warmup, loop)
            samplers[name] = functools.partial(_batch_async, make, calls, loop)
        table[op] = interleaved(samplers, rounds)
    loop.run_until_complete(aclient.close())
    loop.run_until_complete(aofficial.close())
    loop.run_until_complete(achannel.close())
    loop.close()
    official.close()
    client.close()
    return table


def own_cost(calls: int, rounds: int) -> dict[str, list[Sample]]:
    """Per-call Python cost with the network taken out: the RPC answers at once with a constant reply.

    Client's column is everything dapr_nb adds (operation generator, request, driver, result); ``.value``
    decodes lazily, so reading it adds the JSON parsing; the raw columns are what a raw-stub caller does
    anyway (build the request, json.dumps / json.loads).
    """
    from google.protobuf import empty_pb2

    reply = state_pb2.GetStateResponse(data=RAW, etag="1", metadata=JSON_META)
    empty = empty_pb2.Empty()
    client = Client("127.0.0.1:9")  # never dialled: the driver's method cache is pre-filled below
    client._driver._methods[("dapr", "GetState")] = lambda request, timeout=None, metadata=None: reply
    client._driver._methods[("dapr", "SaveState")] = lambda request, timeout=None, metadata=None: empty

    def raw_get() -> Any:
        json.loads(reply.data)
        return state_pb2.GetStateRequest(store_name=STORE, key="bench")

    def raw_save() -> Any:
        item = common_pb2.StateItem(key="bench", value=json.dumps(VALUE).encode(), metadata=JSON_META)
        return state_pb2.SaveStateRequest(store_name=STORE, states=[item])

    samplers: dict[str, Callable[[], Sample]] = {
        "Client.get_state": functools.partial(_batch, lambda: client.get_state(STORE, "bench"), calls),
        "Client.get_state(...).value": functools.partial(_batch, lambda: client.get_state(STORE, "bench").value, calls),
        "raw GetState request + json.loads": functools.partial(_batch, raw_get, calls),
        "Client.save_state": functools.partial(_batch, lambda: client.save_state(STORE, "bench", VALUE), calls),
        "raw SaveState request + json.dumps": functools.partial(_batch, raw_save, calls),
    }
    return interleaved(samplers, rounds)


async def _make_async(cls: Any) -> Any:
    return cls()


def to_frames(sb: Sandbox, rows: int, rounds: int) -> dict[str, list[float]]:
    """10k keys → DataFrame three ways, interleaved round by round; per-round milliseconds."""
    from dapr.clients import DaprClient

    keys = [f"bench-frame-{i}" for i in range(rows)]
    client = Client(sb.grpc_endpoint)
    for start in range(0, rows, 1000):
        client.save_bulk_state(STORE, {k: {**VALUE, "n": i} for i, k in enumerate(keys[start : start + 1000], start)})
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(sb.grpc_endpoint, options=channel_options(client.settings)))
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

    def ours() -> Any:
        return to_frame(client.get_bulk_state(STORE, keys))

    pd.testing.assert_frame_equal(ours(), raw())  # same frame, so the columns measure the same work
    result = interleaved(
        {
            "raw stub + json_normalize": functools.partial(once, raw),
            "dapr_nb get_bulk_state → to_frame": functools.partial(once, ours),
            "official get_bulk_state + json_normalize": functools.partial(once, sdk),
        },
        rounds,
    )
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
        "dapr_nb publish_frame (bulk)": once(lambda: publish_frame(client, PUBSUB, "bench-nb", frame)),
        "official publish_event loop": once(loop),
    }
    client.close()
    official.close()
    return result


def _stats(samples: list[float]) -> tuple[float, float, float]:
    """Return (median, min, max) of a column's per-round samples."""
    return statistics.median(samples), min(samples), max(samples)


BASELINE = {
    "Client": "raw stub",
    "official sync": "raw stub",
    "AsyncClient": "raw aio stub",
    "official aio": "raw aio stub",
}


def _report_unary(op: str, row: dict[str, list[float]]) -> None:
    """Print one operation's columns: median µs/call [min–max], ratio to the matching raw stub, paired ratio."""
    print(f"{op}:  (x raw = median / the matching raw stub's (sync or aio); paired = median of per-round ratios)")
    for name, samples in row.items():
        base = row[BASELINE.get(name, name)]
        med, lo, hi = _stats(samples)
        paired = statistics.median(s / r for s, r in zip(samples, base, strict=True))
        print(
            f"  {name:16s} {med:8.1f} µs/call [{lo:7.1f}–{hi:7.1f}]  {med / statistics.median(base):5.2f}x raw  "
            f"paired {paired:5.2f}x"
        )
    mid = {name: statistics.median(samples) for name, samples in row.items()}
    print(
        f"  Client {mid['Client'] / mid['raw stub']:.3f}x raw stub, {mid['official sync'] / mid['Client']:.2f}x faster "
        f"than official sync; AsyncClient {mid['AsyncClient'] / mid['raw aio stub']:.3f}x raw aio stub, "
        f"{mid['official aio'] / mid['AsyncClient']:.2f}x faster than official aio\n"
        f"  (target: Client ≤ 1.05x raw and faster than official, sync and aio)\n"
    )


def _memory_components(folder: Path) -> Path:
    """Write statestore (state.in-memory) and pubsub components, so client overhead is not hidden by disk syncs."""
    for name, ctype in (("statestore", "state.in-memory"), ("pubsub", "pubsub.in-memory")):
        (folder / f"{name}.yaml").write_text(
            f"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: {ctype}\n"
            "  version: v1\n  metadata: []\n"
        )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per timed batch")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (one batch per column each)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per column before the rounds")
    parser.add_argument("--frame-rounds", type=int, default=7)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--durable", action="store_true",
        help="use the default state.sqlite store (each SaveState waits for an fsync, which then dominates)",
    )  # fmt: skip
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as resources,
        Sandbox(resources_path=None if args.durable else _memory_components(Path(resources))) as sb,
    ):
        os.environ.update(sb.env())
        os.environ["DAPR_HEALTH_TIMEOUT"] = "10"
        print(
            f"sandbox {sb.grpc_endpoint}; {args.rounds} interleaved rounds x {args.calls} calls per column "
            f"(after {args.warmup} warm-up calls); median of rounds [min–max], GC paused inside timed batches\n"
        )
        per_call = unary(sb, args.calls, args.rounds, args.warmup)
        for which, title in (
            (0, "WALL time per call (noisy here: ±10 % run to run)"),
            (1, "CLIENT-PROCESS CPU time per call (time.process_time; the sandbox's work excluded)"),
        ):
            print(f"== {title}")
            for op, row in per_call.items():
                _report_unary(op, {name: [s[which] for s in samples] for name, samples in row.items()})
        print("per-call Python cost, network taken out (median µs [min–max], wall | CPU):")
        for name, pairs in own_cost(args.calls * 10, args.rounds).items():
            (med, lo, hi), (cmed, clo, chi) = _stats([p[0] for p in pairs]), _stats([p[1] for p in pairs])
            print(f"  {name:36s} {med:6.1f} µs [{lo:5.1f}–{hi:5.1f}] | {cmed:6.1f} µs [{clo:5.1f}–{chi:5.1f}]")
        frames = to_frames(sb, args.rows, args.frame_rounds)
        raw_ms = statistics.median(frames["raw stub + json_normalize"])
        print(f"\n{args.rows} keys → DataFrame ({args.frame_rounds} interleaved rounds, median ms [min–max]):")
        for name, samples in frames.items():
            med, lo, hi = _stats(samples)
            print(f"  {name:42s} {med:8.1f} ms [{lo:6.1f}–{hi:6.1f}]  {med / raw_ms:5.2f}x raw  (target ≤ 1.2x)")
        pub = publishing(sb, args.rows)
        print(f"\npublish a {args.rows}-row DataFrame (one run each):")
        for name, ms in pub.items():
            print(f"  {name:32s} {ms:9.1f} ms")
        ratio = pub["official publish_event loop"] / pub["dapr_nb publish_frame (bulk)"]
        print(f"  dapr_nb is {ratio:.1f}x faster (target ≥ 5x)")


if __name__ == "__main__":
    main()
