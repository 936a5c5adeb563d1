"""``%dapr publish``, ``%%dapr publish`` (the body is the data) and ``%dapr subscribe`` (a live TopicStream widget).

Rule: DATA is a JSON value, text, or ``:name``; a DataFrame is always published one event per row.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..core.results import BulkPublishResult
from .parsing import parse_pairs
from .registry import Context, command
from .render import frame_records, is_frame, note
from .widgets import open_widget

if TYPE_CHECKING:
    from ..widgets.topic_stream import TopicStream


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("pubsub", metavar="PUBSUB")
    p.add_argument("topic", metavar="TOPIC")


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--content-type", metavar="T", help="the event's content type")
    p.add_argument("--meta", metavar="k=v", nargs="+", action="extend", help="publish metadata")
    p.add_argument("--bulk", action="store_true", help="the data is a list: one event per element")


def _line_args(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("data", metavar="DATA", help="the event: JSON, text or :name (a DataFrame: one event per row)")
    _options(p)


def _cell_args(p: argparse.ArgumentParser) -> None:
    _common(p)
    _options(p)


def _send(ctx: Context, args: argparse.Namespace, data: Any) -> BulkPublishResult | None:
    pubsub, topic = ctx.text(args.pubsub, "PUBSUB"), ctx.text(args.topic, "TOPIC")
    metadata = parse_pairs(args.meta)
    if is_frame(data):
        data, args.bulk = frame_records(data), True
    if args.bulk:
        if not isinstance(data, list):
            raise UsageError("%dapr publish --bulk: the data must be a JSON array (one event per element)")
        result = ctx.client.publish_bulk(pubsub, topic, data, content_type=args.content_type, metadata=metadata)
        failed = f", {len(result.failed)} refused" if result.failed else ""
        note(f"published {result.published} events to {pubsub}/{topic}{failed}")
        return result
    ctx.client.publish(pubsub, topic, data, content_type=args.content_type, metadata=metadata)
    note(f"published 1 event to {pubsub}/{topic}")
    return None


@command(
    "publish", "publish an event", _line_args,
    examples=[
        "%dapr publish pubsub orders '{\"id\": 1}' --meta ttlInSeconds=60",
        "%dapr publish pubsub orders :df   # one event per row",
    ],
)  # fmt: skip
def publish_line(ctx: Context, args: argparse.Namespace) -> BulkPublishResult | None:
    """Publish DATA (one event, or with --bulk one per element)."""
    return _send(ctx, args, ctx.value(args.data))


@command(
    "publish", "publish the cell body", _cell_args, cell=True, body="the JSON/YAML payload, or a list with --bulk",
    examples=[
        '%%dapr publish pubsub orders --bulk\n[{"id": 1}, {"id": 2}]',
        '%%dapr publish pubsub orders --content-type application/json\n{"id": 3}',
    ],
)  # fmt: skip
def publish_cell(ctx: Context, args: argparse.Namespace) -> BulkPublishResult | None:
    """Publish the cell body (JSON/YAML; with --bulk a list, one event per element)."""
    return _send(ctx, args, ctx.body_value("publish"))


def _subscribe_args(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--dead-letter", metavar="T", help="dead-letter topic")
    p.add_argument("--max", type=int, metavar="N", help="stop after N messages")


@command(
    "subscribe", "live view of a topic", _subscribe_args,
    examples=["view = %dapr subscribe pubsub orders --max 10\nview.wait(10); view.counts; view.to_frame()"],
)  # fmt: skip
def subscribe(ctx: Context, args: argparse.Namespace) -> TopicStream:
    """Open a streaming subscription and return its live TopicStream (acks each message ``success``)."""
    from ..widgets.api import stream

    if args.max is not None and args.max < 1:
        raise UsageError("%dapr subscribe: --max must be at least 1")
    pubsub, topic = ctx.text(args.pubsub, "PUBSUB"), ctx.text(args.topic, "TOPIC")
    return open_widget(
        ctx, f"subscribe {pubsub}/{topic}",
        lambda settings, timeout: stream(
            pubsub, topic, dead_letter_topic=args.dead_letter, max_messages=args.max, client=settings,
            max_rows=ctx.config.max_rows, connect_timeout=timeout,
        ),
    )  # fmt: skip
