"""``%dapr state get|set|delete`` and ``%%dapr state query|set|transaction``.

Rule: reads return DataFrames (a row per key: ``key``, the flattened value columns, ``etag``); writes
return None and show a one-line note. A DataFrame given as ``:name`` is written row by row, keyed by its
``key`` column (else its index).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

from ..core.state import Delete, Operation, Upsert
from .registry import Context, command
from .render import is_frame, note


def _state_frame(items: Any) -> Any:
    from ..frames import state_frame

    frame = state_frame(items)
    return frame[[c for c in frame.columns if c != "etag"] + ["etag"]]


def _get_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("keys", metavar="KEY", nargs="+")


@command(
    "state get", "read keys into a DataFrame", _get_args,
    examples=["df = %dapr state get statestore order-1 order-2", "%dapr state get {{store}} {{key}}"],
)  # fmt: skip
def get(ctx: Context, args: argparse.Namespace) -> Any:
    """Read keys into a DataFrame, in the order given."""
    store = ctx.text(args.store, "STORE")
    keys = list(dict.fromkeys(ctx.text(k, "KEY") for k in args.keys))
    found = {item.key: item for item in ctx.client.get_bulk_state(store, keys)}
    return _state_frame([found[k] for k in keys if k in found])


def _set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", metavar="VALUE", nargs="?", help="JSON, text or :name (leave out: KEY is :name of a dict)")
    p.add_argument("--ttl", type=int, metavar="S", help="expire after S seconds")
    p.add_argument("--etag", metavar="E", help="write only if the stored etag is still E")
    p.add_argument("--first-write", action="store_true", help="first-write-wins concurrency")


@command(
    "state set", "save one value", _set_args,
    examples=[
        "%dapr state set statestore order-1 '{\"total\": 12}' --ttl 60",
        "%dapr state set statestore {{key}} :order --etag 3",
        "%dapr state set statestore :orders   # a dict or DataFrame, in bulk",
    ],
)  # fmt: skip
def set_line(ctx: Context, args: argparse.Namespace) -> None:
    """Save one value (or, with ``STORE :items``, a bound dict/DataFrame in bulk)."""
    store = ctx.text(args.store, "STORE")
    if args.value is None:
        items = ctx.value(args.key)
        if not (isinstance(items, Mapping) or is_frame(items)):
            raise UsageError("%dapr state set: give KEY VALUE, or one :name bound to a dict or DataFrame")
        return _save_bulk(ctx, store, items)
    metadata = {"ttlInSeconds": str(args.ttl)} if args.ttl is not None else None
    ctx.client.save_state(
        store,
        ctx.text(args.key, "KEY"),
        ctx.value(args.value),
        etag=args.etag,
        metadata=metadata,
        concurrency="first-write" if args.first_write else None,
    )
    note(f"saved {args.key!r} in {store}")
    return None


def _save_bulk(ctx: Context, store: str, items: Any) -> None:
    if is_frame(items):
        from ..frames import save_frame

        frame = items if "key" in items.columns else items.reset_index(names="key")
        count = save_frame(ctx.client, store, frame, "key")
    elif isinstance(items, Mapping):
        ctx.client.save_bulk_state(store, {str(k): v for k, v in items.items()})
        count = len(items)
    else:
        raise UsageError("%%dapr state set: the body must be a JSON object of key → value (or :name of a DataFrame)")
    note(f"saved {count} keys in {store}")


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")


@command(
    "state set", "save many values", _store_arg, cell=True, body="{key: value, ...} in JSON/YAML, or :name",
    examples=['%%dapr state set statestore\n{"a": 1, "b": {"x": 2}}'],
)  # fmt: skip
def set_cell(ctx: Context, args: argparse.Namespace) -> None:
    """Save the body's ``{key: value}`` object (or a bound DataFrame) in bulk."""
    _save_bulk(ctx, ctx.text(args.store, "STORE"), ctx.body_value("state set"))


def _delete_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("key", metavar="KEY")
    p.add_argument("--etag", metavar="E", help="delete only if the stored etag is still E")


@command(
    "state delete", "delete a key", _delete_args,
    examples=["%dapr state delete statestore order-1", "%dapr state delete statestore order-1 --etag 3"],
)  # fmt: skip
def delete(ctx: Context, args: argparse.Namespace) -> None:
    """Delete one key."""
    store = ctx.text(args.store, "STORE")
    ctx.client.delete_state(store, ctx.text(args.key, "KEY"), etag=args.etag)
    note(f"deleted {args.key!r} from {store}")


def _query_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("--page-size", type=int, metavar="N", help="rows per page (all pages are read)")


@command(
    "state query", "query into a DataFrame", _query_args, cell=True, body="a JSON/YAML query (filter, sort, page)",
    examples=['%%dapr state query statestore -o rows --page-size 100\n{"filter": {"EQ": {"status": "open"}}}'],
)  # fmt: skip
def query(ctx: Context, args: argparse.Namespace) -> Any:
    """Run the body's query and return every page as one DataFrame."""
    body = ctx.body_value("state query")
    if not isinstance(body, Mapping):
        raise UsageError("%%dapr state query: the body must be a query object (filter, sort, page)")
    items = ctx.client.query_state(ctx.text(args.store, "STORE"), dict(body), page_size=args.page_size)
    return _state_frame(items)


def _operation(index: int, entry: Any) -> Operation:
    """Turn ``{"operation": "upsert", "request": {"key", "value", "etag"}}`` (or the flat form) into an op."""
    if not isinstance(entry, Mapping):
        raise UsageError(f"%%dapr state transaction: operation {index} must be an object")
    kind = str(entry.get("operation") or entry.get("op") or "").lower()
    request = entry.get("request", entry)
    if not isinstance(request, Mapping) or "key" not in request:
        raise UsageError(f"%%dapr state transaction: operation {index} needs a key")
    key, etag = str(request["key"]), request.get("etag")
    metadata = {str(k): str(v) for k, v in (request.get("metadata") or {}).items()}
    if kind == "upsert":
        return Upsert(key, request.get("value"), None if etag is None else str(etag), metadata)
    if kind == "delete":
        return Delete(key, None if etag is None else str(etag), metadata)
    raise UsageError(f"%%dapr state transaction: operation {index} must be 'upsert' or 'delete', not {kind!r}")


@command(
    "state transaction", "apply operations atomically", _store_arg, cell=True,
    body="[{operation: upsert|delete, request: {key, value, etag}}, ...]",
    examples=[
        "%%dapr state transaction statestore\n"
        '[{"operation": "upsert", "request": {"key": "a", "value": 1}},\n'
        ' {"operation": "delete", "request": {"key": "b"}}]'
    ],
)  # fmt: skip
def transaction(ctx: Context, args: argparse.Namespace) -> None:
    """Apply the body's list of upsert/delete operations atomically."""
    body = ctx.body_value("state transaction")
    if not isinstance(body, list) or not body:
        raise UsageError("%%dapr state transaction: the body must be a non-empty list of operations")
    operations = [_operation(i, entry) for i, entry in enumerate(body)]
    store = ctx.text(args.store, "STORE")
    ctx.client.execute_state_transaction(store, operations)
    note(f"applied {len(operations)} operations in {store}")
