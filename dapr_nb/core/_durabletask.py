"""The one adapter over the Durable Task stubs vendored (privately) in ``dapr`` 1.19.

Rule: nothing else imports ``dapr.ext.workflow._durabletask``; imports happen on first use because they
pull in the whole workflow extension (≈0.6 s), and ``dapr==1.19.*`` is pinned for this private path.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any


@functools.cache
def service_pb2() -> ModuleType:
    """Return ``orchestrator_service_pb2`` (RPC request/response messages)."""
    from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2

    return orchestrator_service_pb2


@functools.cache
def orchestration_pb2() -> ModuleType:
    """Return ``orchestration_pb2`` (WorkflowState, OrchestrationStatus, TaskFailureDetails)."""
    from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as module

    return module


@functools.cache
def stub_class() -> Any:
    """Return ``TaskHubSidecarServiceStub``."""
    from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc

    return orchestrator_service_pb2_grpc.TaskHubSidecarServiceStub
