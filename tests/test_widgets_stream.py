"""TopicStream on both sidecars: counts, rows, ack outcomes, re-runs; on a sandbox: reconnect after a restart."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _waiting import wait_until
from clienthelp import client_for
from sidecars import Sidecar

import dapr_nb
from dapr_nb.client import Client
from dapr_nb.sandbox import Sandbox
from dapr_nb.widgets import registry
from dapr_nb.widgets.stream_model import StreamCounts
from dapr_nb.widgets.topic_stream import TopicStream

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def wait_for(stream: TopicStream, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Flush the stream until ``predicate`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stream.flush()
        if predicate():
            return
        time.sleep(0.05)
    stream.flush()
    assert predicate(), f"timed out: {stream!r} rows={stream.rows} errors={stream.errors}"


@pytest.fixture
def client(sidecar: Sidecar) -> Iterator[Client]:
    with client_for(sidecar) as c:
        yield c


@pytest.fixture
def handover_client(handover_sandbox: Sandbox) -> Iterator[Client]:
    """A client of the sandbox whose pubsub hands unacked messages of a closed stream on (redeliverOnClose)."""
    with Client(handover_sandbox.grpc_endpoint) as c:
        yield c


@pytest.fixture
def streams() -> Iterator[list[TopicStream]]:
    made: list[TopicStream] = []
    yield made
    for stream in made:
        stream.close()


def open_stream(streams: list[TopicStream], client: Client, topic: str, **kw: Any) -> TopicStream:
    stream = TopicStream("pubsub", topic, client=client, **kw).start()
    streams.append(stream)
    assert stream.wait_connected(10)
    return stream


def test_counts_rows_and_snapshot(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("orders")
    stream = open_stream(streams, client, topic, max_rows=2)
    assert stream.state == "connected"
    for n in range(3):
        client.publish("pubsub", topic, {"n": n, "note": "<b>x</b>"})
    wait_for(stream, lambda: stream.acked == 3)
    assert stream.received == 3 and stream.retried == stream.dropped == 0
    assert [row["data"] for row in stream.rows] == ['{"n": 2, "note": "<b>x</b>"}', '{"n": 1, "note": "<b>x</b>"}']
    assert {row["outcome"] for row in stream.rows} == {"success"}
    bundle = stream._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert "received <b>3</b>" in bundle["text/html"]
    assert "&lt;b&gt;x&lt;/b&gt;" in bundle["text/html"] and "<b>x</b>" not in bundle["text/html"]
    frame = stream.to_frame()
    assert list(frame["data"].map(lambda d: d["n"])) == [0, 1, 2]
    stream.clear()
    assert stream.received == 0 and stream.rows == []


def test_to_frame_is_bounded(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("bounded")
    stream = open_stream(streams, client, topic, max_records=2)
    client.publish_bulk("pubsub", topic, ["a", "b", "c"])
    wait_for(stream, lambda: stream.acked == 3)
    arrived = [row["data"] for row in reversed(stream.rows)]  # daprd publishes bulk entries concurrently
    assert sorted(arrived) == ["a", "b", "c"] and list(stream.to_frame()["data"]) == arrived[1:]


@pytest.mark.daprd_differs("pubsub-retry")
def test_retry_redelivers(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("flaky")
    seen: list[str] = []

    def handler(message: Any) -> str:
        seen.append(message.id)
        return "retry" if seen.count(message.id) == 1 else "success"

    stream = open_stream(streams, client, topic, ack=handler)
    assert stream.policy == "handler"
    client.publish("pubsub", topic, "once")
    wait_for(stream, lambda: stream.acked == 1)
    assert (stream.received, stream.retried, stream.redelivered) == (2, 1, 1)
    assert [row["delivery"] for row in stream.rows] == [2, 1]


def test_drop_goes_to_the_dead_letter_topic(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic, dlq = unique("drops"), unique("drops-dlq")
    dead = open_stream(streams, client, dlq)
    stream = dapr_nb.stream("pubsub", topic, ack="drop", dead_letter_topic=dlq, client=client)
    streams.append(stream)
    assert stream.wait_connected(10)
    client.publish("pubsub", topic, {"bad": True})
    assert stream.wait(1, 10) and stream.counts == StreamCounts(received=1, dropped=1)
    assert dead.wait(1, 10) and dead.counts.acked == 1
    assert dead.rows[0]["data"] == '{"bad": true}'


def test_wait_and_counts_read_the_model(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("wait")
    stream = open_stream(streams, client, topic)
    assert not stream.wait(1, timeout=0.2) and stream.counts == StreamCounts()
    client.publish_bulk("pubsub", topic, ["a", "b"])
    assert stream.wait(2, timeout=10)
    assert stream.acked == 2 and stream.counts.acked == 2  # traits were refreshed before wait returned
    stream.pause()
    client.publish("pubsub", topic, "held")
    assert stream.wait(3, timeout=10) and stream.counts.held == 1  # while paused, arriving is enough
    stream.resume()
    assert stream.wait(3, timeout=10) and stream.counts == StreamCounts(received=3, acked=3)
    stream.stop()
    assert not stream.wait(99, timeout=5) and not stream.active  # a stopped stream returns at once


@pytest.mark.daprd_differs("pubsub-retry")
def test_wait_counts_deliveries_not_messages(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("again")
    retried: set[str] = set()

    def once_again(message: Any) -> str:  # retry the first delivery of "again", accept everything else
        if message.data == "again" and message.id not in retried:
            retried.add(message.id)
            return "retry"
        return "success"

    stream = open_stream(streams, client, topic, ack=once_again)
    client.publish("pubsub", topic, "first")
    assert stream.wait(1, timeout=10) and stream.counts == StreamCounts(received=1, acked=1)
    client.publish("pubsub", topic, "again")
    assert stream.wait(3, timeout=10)  # the retried message came back: deliveries count, not messages
    assert stream.counts == StreamCounts(received=3, acked=2, retried=1, redelivered=1)


def test_wait_from_the_event_loop_thread(sidecar: Sidecar, unique: Any) -> None:
    """A notebook cell blocks the kernel's loop: wait() must not depend on the loop running the batcher."""
    topic = unique("loop")

    async def cell() -> tuple[bool, int, int, str]:
        with client_for(sidecar) as client:
            stream = dapr_nb.stream("pubsub", topic, client=client)
            try:
                assert stream._batcher.loop is asyncio.get_running_loop()
                assert stream.wait_connected(10)
                client.publish_bulk("pubsub", topic, [1, 2, 3])
                ok = stream.wait(3, timeout=10)
                return ok, stream.acked, stream.counts.acked, stream.snapshot_html()
            finally:
                stream.close()

    ok, acked, counted, html = asyncio.run(asyncio.wait_for(cell(), 30))
    assert ok and acked == counted == 3 and "received <b>3</b>" in html


def test_wait_while_a_loop_thread_runs_the_batcher(client: Client, unique: Any) -> None:
    topic = unique("bg-loop")
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()

    async def make() -> TopicStream:
        return TopicStream("pubsub", topic, client=client, interval=0.1).start()

    async def close() -> None:
        stream.close()

    stream = asyncio.run_coroutine_threadsafe(make(), loop).result(10)
    try:
        assert stream._batcher.loop is loop and stream.wait_connected(10)
        client.publish("pubsub", topic, "x")
        assert stream.wait(1, timeout=10) and stream.counts.acked == 1
        wait_until(lambda: stream._batcher.flushes >= 2, message="the loop never redrew by itself")
    finally:
        asyncio.run_coroutine_threadsafe(close(), loop).result(10)  # closed on the loop's thread, and done
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()


def test_max_messages_ends_the_stream(handover_client: Client, streams: list[TopicStream], unique: Any) -> None:
    client, topic = handover_client, unique("max")
    stream = open_stream(streams, client, topic, max_messages=2)
    client.publish_bulk("pubsub", topic, ["a", "b", "c"])
    assert stream.wait(2, timeout=10)
    wait_for(stream, lambda: stream.state == "done" and not stream.active)
    assert stream.counts == StreamCounts(received=2, acked=2) and not stream._thread.is_alive()
    later = open_stream(streams, client, topic)  # the third message was not taken: it is still there
    assert later.wait(1, timeout=10) and list(later.to_frame()["data"]) == ["c"]
    with pytest.raises(ValueError):
        TopicStream("pubsub", topic, client=client, max_messages=0)


def test_handler_errors_are_visible(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("errors")

    def handler(message: Any) -> None:
        raise ValueError("boom <script>")

    stream = open_stream(streams, client, topic, ack=handler)
    client.publish("pubsub", topic, 1)
    wait_for(stream, lambda: stream.retried >= 1)  # a handler that raises answers RETRY
    assert stream.acked == 0 and any("ValueError: boom" in e for e in stream.errors)
    assert "boom &lt;script&gt;" in stream.snapshot_html()


@pytest.mark.daprd_differs("pubsub-retry")
def test_a_failed_handler_gets_the_message_again(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("again")
    calls: list[int] = []

    def handler(message: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("boom")

    stream = open_stream(streams, client, topic, ack=handler)
    client.publish("pubsub", topic, 1)
    wait_for(stream, lambda: stream.acked == 1)
    assert stream.retried == 1 and stream.redelivered == 1 and len(calls) == 2


def test_policy_switch(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("switch")
    stream = open_stream(streams, client, topic, ack=lambda message: None)
    assert stream.policy == "handler"
    client.publish("pubsub", topic, 1)
    wait_for(stream, lambda: stream.acked == 1)
    stream.policy = "drop"
    client.publish("pubsub", topic, 2)
    wait_for(stream, lambda: stream.dropped == 1)
    assert stream.acked == 1 and stream.retried == 0
    with pytest.raises(ValueError):
        TopicStream("pubsub", topic, client=client, ack="maybe")


def test_rerun_closes_the_previous_stream_and_hands_over_held_messages(
    handover_client: Client, streams: list[TopicStream], unique: Any
) -> None:
    client, topic = handover_client, unique("rerun")
    key = ("stream", "pubsub", topic, "cell-1")
    first = open_stream(streams, client, topic, key=key)
    first.pause()
    client.publish_bulk("pubsub", topic, ["x", "y"])
    wait_for(first, lambda: first.held == 1)  # the sidecar waits for an ack before it sends the next
    assert first.acked == 0 and {row["outcome"] for row in first.rows} == {"pending"}
    second = open_stream(streams, client, topic, key=key)  # the cell runs again
    assert first.state == "closed" and not first._thread.is_alive()
    assert registry.live()[key] is second
    wait_for(second, lambda: second.acked == 2)  # the unacked messages were not lost
    assert sorted(second.to_frame()["data"]) == ["x", "y"]


def test_reconnects_after_a_sandbox_restart(make_sandbox: Callable[..., Sandbox], unique: Any) -> None:
    sb = make_sandbox()
    topic = unique("restart")
    with Client(sb.grpc_endpoint) as client:
        stream = TopicStream("pubsub", topic, client=client).start()
        try:
            assert stream.wait_connected(10)
            client.publish("pubsub", topic, "before")
            wait_for(stream, lambda: stream.acked == 1)
            stream.pause()
            client.publish("pubsub", topic, "held")
            wait_for(stream, lambda: stream.held == 1)
            sb.restart()
            wait_for(stream, lambda: stream.reconnects == 1 and stream.state == "connected", timeout=30)
            client.publish("pubsub", topic, "after")
            wait_for(stream, lambda: stream.held == 2)
            stream.resume()
            wait_for(stream, lambda: stream.held == 0 and stream.acked == 2)
            frame = stream.to_frame()
            assert list(frame["data"]) == ["before", "held", "after"]
            # the held copy's stream is gone: the policy still saw it, the broker gets no ack for it
            assert list(frame["outcome"]) == ["success", "unacked", "success"]
        finally:
            stream.close()
    assert not stream._thread.is_alive()
