"""Durable workflow engine for the sandbox: the Durable Task ``TaskHubSidecarService`` the official SDK talks to.

Layout: ``messages`` (protobuf values; the protos come from ``core._durabletask``), ``engine`` (pure
semantics), ``store`` (SQLite), ``dispatcher`` (streams, queues, timers), ``live`` (the live state and
how it changes), ``hub`` (lock, durability, client and worker commands), ``servicer`` (gRPC face and
``WorkflowService``). Import lazily: loading the protos costs ~0.6 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .servicer import WorkflowService

__all__ = ["WorkflowService"]


def __getattr__(name: str) -> Any:
    if name == "WorkflowService":
        from .servicer import WorkflowService

        return WorkflowService
    raise AttributeError(name)
