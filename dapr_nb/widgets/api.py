"""Cell-friendly constructors: ``dapr_nb.stream(...)``, ``dapr_nb.timeline(id)``, ``board()``, ``watch_config()``.

Rule: each returns a live widget that displays itself as the cell's value; re-running the cell closes
the widget the previous run made (see :mod:`dapr_nb.widgets.registry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .board import WorkflowBoard
    from .config_watch import ConfigWatch
    from .timeline import WorkflowTimeline
    from .topic_stream import TopicStream


def stream(pubsub: str, topic: str, *, ack: Any = "success", **options: Any) -> TopicStream:
    """Subscribe to ``topic`` and show its messages live; ``ack`` is success/retry/drop or a handler."""
    from .topic_stream import TopicStream

    return TopicStream(pubsub, topic, ack=ack, **options)


def timeline(instance_id: str, **options: Any) -> WorkflowTimeline:
    """Show a workflow instance as a live timeline (it stops updating once the instance finishes)."""
    from .timeline import WorkflowTimeline

    return WorkflowTimeline(instance_id, **options)


def board(**options: Any) -> WorkflowBoard:
    """Show workflow status counts and a live instance list."""
    from .board import WorkflowBoard

    return WorkflowBoard(**options)


def watch_config(store: str, keys: Sequence[str] = (), **options: Any) -> ConfigWatch:
    """Show configuration values of ``keys`` (all when empty) and their changes live."""
    from .config_watch import ConfigWatch

    return ConfigWatch(store, keys, **options)
