"""The thin gRPC face of the engine: ``TaskHubSidecarService`` over ``WorkflowHub``, plus ``WorkflowService``.

Rules: translate messages and errors only; every semantic decision lives in the hub and engine.
GetWorkItems streams and the blocking waits (WaitForInstance*, StartInstance's bounded start wait)
are coroutines on the gRPC server's event loop and hold no thread; a cancelled call just stops
awaiting. Everything that writes runs on the server's thread pool (``asyncio.to_thread``).
RPCs not overridden here answer UNIMPLEMENTED (the generated base class does that).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, wrappers_pb2

from ...core._durabletask import SERVICE_NAME, add_servicer, servicer_base
from ..grpc_api._base import AioContext, streaming, unary, unary_async, waiting
from ..wakeup import Waker
from .engine import DONE_FOR_WAITERS, PENDING
from .hub import WorkflowHub
from .messages import opt_str, pb

log = logging.getLogger("dapr_nb.sandbox.workflow")

PING_INTERVAL = 10.0
"""Seconds of stream idleness before a healthPing goes to workers that advertise HEALTH_PING."""
START_WAIT = 2.0
"""StartInstance waits at most this long for a connected worker to start the instance (daprd waits too)."""
STATEFUL_HISTORY = 2
HEALTH_PING = 3


class TaskHubServicer(servicer_base()):  # type: ignore[misc]
    """TaskHubSidecarService served from a WorkflowHub."""

    def __init__(self, hub: WorkflowHub, ping_interval: float = PING_INTERVAL) -> None:
        self._hub = hub
        self._ping_interval = ping_interval

    def Hello(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Answer the worker's (re)connect and keep-alive probe."""
        return empty_pb2.Empty()

    @unary_async  # its wait is bounded (START_WAIT): it takes no slot of the stream cap
    async def StartInstance(self, request: Any, context: AioContext) -> Any:
        """Create an instance; wait briefly for a connected worker to start it (unless scheduled)."""
        instance_id = await asyncio.to_thread(self._hub.start, request)
        if self._hub.connected_workers and not request.HasField("scheduledStartTimestamp"):
            theirs = context.time_remaining()
            limit = START_WAIT if theirs is None else min(START_WAIT, theirs)
            await self._hub.wait(instance_id, lambda inst: inst.status != PENDING, False, limit)
        return pb.CreateInstanceResponse(instanceId=instance_id)

    def GetInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Return the instance's state (``exists`` false when unknown)."""
        return self._hub.get(request.instanceId, request.getInputsAndOutputs)

    @waiting
    async def WaitForInstanceStart(self, request: Any, context: AioContext) -> Any:
        """Wait until the instance leaves PENDING or the client's deadline passes."""
        return await self._wait(request, context, lambda inst: inst.status != PENDING)

    @waiting
    async def WaitForInstanceCompletion(self, request: Any, context: AioContext) -> Any:
        """Wait until the instance finishes or the client's deadline passes."""
        return await self._wait(request, context, lambda inst: inst.status in DONE_FOR_WAITERS)

    async def _wait(self, request: Any, context: AioContext, done: Callable[[Any], bool]) -> Any:
        response = await self._hub.wait(request.instanceId, done, request.getInputsAndOutputs, context.time_remaining())
        if response is None:
            if self._hub.closed:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "the sandbox is shutting down")
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded waiting for the workflow")
        return response

    @unary
    def RaiseEvent(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Queue an external event (discarded for unknown or finished instances)."""
        self._hub.raise_event(request.instanceId, request.name, opt_str(request, "input"))
        return pb.RaiseEventResponse()

    @unary
    def TerminateInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Terminate an instance, recursively when asked."""
        self._hub.terminate(request.instanceId, opt_str(request, "output"), request.recursive)
        return pb.TerminateResponse()

    @unary
    def SuspendInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Suspend an instance (visible as SUSPENDED when this returns)."""
        self._hub.suspend(request.instanceId, opt_str(request, "reason"))
        return pb.SuspendResponse()

    @unary
    def ResumeInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Resume a suspended instance."""
        self._hub.resume(request.instanceId, opt_str(request, "reason"))
        return pb.ResumeResponse()

    @unary
    def PurgeInstances(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Purge one finished instance (recursively, or forcibly, when asked)."""
        if request.WhichOneof("request") != "instanceId":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "multi-instance purge is not implemented")
        count = self._hub.purge(request.instanceId, request.recursive, bool(request.force))
        return pb.PurgeInstancesResponse(deletedInstanceCount=count, isComplete=wrappers_pb2.BoolValue(value=True))

    @unary
    def ListInstanceIDs(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Return a page of instance ids in creation order."""
        token = request.continuationToken if request.HasField("continuationToken") else None
        size = request.pageSize if request.HasField("pageSize") and request.pageSize > 0 else None
        ids, next_token = self._hub.list_ids(token, size)
        return pb.ListInstanceIDsResponse(instanceIds=ids, continuationToken=next_token)

    @unary
    def GetInstanceHistory(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Return the committed history (NOT_FOUND for unknown or purged instances)."""
        return pb.GetInstanceHistoryResponse(events=self._hub.history(request.instanceId))

    @unary
    def RerunWorkflowFromEvent(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Start a new instance from a finished one's history up to an event."""
        return pb.RerunWorkflowFromEventResponse(newInstanceID=self._hub.rerun(request))

    @streaming
    async def GetWorkItems(self, request: Any, context: AioContext) -> AsyncIterator[Any]:
        """Stream work items to a worker until it disconnects; its unanswered items are handed out again."""
        capabilities = set(request.capabilities)
        hub = self._hub
        waker = Waker()
        stream = hub.open_stream(STATEFUL_HISTORY in capabilities, HEALTH_PING in capabilities, waker.set)
        try:
            last_sent = time.monotonic()
            while not stream.closed and not hub.closed:
                waker.clear()
                item = hub.poll_item(stream)
                if item is None:
                    idle = time.monotonic() - last_sent
                    if idle < self._ping_interval:
                        await waker.wait(self._ping_interval - idle)
                        continue
                    if not stream.pings:
                        last_sent = time.monotonic()
                        continue
                    item = pb.WorkItem(healthPing=pb.HealthPing())
                yield item
                last_sent = time.monotonic()
        finally:
            hub.close_stream(stream)

    @unary
    def CompleteOrchestratorTask(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Apply a worker's orchestration turn result."""
        self._hub.complete_turn(request)
        return pb.CompleteTaskResponse()

    def CompleteWorkflowTask(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Alias of CompleteOrchestratorTask (1.19 name)."""
        return self.CompleteOrchestratorTask(request, context)

    @unary
    def CompleteActivityTask(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Record an activity result."""
        self._hub.complete_activity(request)
        return pb.CompleteTaskResponse()


class WorkflowService:
    """The sandbox's workflow engine as a runtime service: ``register_grpc``, ``connected_workers``, ``close``."""

    def __init__(self, path: Path, app_id: str = "") -> None:
        self.hub = WorkflowHub(path, app_id)

    def register_grpc(self, server: grpc.Server) -> list[str]:
        """Add TaskHubSidecarService to the server; return its full name for reflection."""
        add_servicer(TaskHubServicer(self.hub), server)
        return [SERVICE_NAME]

    @property
    def connected_workers(self) -> int:
        """Return the number of open GetWorkItems streams."""
        return self.hub.connected_workers

    def close(self) -> None:
        """Release streams and waiters and close the database."""
        self.hub.close()
