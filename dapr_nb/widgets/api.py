"""Cell-friendly constructors: ``dapr_nb.stream(...)``, ``dapr_nb.timeline(id)``, ``board()``, ``watch_config()``.

Rule: each returns a live widget that displays itself as the cell's value; re-running the cell closes
the widget the previous run made (see :mod:`dapr_nb.widgets.registry`). ``client`` is a Client (borrowed),
a Settings (the widget makes and closes its own client — what the ``%dapr`` magics pass) or None (DAPR_*).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .connection import Source

W = TypeVar("W")

if TYPE_CHECKING:
    from .board import WorkflowBoard
    from .config_watch import ConfigWatch
    from .stream_worker import Policy
    from .timeline import WorkflowTimeline
    from .topic_stream import TopicStream


def stream(
    pubsub: str,
    topic: str,
    *,
    ack: Policy = "success",
    dead_letter_topic: str | None = None,
    max_messages: int | None = None,
    client: Source = None,
    connect_timeout: float = 10.0,
    **options: Any,
) -> TopicStream:
    """Subscribe to ``topic`` and show its messages live; ``ack`` is success/retry/drop or a handler.

    Returns once the subscription is open (so what is published next arrives), or raises ConnectionError
    after ``connect_timeout``. Dropped messages go to ``dead_letter_topic`` when given; with ``max_messages``
    the stream closes after that many deliveries. Other options: ``metadata``, ``max_rows``, ``max_records``,
    ``interval``, ``key``.
    """
    from .topic_stream import TopicStream

    widget = TopicStream(
        pubsub, topic, ack=ack, dead_letter_topic=dead_letter_topic, max_messages=max_messages, client=client,
        **options,
    )  # fmt: skip
    return _connected(widget, f"subscribing to {pubsub}/{topic}", connect_timeout)


def _connected(widget: W, what: str, timeout: float) -> W:
    """Wait for a streaming widget's first connection; close it and raise ConnectionError (one line) if none comes."""
    if not widget.wait_connected(timeout, retry=False):  # type: ignore[attr-defined]
        errors = list(widget.errors)  # type: ignore[attr-defined]
        widget.close()  # type: ignore[attr-defined]
        reason = errors[-1].strip().splitlines()[0] if errors else f"{what}: no answer within {timeout:g} s"
        raise ConnectionError(reason)
    return widget


def timeline(instance_id: str, *, client: Source = None, **options: Any) -> WorkflowTimeline:
    """Show a workflow instance as a live timeline (it stops updating once the instance finishes)."""
    from .timeline import WorkflowTimeline

    return WorkflowTimeline(instance_id, client=client, **options)


def board(
    *, name: str | None = None, statuses: Sequence[str] = (), client: Source = None, **options: Any
) -> WorkflowBoard:
    """Show workflow status counts and a live instance list, optionally only workflow ``name`` / ``statuses``."""
    from .board import WorkflowBoard

    return WorkflowBoard(name=name, statuses=statuses, client=client, **options)


def watch_config(
    store: str, keys: Sequence[str] = (), *, client: Source = None, connect_timeout: float = 10.0, **options: Any
) -> ConfigWatch:
    """Show configuration values of ``keys`` (all when empty) and their changes live, once subscribed."""
    from .config_watch import ConfigWatch

    return _connected(ConfigWatch(store, keys, client=client, **options), f"watching {store}", connect_timeout)
