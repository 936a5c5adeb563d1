"""Live notebook views of Dapr: topic streams, configuration watches, workflow timelines and boards.

Rule: pure HTML/SVG rendering (``render``, ``timeline_render``) and pure models (``stream_model``,
``timeline_model``) are kept apart from the widget classes; every widget is a
:class:`~dapr_nb.widgets.live.LiveWidget` (thread, reconnect loop, stop, registry, client, Batcher written
once) that supplies only its fetch and its apply. Worker threads never touch a widget — the
:class:`~dapr_nb.widgets.batch.Batcher` moves their updates onto the kernel's event loop. Constructors do no
I/O; the cell helpers in :mod:`dapr_nb.widgets.api` construct, then start.
Importing this package is light: ipywidgets loads with the first widget class used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .board import WorkflowBoard
    from .config_watch import ConfigWatch
    from .timeline import WorkflowTimeline
    from .topic_stream import TopicStream

_LAZY = {
    "TopicStream": "topic_stream",
    "ConfigWatch": "config_watch",
    "WorkflowTimeline": "timeline",
    "WorkflowBoard": "board",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dapr_nb.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = ["ConfigWatch", "TopicStream", "WorkflowBoard", "WorkflowTimeline"]
