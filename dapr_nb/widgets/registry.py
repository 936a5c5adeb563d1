"""One live widget per (kind, source, creating cell): re-running a cell closes the widget it made before.

Rule: every live widget registers here when it starts; registering a key that is taken closes the
previous holder first; an ``atexit`` hook closes whatever is still open when the kernel stops, so
no reader thread or stream outlives its kernel.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Hashable
from typing import Protocol

log = logging.getLogger("dapr_nb")


class Closable(Protocol):
    """Anything with ``close()``."""

    def close(self) -> None: ...


_live: dict[Hashable, Closable] = {}
_lock = threading.Lock()
_hooked = False


def cell_id() -> str | None:
    """Return the id of the notebook cell being executed (JupyterLab/Notebook send it), else None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent()
    except Exception:  # older/newer kernels: no parent available
        return None
    metadata = parent.get("metadata") or {} if isinstance(parent, dict) else {}
    value = metadata.get("cellId") or metadata.get("cell_id")
    return str(value) if value else None


def register(key: Hashable, widget: Closable) -> None:
    """Make ``widget`` the live holder of ``key``, closing the previous holder (another object) first."""
    global _hooked
    with _lock:
        previous = _live.get(key)
        _live[key] = widget
        if not _hooked:
            atexit.register(close_all)
            _hooked = True
    if previous is not None and previous is not widget:
        _close(previous)


def unregister(key: Hashable, widget: Closable) -> None:
    """Forget ``widget`` if it still holds ``key``."""
    with _lock:
        if _live.get(key) is widget:
            del _live[key]


def live() -> dict[Hashable, Closable]:
    """Return a copy of the live widgets by key."""
    with _lock:
        return dict(_live)


def close_all() -> None:
    """Close every live widget (the atexit hook; also useful in tests)."""
    with _lock:
        widgets = list(_live.values())
        _live.clear()
    for widget in widgets:
        _close(widget)


def _close(widget: Closable) -> None:
    try:
        widget.close()
    except Exception:
        log.exception("dapr_nb: closing %r failed", widget)
