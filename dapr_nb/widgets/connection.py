"""Which sidecar a widget talks to: a client it borrows, or one it makes (and closes) itself.

Rule: ``client=`` takes a :class:`~dapr_nb.client.Client` (borrowed: the caller closes it), a
:class:`~dapr_nb.transport.config.Settings` (the widget makes its own client for them — this is how the
``%dapr`` magics hand over their connection) or None (the widget's own client, from the DAPR_* variables).
A widget owns the client it made, so its reader thread never depends on a client someone else may close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..transport.config import Settings

if TYPE_CHECKING:
    from ..client import Client

Source = Any
"""``Client | Settings | None`` (kept loose: tests pass stand-ins for a Client)."""


def open_client(source: Source) -> tuple[Client, bool]:
    """Return ``(client, owned)`` for a widget's ``client=`` argument (see the module rule)."""
    from ..client import Client

    if source is None:
        return Client(), True
    if isinstance(source, Settings):
        return Client.from_settings(source), True
    return source, False
