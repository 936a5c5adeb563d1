"""The sandbox's gRPC server under many long-lived calls: streams and blocking waits hold no thread.

One raw grpc.aio channel opens 1,000 streams (subscriptions, configuration watches, workflow work-item
streams) plus 600 blocking WaitForInstanceCompletion calls; the sandbox's cap is set to exactly that
many, so an extra stream answering RESOURCE_EXHAUSTED proves every call is held server-side. Unary
calls (GetState, StartInstance, a publish delivered to an open subscription) still answer, and the
sandbox runs on a few dozen threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from dapr.proto.runtime.v1 import configuration_pb2, dapr_pb2_grpc, pubsub_pb2, state_pb2

from dapr_nb.core._durabletask import protos, stub_class
from dapr_nb.sandbox import Sandbox

SUBSCRIPTIONS, WATCHES, WORKERS, WAITS = 400, 400, 200, 600
LONG_LIVED = SUBSCRIPTIONS + WATCHES + WORKERS + WAITS
HANG_GUARD = 120.0
"""Deadline of each unary call: a guard against hanging the suite, not a timing assertion."""
WATCH = configuration_pb2.SubscribeConfigurationRequest(store_name="configstore")


def threads_of(pid: int) -> int:
    """Return the number of threads of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def initial(topic: str) -> pubsub_pb2.SubscribeTopicEventsRequestAlpha1:
    """Return the initial request of a streaming subscription to ``topic`` on the default pubsub."""
    request = pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(pubsub_name="pubsub", topic=topic)
    return pubsub_pb2.SubscribeTopicEventsRequestAlpha1(initial_request=request)


async def refused(dapr: Any) -> bool:
    """Open one more configuration watch: True when the sandbox answers RESOURCE_EXHAUSTED (else cancel it)."""
    probe = dapr.SubscribeConfiguration(WATCH)
    try:
        await probe.read()
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc
        assert "--max-concurrent-streams" in (exc.details() or "")
        return True
    probe.cancel()
    return False


async def until(check: Callable[[], Any], what: str, attempts: int = 600) -> None:
    """Await ``check()`` until it is truthy (bounded by attempts, not by a clock)."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(what)


async def open_long_lived(dapr: Any, hub: Any, unique: Callable[[str], str]) -> list[Any]:
    """Open every stream and wait of the module docstring; return the calls."""
    calls: list[Any] = []
    topics = [unique(f"t{i}") for i in range(SUBSCRIPTIONS)]
    for topic in topics:
        call = dapr.SubscribeTopicEventsAlpha1()
        await call.write(initial(topic))
        calls.append(call)
    for call in calls:
        assert (await call.read()).HasField("initial_response")
    for _ in range(WATCHES):
        watch = dapr.SubscribeConfiguration(WATCH)
        assert (await watch.read()).id
        calls.append(watch)
    calls += [hub.GetWorkItems(protos().GetWorkItemsRequest()) for _ in range(WORKERS)]
    instances = [unique(f"never-{i}") for i in range(6)]
    for instance in instances:  # the "workers" above take the turns and never answer: these never finish
        await hub.StartInstance(protos().CreateInstanceRequest(name="wf", instanceId=instance), timeout=HANG_GUARD)
    requests = [protos().GetInstanceRequest(instanceId=instances[i % len(instances)]) for i in range(WAITS)]
    waits = [hub.WaitForInstanceCompletion(request) for request in requests]
    await until(lambda: saturated(dapr, hub, requests, waits), f"the sandbox never held all {LONG_LIVED} calls")
    return calls + waits


async def saturated(dapr: Any, hub: Any, requests: list[Any], waits: list[Any]) -> bool:
    """Return True when every wait is pending and one more stream is refused; re-issue refused waits.

    A probe that arrives before the last waits takes a slot they needed: those waits are refused and
    sent again, so the check converges however the server orders concurrent calls.
    """
    pending = True
    for i, wait in enumerate(waits):
        if wait.done():
            assert await wait.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            waits[i], pending = hub.WaitForInstanceCompletion(requests[i]), False
    return pending and await refused(dapr)


async def unary_calls_still_answer(dapr: Any, hub: Any, unique: Callable[[str], str], first: Any) -> None:
    """GetState, SaveState, StartInstance and a publish reaching an open subscription all answer."""
    key = unique("k")
    item = state_pb2.SaveStateRequest(store_name="statestore", states=[{"key": key, "value": b"v"}])
    await dapr.SaveState(item, timeout=HANG_GUARD)
    got = await dapr.GetState(state_pb2.GetStateRequest(store_name="statestore", key=key), timeout=HANG_GUARD)
    assert got.data == b"v"
    started = protos().CreateInstanceRequest(name="wf", instanceId=unique("late"))
    assert (await hub.StartInstance(started, timeout=HANG_GUARD)).instanceId == started.instanceId
    topic = unique("t0")
    publish = pubsub_pb2.PublishEventRequest(pubsub_name="pubsub", topic=topic, data=b'"hi"',
                                             data_content_type="application/json")  # fmt: skip
    await dapr.PublishEvent(publish, timeout=HANG_GUARD)
    event = await first.read()
    assert event.event_message.topic == topic and event.event_message.data == b'"hi"'


def test_a_thousand_streams_and_600_waits_leave_unary_calls_answering(
    make_sandbox: Callable[..., Sandbox], unique: Callable[[str], str]
) -> None:
    sb = make_sandbox(max_concurrent_streams=LONG_LIVED)

    async def scenario() -> None:
        async with grpc.aio.insecure_channel(sb.grpc_endpoint) as channel:
            dapr, hub = dapr_pb2_grpc.DaprStub(channel), stub_class()(channel)
            calls = await open_long_lived(dapr, hub, unique)
            print(f"{LONG_LIVED} long-lived calls held; sandbox threads: {threads_of(sb.pid)}")
            assert threads_of(sb.pid) < 64, "streams and waits must not hold a thread each"
            await unary_calls_still_answer(dapr, hub, unique, calls[0])
            for call in calls:
                call.cancel()
            await until(lambda: _not(refused(dapr)), "cancelled calls must give their slots back")

    asyncio.run(scenario())


async def _not(check: Any) -> bool:
    return not await check


def test_over_the_cap_answers_resource_exhausted_at_once(
    make_sandbox: Callable[..., Sandbox], unique: Callable[[str], str]
) -> None:
    sb = make_sandbox(max_concurrent_streams=2)

    async def scenario() -> None:
        async with grpc.aio.insecure_channel(sb.grpc_endpoint) as channel:
            dapr, hub = dapr_pb2_grpc.DaprStub(channel), stub_class()(channel)
            subscription = dapr.SubscribeTopicEventsAlpha1()
            await subscription.write(initial(unique("t")))
            assert (await subscription.read()).HasField("initial_response")
            watch = dapr.SubscribeConfiguration(WATCH)
            assert (await watch.read()).id
            assert await refused(dapr), "a third stream must be refused"
            instance = unique("wf")
            await hub.StartInstance(protos().CreateInstanceRequest(name="wf", instanceId=instance), timeout=HANG_GUARD)
            with pytest.raises(grpc.aio.AioRpcError) as refusal:
                await hub.WaitForInstanceCompletion(protos().GetInstanceRequest(instanceId=instance), timeout=60)
            assert refusal.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            got = await dapr.GetState(state_pb2.GetStateRequest(store_name="statestore", key="k"), timeout=HANG_GUARD)
            assert got.data == b""
            watch.cancel()
            await until(lambda: _not(refused(dapr)), "a cancelled stream must give its slot back")
            subscription.cancel()

    asyncio.run(scenario())
