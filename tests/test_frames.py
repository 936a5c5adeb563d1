"""DataFrames: results → frames (flattened JSON, stable columns) and frames → state / pub/sub (bulk, batched)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from clienthelp import async_client_for, client_for, run
from dapr.proto.runtime.v1 import pubsub_pb2

from dapr_nb.client import Client
from dapr_nb.core.ops import Call, Instruction, run_by_hand
from dapr_nb.core.results import ConfigItem, StateItem, Table, TopicMessage, WorkflowState
from dapr_nb.frames import (
    publish_frame,
    publish_frame_async,
    publish_frame_op,
    save_frame,
    save_frame_async,
    save_frame_op,
    to_frame,
)
from dapr_nb.sandbox import Sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Client:
    with client_for(sandbox) as c:
        yield c  # type: ignore[misc]


def test_state_items_flatten_json_with_key_and_etag_first() -> None:
    items = Table([
        StateItem("a", {"name": "x", "addr": {"city": "Oslo"}}, "1"),
        StateItem("b", {"name": "y", "extra": 2, "addr": {"city": "Rome"}}, "2"),
    ])
    frame = to_frame(items)
    assert list(frame.columns) == ["key", "etag", "name", "addr.city", "extra"]
    assert frame["addr.city"].tolist() == ["Oslo", "Rome"]


def test_scalar_and_mixed_values() -> None:
    assert list(to_frame([StateItem("a", 1), StateItem("b", "t")]).columns) == ["key", "etag", "value"]
    mixed = to_frame([StateItem("a", {"n": 1}), StateItem("b", "text"), StateItem("c", None)])
    assert list(mixed.columns) == ["key", "etag", "n", "value"]
    clash = to_frame([StateItem("a", {"key": "inner"})])
    assert list(clash.columns) == ["key", "etag", "value.key"]


def test_other_results() -> None:
    messages = to_frame([TopicMessage("1", "p", "t", {"n": 1}, content_type="application/json")])
    assert list(messages.columns) == ["id", "pubsub", "topic", "content_type", "n"]
    config = to_frame([ConfigItem("k", "v", "1")])
    assert list(config.columns) == ["key", "value", "version", "metadata"]
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    states = to_frame([WorkflowState("i", "wf", "COMPLETED", created_at=when)])
    assert states.loc[0, "status"] == "COMPLETED" and "failure_type" in states.columns
    assert to_frame([]).empty


def test_writers_batch_the_core_requests_by_hand() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "n": [1, 2, float("nan")]})
    calls: list[Call] = []

    def answer(call: Instruction) -> Any:
        assert isinstance(call, Call)
        calls.append(call)
        return pubsub_pb2.BulkPublishResponse()

    assert run_by_hand(save_frame_op("s", frame, "id", batch_size=2, metadata={"ttlInSeconds": "9"}), answer) == 3
    assert [c.method for c in calls] == ["SaveState", "SaveState"]
    states = [item for c in calls for item in c.request.states]
    assert [(i.key, i.value) for i in states] == [("a", b'{"n":1.0}'), ("b", b'{"n":2.0}'), ("c", b'{"n":null}')]
    assert all(dict(i.metadata) == {"contentType": "application/json", "ttlInSeconds": "9"} for i in states)
    calls.clear()
    result = run_by_hand(publish_frame_op("p", "t", frame, batch_size=2), answer)
    assert result.published == 3 and [c.method for c in calls] == ["BulkPublishEvent", "BulkPublishEvent"]
    entries = [e for c in calls for e in c.request.entries]
    assert [e.entry_id for e in entries] == ["0", "1", "2"]
    assert {e.content_type for e in entries} == {"application/json"}
    assert entries[2].event == b'{"id":"c","n":null}'
    assert run_by_hand(save_frame_op("s", frame.iloc[0:0], "id"), answer) == 0


def test_save_frame_round_trip(client: Client, unique: Callable[[str], str]) -> None:
    keys = [unique(f"row{i}") for i in range(25)]
    frame = pd.DataFrame({"id": keys, "qty": range(25), "price": [1.5] * 24 + [float("nan")],
                          "when": pd.Timestamp("2024-01-02")})
    progress: list[tuple[int, int]] = []
    assert save_frame(client, "statestore", frame, "id", batch_size=10, progress=lambda d, t: progress.append((d, t)))
    assert progress == [(10, 25), (20, 25), (25, 25)]
    back = to_frame(client.get_bulk_state("statestore", keys))
    assert back["key"].tolist() == keys and back["qty"].tolist() == list(range(25))
    assert back["price"].isna().tolist()[-1] and back["when"][0].startswith("2024-01-02")


def test_publish_frame_in_batches(client: Client, unique: Callable[[str], str]) -> None:
    topic = unique("frame")
    frame = pd.DataFrame({"n": range(30), "label": [f"r{i}" for i in range(30)]})
    progress: list[int] = []
    with client.subscribe("pubsub", topic) as sub:
        result = publish_frame(client, "pubsub", topic, frame, batch_size=8, progress=lambda d, t: progress.append(d))
        assert result and result.published == 30 and progress == [8, 16, 24, 30]
        received = []
        for _ in range(30):
            message = sub.next_message(10)
            assert message is not None
            sub.success(message)
            received.append(message)
    got = to_frame(received).sort_values("n")
    assert got["n"].tolist() == list(range(30)) and got["label"].tolist()[0] == "r0"


def test_async_frame_writers(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    frame = pd.DataFrame({"k": [unique("a1"), unique("a2")], "v": [1, 2]})

    async def main() -> list[object]:
        async with async_client_for(sandbox) as client:
            await save_frame_async(client, "statestore", frame, "k")
            result = await publish_frame_async(client, "pubsub", unique("t"), frame)
            items = await client.get_bulk_state("statestore", frame["k"].tolist())
            return [result.published, sorted(i.value["v"] for i in items)]

    assert run(main()) == [2, [1, 2]]
