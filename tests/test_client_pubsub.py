"""Pub/sub through both clients on both sidecars: publish, bulk publish, streaming ack outcomes, drained close."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clienthelp import async_client_for, client_for, run
from sidecars import Sidecar

from dapr_nb.client import AsyncClient, Client
from dapr_nb.core.results import TopicMessage
from dapr_nb.errors import NotFound
from dapr_nb.sandbox import Sandbox

PUBSUB = "pubsub"
WAIT = 10.0


@pytest.fixture
def client(sidecar: Sidecar) -> Client:
    with client_for(sidecar) as c:
        yield c  # type: ignore[misc]


@pytest.fixture
def handover_client(handover_sandbox: Sandbox) -> Client:
    """A client of the sandbox whose pubsub hands unacked messages of a closed stream on (redeliverOnClose)."""
    with client_for(handover_sandbox) as c:
        yield c  # type: ignore[misc]


@contextlib.contextmanager
def publishing(send: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    """Run ``send`` in a thread while the test reads; on exit wait for it and hand back its result (``"result"``).

    daprd's pubsub.in-memory answers a publish only once the subscriber has acked the topic's previous message
    (difference ``inmemory-backpressure``), so a test that publishes several messages reads them meanwhile.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = send()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    yield outcome
    thread.join(WAIT)
    assert not thread.is_alive(), "the publish did not return"
    if "error" in outcome:
        raise outcome["error"]


def _next(sub: object) -> TopicMessage:
    message = sub.next_message(WAIT)  # type: ignore[attr-defined]
    assert message is not None, "no message within the bounded wait"
    return message  # type: ignore[no-any-return]


def test_publish_and_receive_decoded_by_content_type(client: Client, unique: Callable[[str], str]) -> None:
    topic = unique("t")
    sends: list[Callable[[], None]] = [
        lambda: client.publish(PUBSUB, topic, {"order": 1}),
        lambda: client.publish(PUBSUB, topic, "plain text"),
        lambda: client.publish(PUBSUB, topic, b"\x00\x01", content_type="application/octet-stream"),
    ]
    with client.subscribe(PUBSUB, topic) as sub:
        received = []
        for send in sends:  # one at a time (inmemory-backpressure)
            send()
            message = _next(sub)
            sub.success(message)
            received.append(message)
        assert [m.data for m in received] == [{"order": 1}, "plain text", b"\x00\x01"]
        assert received[0].topic == topic and received[0].pubsub == PUBSUB and received[0].content_type
        assert sub.next_message(0.2) is None


def test_bulk_publish(client: Client, unique: Callable[[str], str]) -> None:
    topic = unique("bulk")
    with client.subscribe(PUBSUB, topic) as sub:
        got = []
        with publishing(lambda: client.publish_bulk(PUBSUB, topic, [{"n": i} for i in range(5)])) as bulk:
            for _ in range(5):
                message = _next(sub)
                sub.success(message)
                got.append(message.data["n"])
        assert bulk["result"] and bulk["result"].published == 5
    assert sorted(got) == list(range(5))  # daprd publishes a bulk's entries concurrently: any order


@pytest.mark.daprd_differs("inmemory-backpressure")
def test_publish_returns_while_a_message_is_unacked(client: Client, sidecar: Sidecar,
                                                    unique: Callable[[str], str]) -> None:
    topic = unique("t")
    with client.subscribe(PUBSUB, topic) as sub, client_for(sidecar, timeout=2.0) as quick:
        client.publish(PUBSUB, topic, 1)
        first = _next(sub)
        try:
            quick.publish(PUBSUB, topic, 2)  # daprd holds it until ``first`` is acked: DeadlineExceeded
        finally:
            sub.success(first)
        second = _next(sub)
        sub.success(second)
    assert (first.data, second.data) == (1, 2)


@pytest.mark.daprd_differs("pubsub-retry")
def test_retry_redelivers_and_drop_dead_letters(client: Client, unique: Callable[[str], str]) -> None:
    topic, dead = unique("t"), unique("dead")
    with client.subscribe(PUBSUB, topic, dead_letter_topic=dead) as sub, client.subscribe(PUBSUB, dead) as dlq:
        client.publish(PUBSUB, topic, {"n": 1})
        first = _next(sub)
        sub.retry(first)
        again = _next(sub)
        assert again.id == first.id and again.data == {"n": 1}
        sub.drop(again)
        dead_message = _next(dlq)
        assert dead_message.data == {"n": 1}
        dlq.success(dead_message)
        with pytest.raises(ValueError):
            sub.success(again)  # each message is acked once


def test_drop_dead_letters(client: Client, unique: Callable[[str], str]) -> None:
    topic, dead = unique("t"), unique("dead")
    with client.subscribe(PUBSUB, topic, dead_letter_topic=dead) as sub, client.subscribe(PUBSUB, dead) as dlq:
        client.publish(PUBSUB, topic, {"n": 1})
        first = _next(sub)
        sub.drop(first)
        dead_message = _next(dlq)
        assert dead_message.data == {"n": 1} and dead_message.topic == dead
        dlq.success(dead_message)
        with pytest.raises(ValueError):
            sub.success(first)  # each message is acked once
        assert sub.next_message(0.2) is None


def test_close_flushes_the_last_ack(handover_client: Client, unique: Callable[[str], str]) -> None:
    client, topic = handover_client, unique("t")  # an ack lost at close would be handed to the next stream
    sub = client.subscribe(PUBSUB, topic)
    client.publish(PUBSUB, topic, "only once")
    sub.success(_next(sub))
    sub.close()  # right after the ack: the ack must still reach the sidecar
    with client.subscribe(PUBSUB, topic) as again:
        assert again.next_message(0.5) is None


def test_unacked_message_goes_to_the_next_subscription(handover_client: Client,
                                                       unique: Callable[[str], str]) -> None:
    client, topic = handover_client, unique("t")
    with client.subscribe(PUBSUB, topic) as sub:
        client.publish(PUBSUB, topic, "unanswered")
        assert _next(sub).data == "unanswered"
    with client.subscribe(PUBSUB, topic) as again:
        message = _next(again)
        assert message.data == "unanswered"
        again.success(message)


def test_unknown_pubsub(client: Client, unique: Callable[[str], str]) -> None:
    with pytest.raises(NotFound):
        client.publish("no-such-pubsub", "t", 1)
    with pytest.raises(NotFound):
        client.subscribe("no-such-pubsub", unique("t"))


@pytest.mark.daprd_differs("pubsub-retry")
def test_async_retry_redelivers(sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    topic, dead = unique("t"), unique("dead")

    async def main(client: AsyncClient) -> object:
        async with client, await client.subscribe(PUBSUB, topic, dead_letter_topic=dead) as sub:
            await client.publish(PUBSUB, topic, {"n": 1})
            first = await sub.next_message(WAIT)
            assert first is not None
            await sub.retry(first)
            again = await sub.next_message(WAIT)
            assert again is not None and again.id == first.id
            await sub.success(again)
            return again.data

    assert run(main(async_client_for(sidecar))) == {"n": 1}


def test_async_subscription_ack_outcomes(sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    topic, dead = unique("t"), unique("dead")

    async def main(client: AsyncClient) -> list[object]:
        async with client:
            seen: list[object] = []
            async with await client.subscribe(PUBSUB, topic, dead_letter_topic=dead) as sub, \
                    await client.subscribe(PUBSUB, dead) as dlq:
                await client.publish(PUBSUB, topic, {"n": 1})
                first = await sub.next_message(WAIT)
                assert first is not None
                await sub.success(first)
                await client.publish_bulk(PUBSUB, topic, ["two"])  # once the first is acked (inmemory-backpressure)
                second = await sub.next_message(WAIT)
                assert second is not None
                await sub.drop(second)
                dead_message = await dlq.next_message(WAIT)
                assert dead_message is not None
                await dlq.success(dead_message)
                seen += [first.data, second.data, dead_message.data]
            async with await client.subscribe(PUBSUB, topic) as empty:
                seen.append(await empty.next_message(0.3))
            return seen

    assert run(main(async_client_for(sidecar))) == [{"n": 1}, "two", "two", None]


def test_async_iteration_and_drained_close(sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    topic = unique("t")

    async def main(client: AsyncClient) -> list[object]:
        async with client:
            sub = await client.subscribe(PUBSUB, topic)

            async def send() -> None:  # in order, each once the last is acked (inmemory-backpressure)
                for n in (1, 2, 3):
                    await client.publish(PUBSUB, topic, n)

            sending = asyncio.ensure_future(send())
            got = []
            async for message in sub:
                await sub.success(message)
                got.append(message.data)
                if len(got) == 3:
                    break
            await asyncio.wait_for(sending, WAIT)
            await sub.close()
            async with await client.subscribe(PUBSUB, topic) as again:
                got.append(await again.next_message(0.3))
            return got

    assert run(main(async_client_for(sidecar))) == [1, 2, 3, None]


def test_sync_iteration(client: Client, unique: Callable[[str], str]) -> None:
    topic = unique("t")
    with client.subscribe(PUBSUB, topic) as sub, publishing(lambda: [client.publish(PUBSUB, topic, d) for d in "ab"]):
        got = []
        for message in sub:
            sub.success(message)
            got.append(message.data)
            if len(got) == 2:
                break
    assert got == ["a", "b"]
