"""State operations: get, bulk get, save, bulk save, delete, bulk delete, transactions, query with paging.

Rule: a missing key is not an error (``StateItem.value is None``); an etag is sent only when given,
and an etag mismatch raises :class:`~dapr_nb.errors.Conflict` carrying the etag that was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import state_pb2

from ..errors import Conflict
from .ops import Call, Op
from .results import StateItem, Table
from .values import JSON, encode, str_map

Concurrency = Literal["first-write", "last-write"]
Consistency = Literal["eventual", "strong"]

_CONCURRENCY: dict[str | None, common_pb2.StateOptions.StateConcurrency.ValueType] = {
    None: common_pb2.StateOptions.CONCURRENCY_UNSPECIFIED,
    "first-write": common_pb2.StateOptions.CONCURRENCY_FIRST_WRITE,
    "last-write": common_pb2.StateOptions.CONCURRENCY_LAST_WRITE,
}
_CONSISTENCY: dict[str | None, common_pb2.StateOptions.StateConsistency.ValueType] = {
    None: common_pb2.StateOptions.CONSISTENCY_UNSPECIFIED,
    "eventual": common_pb2.StateOptions.CONSISTENCY_EVENTUAL,
    "strong": common_pb2.StateOptions.CONSISTENCY_STRONG,
}


@dataclass(frozen=True)
class Upsert:
    """A transaction operation that saves ``value`` under ``key`` (conditional on ``etag`` when given)."""

    key: str
    value: Any
    etag: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delete:
    """A transaction operation that deletes ``key`` (conditional on ``etag`` when given)."""

    key: str
    etag: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


Operation = Upsert | Delete
BulkItems = Mapping[str, Any] | Iterable[StateItem | tuple[str, Any]]


def _options(concurrency: Concurrency | None, consistency: Consistency | None) -> common_pb2.StateOptions | None:
    if concurrency is None and consistency is None:
        return None
    return common_pb2.StateOptions(concurrency=_CONCURRENCY[concurrency], consistency=_CONSISTENCY[consistency])


def _fill_item(
    item: common_pb2.StateItem,
    key: str,
    value: Any,
    etag: str | None,
    metadata: Mapping[str, Any] | None,
    options: common_pb2.StateOptions | None,
) -> common_pb2.StateItem:
    """Fill an empty wire StateItem in place (cheaper than building one and copying it into a request)."""
    data, content_type = encode(value)
    item.key = key
    item.value = data
    if metadata:
        meta = item.metadata
        meta.update(str_map(metadata))
        if content_type == JSON and "contentType" not in meta:
            meta["contentType"] = JSON
    elif content_type == JSON:
        item.metadata["contentType"] = JSON
    if options is not None:
        item.options.CopyFrom(options)
    if etag is not None:
        item.etag.value = etag
    return item


def state_item_pb(
    key: str,
    value: Any,
    etag: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    options: common_pb2.StateOptions | None = None,
) -> common_pb2.StateItem:
    """Build the wire StateItem: encode the value, mark JSON with ``contentType``, send an etag only when given."""
    return _fill_item(common_pb2.StateItem(), key, value, etag, metadata, options)


def to_item(
    key: str, data: bytes, etag: str, metadata: Mapping[str, str], error: str = "", *, lazy: bool = True
) -> StateItem:
    """Build a StateItem from what the sidecar returned (empty data and etag = missing).

    ``value`` decodes on first access for single reads (``get_state`` parses no JSON unless it is read);
    bulk reads and queries pass ``lazy=False``, as their values are nearly always all read (frames).
    """
    if metadata:
        meta = {k: metadata[k] for k in metadata}  # faster than dict() on a protobuf map
        return StateItem.from_wire(key, data, meta.get("contentType", ""), etag or None, meta, error, lazy=lazy)
    return StateItem.from_wire(key, data, "", etag or None, {}, error, lazy=lazy)


def _conflict(error: Conflict, etag: str | None) -> Conflict:
    error.etag = etag
    return error


def get_state(
    store: str, key: str, *, metadata: Mapping[str, str] | None = None, consistency: Consistency | None = None
) -> Op[StateItem]:
    """Return the item stored under ``key``; a missing key gives ``value=None, etag=None``."""
    request = state_pb2.GetStateRequest(store_name=store, key=key)
    if consistency is not None:
        request.consistency = _CONSISTENCY[consistency]
    if metadata:
        request.metadata.update(str_map(metadata))
    reply: state_pb2.GetStateResponse = yield Call("GetState", request)
    return to_item(key, reply.data, reply.etag, reply.metadata)


def get_bulk_state(
    store: str, keys: Iterable[str], *, parallelism: int = 0, metadata: Mapping[str, str] | None = None
) -> Op[Table[StateItem]]:
    """Return one StateItem per key, in the order the sidecar answers; per-key failures land in ``.error``."""
    request = state_pb2.GetBulkStateRequest(
        store_name=store, keys=list(keys), parallelism=parallelism, metadata=str_map(metadata)
    )
    reply: state_pb2.GetBulkStateResponse = yield Call("GetBulkState", request)
    return Table(to_item(i.key, i.data, i.etag, i.metadata, i.error, lazy=False) for i in reply.items)


def save_state(
    store: str,
    key: str,
    value: Any,
    *,
    etag: str | None = None,
    metadata: Mapping[str, str] | None = None,
    concurrency: Concurrency | None = None,
    consistency: Consistency | None = None,
) -> Op[None]:
    """Save ``value`` under ``key``; with ``etag`` only if it still matches (else Conflict)."""
    request = state_pb2.SaveStateRequest(store_name=store)
    _fill_item(request.states.add(), key, value, etag, metadata, _options(concurrency, consistency))
    try:
        yield Call("SaveState", request)
    except Conflict as error:
        raise _conflict(error, etag) from None


def _bulk_items(request: state_pb2.SaveStateRequest, items: BulkItems, metadata: Mapping[str, str] | None) -> None:
    states = request.states
    if isinstance(items, Mapping):
        for k, v in items.items():
            _fill_item(states.add(), k, v, None, metadata, None)
        return
    for entry in items:
        if isinstance(entry, StateItem):
            meta = {**(metadata or {}), **entry.metadata}
            _fill_item(states.add(), entry.key, entry.value, entry.etag, meta, None)
        else:
            key, value = entry
            _fill_item(states.add(), key, value, None, metadata, None)


def save_bulk_state(store: str, items: BulkItems, *, metadata: Mapping[str, str] | None = None) -> Op[None]:
    """Save many items in one call: a ``{key: value}`` mapping, ``(key, value)`` pairs, or StateItems (etags kept)."""
    request = state_pb2.SaveStateRequest(store_name=store)
    _bulk_items(request, items, metadata)
    if request.states:
        yield Call("SaveState", request)


def delete_state(
    store: str,
    key: str,
    *,
    etag: str | None = None,
    metadata: Mapping[str, str] | None = None,
    concurrency: Concurrency | None = None,
    consistency: Consistency | None = None,
) -> Op[None]:
    """Delete ``key``; with ``etag`` only if it still matches (else Conflict). Deleting a missing key succeeds."""
    request = state_pb2.DeleteStateRequest(
        store_name=store, key=key, metadata=str_map(metadata), options=_options(concurrency, consistency)
    )
    if etag is not None:
        request.etag.value = etag
    try:
        yield Call("DeleteState", request)
    except Conflict as error:
        raise _conflict(error, etag) from None


def delete_bulk_state(
    store: str, keys: Iterable[str | StateItem], *, metadata: Mapping[str, str] | None = None
) -> Op[None]:
    """Delete many keys in one call; StateItems make each delete conditional on their etag."""
    states = []
    for entry in keys:
        item = common_pb2.StateItem(key=entry if isinstance(entry, str) else entry.key, metadata=str_map(metadata))
        if isinstance(entry, StateItem) and entry.etag is not None:
            item.etag.value = entry.etag
        states.append(item)
    if states:
        yield Call("DeleteBulkState", state_pb2.DeleteBulkStateRequest(store_name=store, states=states))


def execute_state_transaction(
    store: str, operations: Iterable[Operation], *, metadata: Mapping[str, str] | None = None
) -> Op[None]:
    """Apply Upsert/Delete operations atomically: any etag mismatch fails them all."""
    ops = []
    for op in operations:
        if isinstance(op, Upsert):
            request = state_item_pb(op.key, op.value, op.etag, op.metadata)
            ops.append(state_pb2.TransactionalStateOperation(operationType="upsert", request=request))
        else:
            request = common_pb2.StateItem(key=op.key, metadata=str_map(op.metadata))
            if op.etag is not None:
                request.etag.value = op.etag
            ops.append(state_pb2.TransactionalStateOperation(operationType="delete", request=request))
    tx = state_pb2.ExecuteStateTransactionRequest(storeName=store, operations=ops, metadata=str_map(metadata))
    yield Call("ExecuteStateTransaction", tx)


def query_state(
    store: str,
    query: Mapping[str, Any] | str,
    *,
    page_size: int | None = None,
    max_pages: int | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Op[Table[StateItem]]:
    """Run a state query and follow page tokens until the last page (or ``max_pages``); return all items."""
    body: dict[str, Any] = json.loads(query) if isinstance(query, str) else dict(query)
    page = dict(body.get("page") or {})
    if page_size is not None:
        page["limit"] = page_size
    items: list[StateItem] = []
    pages = 0
    while True:
        if page:
            body["page"] = page
        request = state_pb2.QueryStateRequest(store_name=store, query=json.dumps(body), metadata=str_map(metadata))
        reply: state_pb2.QueryStateResponse = yield Call("QueryStateAlpha1", request)
        items.extend(to_item(r.key, r.data, r.etag, {}, r.error, lazy=False) for r in reply.results)
        pages += 1
        done = not reply.token or reply.token == page.get("token") or not reply.results
        if done or (max_pages and pages >= max_pages):
            return Table(items)
        page["token"] = reply.token
