"""Results ⇄ pandas DataFrames: ``to_frame`` for results, ``save_frame`` / ``publish_frame`` for writing rows.

Rule: this module only converts between DataFrames and rows; requests are built by ``core.state`` and
``core.pubsub``, whose operations the writers batch (so the same code runs on ``Client`` and ``AsyncClient``).
pandas is imported on first use, never at import time. Column order is stable: identifying columns first
(``key``, ``etag`` for state; ``id``, ``topic`` for messages), then the JSON values flattened with
``pandas.json_normalize`` in first-seen order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .core import pubsub as _pubsub
from .core import state as _state
from .core.ops import Op
from .core.results import BulkPublishResult, FailedEntry, HistoryEvent, StateItem, TopicMessage, WorkflowState
from .core.values import JSON

if TYPE_CHECKING:
    from .client import AsyncClient, Client

Progress = Callable[[int, int], None]


def _pd() -> Any:
    import pandas

    return pandas


def _flatten(ids: dict[str, list[Any]], values: list[Any], value_name: str) -> Any:
    """Return a frame with the ``ids`` columns first, then ``values`` flattened (dicts) or in one column."""
    pd = _pd()
    front = pd.DataFrame(ids)
    if values and all(isinstance(v, dict) for v in values):
        flat = pd.json_normalize(values)
        flat.index = front.index
        overlap = [c for c in flat.columns if c in front.columns]
        if overlap:
            flat = flat.rename(columns={c: f"{value_name}.{c}" for c in overlap})
        return pd.concat([front, flat], axis=1)
    if any(isinstance(v, dict) for v in values):
        dict_rows = [v if isinstance(v, dict) else {value_name: v} for v in values]
        flat = pd.json_normalize(dict_rows)
        flat.index = front.index
        return pd.concat([front, flat], axis=1)
    front[value_name] = values
    return front


def state_frame(items: Iterable[StateItem], *, errors: bool = False) -> Any:
    """Return state items as a frame: ``key``, ``etag``, then the flattened JSON values (or ``value``)."""
    items = list(items)
    ids: dict[str, list[Any]] = {"key": [i.key for i in items], "etag": [i.etag for i in items]}
    if errors:
        ids["error"] = [i.error for i in items]
    return _flatten(ids, [i.value for i in items], "value")


def message_frame(messages: Iterable[TopicMessage]) -> Any:
    """Return messages as a frame: ``id``, ``pubsub``, ``topic``, ``content_type``, then the flattened data."""
    messages = list(messages)
    ids: dict[str, list[Any]] = {
        "id": [m.id for m in messages],
        "pubsub": [m.pubsub for m in messages],
        "topic": [m.topic for m in messages],
        "content_type": [m.content_type for m in messages],
    }
    return _flatten(ids, [m.data for m in messages], "data")


def _row(obj: Any) -> dict[str, Any]:
    row = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, WorkflowState):
        failure = row.pop("failure")
        row["failure_type"] = failure.error_type if failure else None
        row["failure_message"] = failure.message if failure else None
    return row


def to_frame(results: Any) -> Any:
    """Return a DataFrame for a result or a list of results (state items, messages, config, workflows …)."""
    pd = _pd()
    if dataclasses.is_dataclass(results) and not isinstance(results, type):
        results = [results]
    elif isinstance(results, Mapping):
        results = list(results.values())
    rows = list(results)
    if not rows:
        return pd.DataFrame()
    first = rows[0]
    if isinstance(first, StateItem):
        return state_frame(rows)
    if isinstance(first, TopicMessage):
        return message_frame(rows)
    if isinstance(first, HistoryEvent):
        frame = pd.DataFrame([_row(r) for r in rows])
        return frame
    if dataclasses.is_dataclass(first):
        return pd.DataFrame([_row(r) for r in rows])
    return pd.DataFrame(rows)


def _json_lines(frame: Any) -> list[bytes]:
    """Encode each row as a compact JSON object (NaN → null, timestamps ISO 8601)."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return [line.encode() for line in text.splitlines()]


def state_rows(frame: Any, key_column: str) -> list[tuple[str, bytes]]:
    """Return ``(key, row as JSON bytes)`` per row; the key column is left out of the value."""
    keys = [str(k) for k in frame[key_column].tolist()]
    return list(zip(keys, _json_lines(frame.drop(columns=[key_column])), strict=True))


def save_frame_op(
    store: str,
    frame: Any,
    key_column: str,
    *,
    batch_size: int = 1000,
    metadata: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Op[int]:
    """Save each row (without the key column, as a JSON object) under ``frame[key_column]``; return rows saved."""
    rows = state_rows(frame, key_column)
    meta = {"contentType": JSON, **(metadata or {})}
    total = len(rows)
    for start in range(0, total, batch_size):
        yield from _state.save_bulk_state(store, rows[start : start + batch_size], metadata=meta)
        if progress is not None:
            progress(min(start + batch_size, total), total)
    return total


def publish_frame_op(
    pubsub: str,
    topic: str,
    frame: Any,
    *,
    batch_size: int = 1000,
    metadata: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Op[BulkPublishResult]:
    """Publish each row as a JSON event with bulk publish, ``batch_size`` rows per call; entry ids = row positions."""
    events = _json_lines(frame)
    total, published = len(events), 0
    failed: list[FailedEntry] = []
    for start in range(0, total, batch_size):
        request = _pubsub.bulk_request(pubsub, topic, events[start : start + batch_size], JSON, metadata, start)
        result = yield from _pubsub.send_bulk(request)
        published += result.published
        failed.extend(result.failed)
        if progress is not None:
            progress(min(start + batch_size, total), total)
    return BulkPublishResult(published, tuple(failed))


def save_frame(client: Client, store: str, frame: Any, key_column: str, **options: Any) -> int:
    """Save a DataFrame's rows into a state store keyed by ``key_column`` (see ``save_frame_op``)."""
    return client.run(save_frame_op(store, frame, key_column, **options))


async def save_frame_async(client: AsyncClient, store: str, frame: Any, key_column: str, **options: Any) -> int:
    """Save a DataFrame's rows with an AsyncClient (see ``save_frame_op``)."""
    return await client.run(save_frame_op(store, frame, key_column, **options))


def publish_frame(client: Client, pubsub: str, topic: str, frame: Any, **options: Any) -> BulkPublishResult:
    """Publish a DataFrame's rows as JSON events in bulk batches (see ``publish_frame_op``)."""
    return client.run(publish_frame_op(pubsub, topic, frame, **options))


async def publish_frame_async(
    client: AsyncClient, pubsub: str, topic: str, frame: Any, **options: Any
) -> BulkPublishResult:
    """Publish a DataFrame's rows with an AsyncClient (see ``publish_frame_op``)."""
    return await client.run(publish_frame_op(pubsub, topic, frame, **options))


__all__ = [
    "FailedEntry",
    "message_frame",
    "publish_frame",
    "publish_frame_async",
    "publish_frame_op",
    "save_frame",
    "save_frame_async",
    "save_frame_op",
    "state_frame",
    "state_rows",
    "to_frame",
]
