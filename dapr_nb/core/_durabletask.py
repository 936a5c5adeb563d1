"""The one adapter over the Durable Task protos vendored (privately) in ``dapr`` 1.19, for the client and the sandbox.

Rule: nothing else in ``dapr_nb`` imports ``dapr.ext.workflow._durabletask`` at run time (``TYPE_CHECKING``
imports of message types are fine); the client core builds its requests from :func:`protos`, the sandbox's
engine serves :func:`servicer_base`. Imports happen on first use because they pull in the whole workflow
extension (≈0.6 s), and ``dapr==1.19.*`` is pinned for this private path.
"""

from __future__ import annotations

import functools
from typing import Any

SERVICE_NAME = "TaskHubSidecarService"
"""The proto package is empty, so the service's full name is bare."""


@functools.cache
def protos() -> Any:
    """Return every Durable Task message and enum in one namespace (``HistoryEvent``, ``GetInstanceRequest`` …)."""
    from dapr.ext.workflow._durabletask.internal import protos as module

    return module


@functools.cache
def _grpc() -> Any:
    from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc

    return orchestrator_service_pb2_grpc


def stub_class() -> Any:
    """Return ``TaskHubSidecarServiceStub`` (the client side)."""
    return _grpc().TaskHubSidecarServiceStub


def servicer_base() -> Any:
    """Return ``TaskHubSidecarServiceServicer``, whose unoverridden RPCs answer UNIMPLEMENTED (the sandbox side)."""
    return _grpc().TaskHubSidecarServiceServicer


def add_servicer(servicer: Any, server: Any) -> None:
    """Register a TaskHubSidecarService servicer on a grpc server."""
    _grpc().add_TaskHubSidecarServiceServicer_to_server(servicer, server)
