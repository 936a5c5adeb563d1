"""Stream parity: the blocking and the asyncio drivers run the same script against one sandbox child process —
open, receive, ack, then the sidecar is killed mid-stream — and must report the same outcomes.

Both drivers' streams are open on the same sandbox at once, so one SIGKILL hits both and the error
messages (which name the endpoint) can be compared exactly. The tests that kill no sidecar run on
both sidecars (``sidecar``); the kill tests need a sandbox of their own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from clienthelp import async_client_for, client_for, run
from sidecars import Sidecar, set_config

from dapr_nb.core.streams import State
from dapr_nb.errors import StreamClosed
from dapr_nb.sandbox import Sandbox

WAIT = 10.0
Outcome = tuple[str, str]


async def outcome(call: Callable[..., Any], *args: Any) -> Outcome:
    """Call a sync or async stream method; return ("ok", repr(result)) or (exception type, message)."""
    try:
        result = call(*args)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", repr(result)


async def value(call: Callable[..., Any], *args: Any) -> Any:
    """Call a sync or async method and return its result."""
    result = call(*args)
    return await result if inspect.isawaitable(result) else result


async def after_death(stream: Any, step: Callable[..., Any], *args: Any) -> list[Any]:
    """What a stream reports once its sidecar is gone: step twice, ``args`` as step's input, then close."""
    seen: list[Any] = [await outcome(step, *args), await outcome(step, *args), stream.state, stream.active]
    seen += [await outcome(stream.close), stream.state, await outcome(stream.close), stream.state]
    return seen


def test_subscriptions_report_the_same_outcomes_when_the_sidecar_dies(
    make_sandbox: Callable[..., Sandbox], unique: Callable[[str], str]
) -> None:
    sb = make_sandbox()
    topic = unique("t")

    async def main() -> dict[str, list[Any]]:
        client, aclient = client_for(sb), async_client_for(sb)
        subs = {"sync": client.subscribe("pubsub", topic), "async": await aclient.subscribe("pubsub", topic)}
        client.publish_bulk("pubsub", topic, ["first", "second"])  # each streaming subscription gets a copy
        seen: dict[str, list[Any]] = {}
        held = {}
        for name, sub in subs.items():
            first = await value(sub.next_message, WAIT)
            seen[name] = [first.data, await outcome(sub.success, first), sub.state]
            held[name] = await value(sub.next_message, WAIT)  # received, not acked when the sidecar dies
            seen[name].append(held[name].data)
        sb.kill()
        for name, sub in subs.items():
            seen[name].append(await outcome(sub.next_message, WAIT))  # waits until the driver sees the death
            seen[name] += await after_death(sub, sub.success, held[name])
        client.close()
        await aclient.close()
        return seen

    seen = run(main())
    assert seen["sync"] == seen["async"]
    data, acked, state, held, died, *after = seen["sync"]
    assert (data, acked, state, held) == ("first", ("ok", "None"), State.OPEN, "second")
    assert died[0] == "StreamFailed" and f"the subscription to pubsub/{topic} has failed" in died[1]
    assert "UNAVAILABLE" in died[1] and "Messages not acked will be redelivered" in died[1]
    assert after == [died, died, State.FAILED, False, ("ok", "None"), State.FAILED, ("ok", "None"), State.FAILED]


def test_configuration_watches_report_the_same_outcomes_when_the_sidecar_dies(
    make_sandbox: Callable[..., Sandbox], unique: Callable[[str], str]
) -> None:
    sb = make_sandbox()
    key = unique("flag")

    async def main() -> dict[str, list[Any]]:
        client, aclient = client_for(sb), async_client_for(sb)
        watches = {
            "sync": client.subscribe_configuration("configstore", [key]),
            "async": await aclient.subscribe_configuration("configstore", [key]),
        }
        set_config(sb, {key: "on"})
        seen: dict[str, list[Any]] = {}
        for name, watch in watches.items():
            update = await value(watch.next_update, WAIT)
            seen[name] = [bool(watch.id), update.id == watch.id, [(i.key, i.value) for i in update.items], watch.state]
        sb.kill()
        for name, watch in watches.items():
            seen[name] += await after_death(watch, watch.next_update, WAIT)
        client.close()
        await aclient.close()
        return seen

    seen = run(main())
    assert seen["sync"] == seen["async"]
    has_id, same_id, items, state, died, again, *after = seen["sync"]
    assert (has_id, same_id, items, state) == (True, True, [(key, "on")], State.OPEN)
    assert died[0] == "StreamFailed" and "the configuration watch on configstore has failed" in died[1]
    assert again == died and after == [State.FAILED, False, ("ok", "None"), State.FAILED, ("ok", "None"), State.FAILED]


def test_acks_after_close_are_refused_by_both_drivers(sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    topic = unique("t")

    async def main() -> list[Any]:
        client, aclient = client_for(sidecar), async_client_for(sidecar)
        subs = [client.subscribe("pubsub", topic), await aclient.subscribe("pubsub", topic)]
        client.publish("pubsub", topic, "x")
        seen = []
        for sub in subs:
            message = await value(sub.next_message, WAIT)
            await value(sub.close)
            seen.append([await outcome(sub.drop, message), await outcome(sub.next_message, 0.1), sub.state])
        client.close()
        await aclient.close()
        return seen

    sync_seen, async_seen = run(main())
    assert sync_seen == async_seen
    refused, after, state = sync_seen
    assert refused == ("StreamClosed", f"SubscribeTopicEventsAlpha1: FAILED_PRECONDITION the subscription to "
                       f"pubsub/{topic} is closed. Messages not acked will be redelivered; subscribe again to go on.")
    assert after == ("ok", "None") and state is State.CLOSED
    assert issubclass(StreamClosed, RuntimeError)  # callers that caught the old RuntimeError still do


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_open_failure_raises_the_cause(sidecar: Sidecar, kind: str) -> None:
    async def main() -> str:
        if kind == "sync":
            with client_for(sidecar) as client:
                return (await outcome(client.subscribe, "no-such-pubsub", "t"))[0]
        async with async_client_for(sidecar) as aclient:
            return (await outcome(aclient.subscribe, "no-such-pubsub", "t"))[0]

    assert run(main()) == "NotFound"
