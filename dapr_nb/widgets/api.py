"""Cell-friendly constructors: ``dapr_nb.stream(...)``, ``dapr_nb.timeline(id)``, ``board()``, ``watch_config()``.

Rule: each constructs a live widget (no I/O), starts it and waits for its first attempt, and returns it to
display itself as the cell's value; re-running the cell closes the widget the previous run made (see
:mod:`dapr_nb.widgets.registry`). ``client`` is a Client (borrowed),
a Settings (the widget makes and closes its own client — what the ``%dapr`` magics pass) or None (DAPR_*).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .connection import Source

W = TypeVar("W", bound="LiveWidget")
P = TypeVar("P", bound="Poller")

if TYPE_CHECKING:
    from .board import WorkflowBoard
    from .config_watch import ConfigWatch
    from .live import LiveWidget
    from .poller import Poller
    from .stream_pump import Policy
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
    """Start a streaming widget and wait for its first connection; close it and raise ConnectionError if none comes."""
    if not widget.start().wait_connected(timeout, retry=False):
        errors = list(widget.errors)
        widget.close()
        reason = errors[-1].strip().splitlines()[0] if errors else f"{what}: no answer within {timeout:g} s"
        raise ConnectionError(reason)
    return widget


def _polled(widget: P, live: bool, timeout: float) -> P:
    """Start a polling widget and wait (≤ ``timeout`` s) for its first poll; ``live=False``: poll once, no thread.

    A failed first poll does not raise: its reason is the last of ``errors`` (and ``error``) — the magics fail
    the cell with it; from Python the widget keeps retrying.
    """
    if live:
        widget.start().wait_connected(timeout, retry=False)
    else:
        widget.refresh()
    return widget


def timeline(
    instance_id: str, *, client: Source = None, live: bool = True, connect_timeout: float = 10.0, **options: Any
) -> WorkflowTimeline:
    """Show a workflow instance as a live timeline (it stops updating once the instance finishes).

    With ``live=False`` it reads once and follows nothing. Other options: ``poll``, ``aggregate_at``,
    ``interval``, ``key``.
    """
    from .timeline import WorkflowTimeline

    return _polled(WorkflowTimeline(instance_id, client=client, **options), live, connect_timeout)


def board(
    *,
    name: str | None = None,
    statuses: Sequence[str] = (),
    client: Source = None,
    live: bool = True,
    connect_timeout: float = 10.0,
    **options: Any,
) -> WorkflowBoard:
    """Show workflow status counts and a live instance list, optionally only workflow ``name`` / ``statuses``.

    With ``live=False`` it lists once. Other options: ``max_rows``, ``poll``, ``interval``, ``key``.
    """
    from .board import WorkflowBoard

    return _polled(WorkflowBoard(name=name, statuses=statuses, client=client, **options), live, connect_timeout)


def watch_config(
    store: str, keys: Sequence[str] = (), *, client: Source = None, connect_timeout: float = 10.0, **options: Any
) -> ConfigWatch:
    """Show configuration values of ``keys`` (all when empty) and their changes live, once subscribed."""
    from .config_watch import ConfigWatch

    return _connected(ConfigWatch(store, keys, client=client, **options), f"watching {store}", connect_timeout)
