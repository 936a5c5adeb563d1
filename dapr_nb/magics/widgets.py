"""Hand the magics' connection to a live widget (``%dapr subscribe``, ``config watch``, ``workflow timeline``).

Rule: the widget gets the session's resolved :class:`~dapr_nb.transport.config.Settings` and makes its own
client from them, so ``%dapr connect`` to another sidecar never closes a client a running widget reads
with. A widget that cannot reach the sidecar on its first try is closed and the cell fails with one line;
once connected it reconnects by itself. Every widget is tracked, so ``%unload_ext`` closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from IPython.core.error import UsageError

from ..transport.config import Settings
from .registry import Context
from .session import Closable

W = TypeVar("W", bound="Closable")


def first_line(text: str) -> str:
    """Return the first line of an error text (widgets keep full texts; a magic shows one line)."""
    return text.strip().splitlines()[0] if text.strip() else text


def open_widget(ctx: Context, what: str, make: Callable[[Settings, float], W]) -> W:
    """Make a widget for the current connection, given ≤ ``Dapr.timeout`` to connect; fail the cell in one line."""
    timeout = ctx.config.timeout if ctx.config.timeout > 0 else 30.0
    try:
        widget = make(ctx.session.settings(ctx.config), timeout)
    except ConnectionError as error:
        raise UsageError(f"%dapr {what}: {first_line(str(error))}") from None
    ctx.session.track(widget)
    return widget
