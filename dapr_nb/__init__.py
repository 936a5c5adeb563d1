"""dapr_nb: work with Dapr from a notebook.

Imports stay light: ``Client``, ``AsyncClient`` and the error classes load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .core.ops import RetryPolicy
    from .core.state import Delete, Upsert
    from .errors import Conflict, DaprError, NotFound, SidecarUnavailable, Unauthenticated
    from .widgets.api import board, stream, timeline, watch_config

_LAZY = {
    "Client": "client",
    "AsyncClient": "client",
    "RetryPolicy": "core.ops",
    "Upsert": "core.state",
    "Delete": "core.state",
    "DaprError": "errors",
    "Conflict": "errors",
    "NotFound": "errors",
    "SidecarUnavailable": "errors",
    "Unauthenticated": "errors",
    "stream": "widgets.api",
    "timeline": "widgets.api",
    "board": "widgets.api",
    "watch_config": "widgets.api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dapr_nb' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext dapr_nb``: register the ``%dapr`` / ``%%dapr`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext dapr_nb``: close what the magics opened and unregister them."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "DaprError",
    "Delete",
    "NotFound",
    "RetryPolicy",
    "SidecarUnavailable",
    "Unauthenticated",
    "Upsert",
    "__version__",
    "board",
    "stream",
    "timeline",
    "watch_config",
    "load_ipython_extension",
    "unload_ipython_extension",
]
