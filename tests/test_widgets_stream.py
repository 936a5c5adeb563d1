"""TopicStream against the sandbox: counts, rows, ack outcomes, close on re-run, reconnect after a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dapr_nb.client import Client
from dapr_nb.sandbox import Sandbox
from dapr_nb.widgets import registry
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
def client(sandbox: Sandbox) -> Iterator[Client]:
    with Client(sandbox.grpc_endpoint) as c:
        yield c


@pytest.fixture
def streams() -> Iterator[list[TopicStream]]:
    made: list[TopicStream] = []
    yield made
    for stream in made:
        stream.close()


def open_stream(streams: list[TopicStream], client: Client, topic: str, **kw: Any) -> TopicStream:
    stream = TopicStream("pubsub", topic, client=client, **kw)
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
    assert list(stream.to_frame()["data"]) == ["b", "c"]


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
    stream = open_stream(streams, client, topic, ack="drop", dead_letter_topic=dlq)
    client.publish("pubsub", topic, {"bad": True})
    wait_for(stream, lambda: stream.dropped == 1)
    wait_for(dead, lambda: dead.acked == 1)
    assert dead.rows[0]["data"] == '{"bad": true}'


def test_policy_switch_and_handler_errors_are_visible(client: Client, streams: list[TopicStream], unique: Any) -> None:
    topic = unique("errors")
    calls: list[int] = []

    def handler(message: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("boom <script>")

    stream = open_stream(streams, client, topic, ack=handler)
    client.publish("pubsub", topic, 1)
    wait_for(stream, lambda: stream.acked == 1)
    assert stream.retried == 1 and any("ValueError: boom" in e for e in stream.errors)
    assert "boom &lt;script&gt;" in stream.snapshot_html()
    stream.policy = "drop"
    client.publish("pubsub", topic, 2)
    wait_for(stream, lambda: stream.dropped == 1)
    with pytest.raises(ValueError):
        TopicStream("pubsub", topic, client=client, ack="maybe", start=False)


def test_rerun_closes_the_previous_stream_and_hands_over_held_messages(
    client: Client, streams: list[TopicStream], unique: Any
) -> None:
    topic = unique("rerun")
    key = ("stream", "pubsub", topic, "cell-1")
    first = open_stream(streams, client, topic, key=key)
    first.pause()
    client.publish_bulk("pubsub", topic, ["x", "y"])
    wait_for(first, lambda: first.held == 1)  # the sidecar waits for an ack before it sends the next
    assert first.acked == 0 and {row["outcome"] for row in first.rows} == {"pending"}
    second = open_stream(streams, client, topic, key=key)  # the cell runs again
    assert first.state == "closed" and not first._worker.alive
    assert registry.live()[key] is second
    wait_for(second, lambda: second.acked == 2)  # the unacked messages were not lost
    assert sorted(second.to_frame()["data"]) == ["x", "y"]


def test_reconnects_after_a_sandbox_restart(make_sandbox: Callable[..., Sandbox], unique: Any) -> None:
    sb = make_sandbox()
    topic = unique("restart")
    with Client(sb.grpc_endpoint) as client:
        stream = TopicStream("pubsub", topic, client=client)
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
    assert not stream._worker.alive
