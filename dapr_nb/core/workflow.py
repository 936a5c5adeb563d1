"""Workflow management over TaskHubSidecarService: start, inspect, wait, signal, control, purge, list, history, rerun.

Rule: payloads are JSON strings on the wire (as the SDK writes them) and Python values here; a payload is
sent whenever it ``is not None`` — falsy values like ``0`` or ``{}`` are real payloads. Waits declare the
caller's timeout as the operation's :class:`~.ops.Deadline` (retries included) and as their call's own
deadline, in place of the client's default one.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from . import _durabletask as dt
from .ops import WORKFLOW, Call, Deadline, Op
from .results import FailureDetails, HistoryEvent, Table, WorkflowState
from .values import from_json_text, json_text

if TYPE_CHECKING:  # message types only: the modules themselves load lazily, through _durabletask
    from dapr.ext.workflow._durabletask.internal import history_events_pb2, orchestration_pb2
    from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as service_pb2

_PREFIX = "ORCHESTRATION_STATUS_"


def _call(method: str, request: Message, timeout: float | None = None) -> Call:
    return Call(method, request, service=WORKFLOW, timeout=timeout)


def _string(message: Message, field: str) -> str | None:
    return getattr(message, field).value if message.HasField(field) else None


def _time(message: Message, field: str) -> _dt.datetime | None:
    if not message.HasField(field):
        return None
    stamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=_dt.timezone.utc) if (stamp.seconds or stamp.nanos) else None


def to_state(state: orchestration_pb2.WorkflowState) -> WorkflowState:
    """Build a WorkflowState from the proto, keeping every field."""
    status = dt.protos().OrchestrationStatus.Name(state.workflowStatus).removeprefix(_PREFIX)
    failure = None
    if state.HasField("failureDetails") and (state.failureDetails.errorType or state.failureDetails.errorMessage):
        f = state.failureDetails
        failure = FailureDetails(f.errorType, f.errorMessage, _string(f, "stackTrace") or "")
    return WorkflowState(
        instance_id=state.instanceId,
        name=state.name,
        status=status,
        created_at=_time(state, "createdTimestamp"),
        last_updated_at=_time(state, "lastUpdatedTimestamp"),
        input=from_json_text(_string(state, "input")),
        output=from_json_text(_string(state, "output")),
        custom_status=from_json_text(_string(state, "customStatus")),
        failure=failure,
        execution_id=_string(state, "executionId") or "",
        completed_at=_time(state, "completedTimestamp"),
        parent_instance_id=_string(state, "parentInstanceId") or "",
        tags=dict(state.tags),
        scheduled_start_at=_time(state, "scheduledStartTimestamp"),
        started_at=_time(state, "startedAt"),
    )


def start_workflow(
    name: str,
    input: Any = None,  # noqa: A002 - the SDK's word
    *,
    instance_id: str | None = None,
    start_at: _dt.datetime | None = None,
    tags: Mapping[str, str] | None = None,
) -> Op[str]:
    """Schedule a new instance of workflow ``name``; return its instance id (a uuid4 hex unless given)."""
    pb = dt.protos()
    request = pb.CreateInstanceRequest(instanceId=instance_id or uuid.uuid4().hex, name=name, tags=dict(tags or {}))
    request.version.value = ""
    payload = json_text(input)
    if payload is not None:
        request.input.value = payload
    if start_at is not None:
        request.scheduledStartTimestamp.FromDatetime(start_at.astimezone(_dt.timezone.utc).replace(tzinfo=None))
    reply: service_pb2.CreateInstanceResponse = yield _call("StartInstance", request)
    return str(reply.instanceId)


def _get(method: str, instance_id: str, payloads: bool, timeout: float | None) -> Op[WorkflowState | None]:
    request = dt.protos().GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=payloads)
    if timeout is not None:
        yield Deadline(timeout)
    reply: service_pb2.GetInstanceResponse = yield _call(method, request, timeout)
    return to_state(reply.workflowState) if reply.exists else None


def get_workflow(instance_id: str, *, fetch_payloads: bool = True) -> Op[WorkflowState | None]:
    """Return the instance's state, or None when no such instance exists."""
    return (yield from _get("GetInstance", instance_id, fetch_payloads, None))


def wait_for_workflow_start(
    instance_id: str, *, timeout: float = 60.0, fetch_payloads: bool = False
) -> Op[WorkflowState | None]:
    """Wait until the instance leaves PENDING (DeadlineExceeded after ``timeout`` s); None if it does not exist."""
    return (yield from _get("WaitForInstanceStart", instance_id, fetch_payloads, timeout))


def wait_for_workflow_completion(
    instance_id: str, *, timeout: float = 60.0, fetch_payloads: bool = True
) -> Op[WorkflowState | None]:
    """Wait until the instance finishes (DeadlineExceeded after ``timeout`` s); None if it does not exist."""
    return (yield from _get("WaitForInstanceCompletion", instance_id, fetch_payloads, timeout))


def raise_workflow_event(instance_id: str, event_name: str, data: Any = None) -> Op[None]:
    """Deliver an external event; ``data`` is sent whenever it is not None (``0``, ``""``, ``{}`` included)."""
    request = dt.protos().RaiseEventRequest(instanceId=instance_id, name=event_name)
    payload = json_text(data)
    if payload is not None:
        request.input.value = payload
    yield _call("RaiseEvent", request)


def suspend_workflow(instance_id: str, reason: str | None = None) -> Op[None]:
    """Suspend (pause) a running instance."""
    request = dt.protos().SuspendRequest(instanceId=instance_id)
    if reason is not None:
        request.reason.value = reason
    yield _call("SuspendInstance", request)


def resume_workflow(instance_id: str, reason: str | None = None) -> Op[None]:
    """Resume a suspended instance."""
    request = dt.protos().ResumeRequest(instanceId=instance_id)
    if reason is not None:
        request.reason.value = reason
    yield _call("ResumeInstance", request)


def terminate_workflow(instance_id: str, output: Any = None, *, recursive: bool = True) -> Op[None]:
    """Terminate an instance (and, with ``recursive``, its children); ``output`` sent when not None."""
    request = dt.protos().TerminateRequest(instanceId=instance_id, recursive=recursive)
    payload = json_text(output)
    if payload is not None:
        request.output.value = payload
    yield _call("TerminateInstance", request)


def purge_workflow(instance_id: str, *, recursive: bool = True, force: bool = False) -> Op[int]:
    """Delete a finished instance's state and history; return how many instances were deleted."""
    request = dt.protos().PurgeInstancesRequest(instanceId=instance_id, recursive=recursive)
    if force:
        request.force = True
    reply: service_pb2.PurgeInstancesResponse = yield _call("PurgeInstances", request)
    return int(reply.deletedInstanceCount)


def list_workflow_ids(*, page_size: int | None = None) -> Op[list[str]]:
    """Return every instance id, following continuation tokens."""
    pb = dt.protos()
    ids: list[str] = []
    token: str | None = None
    while True:
        request = pb.ListInstanceIDsRequest()
        if page_size is not None:
            request.pageSize = page_size
        if token:
            request.continuationToken = token
        reply: service_pb2.ListInstanceIDsResponse = yield _call("ListInstanceIDs", request)
        ids.extend(reply.instanceIds)
        if not reply.HasField("continuationToken") or not reply.continuationToken or reply.continuationToken == token:
            return ids
        token = reply.continuationToken


def to_event(event: history_events_pb2.HistoryEvent) -> HistoryEvent:
    """Build a HistoryEvent from the proto (payload fields as a dict)."""
    from google.protobuf.json_format import MessageToDict

    kind = event.WhichOneof("eventType") or ""
    data = MessageToDict(getattr(event, kind)) if kind else {}
    stamp = event.timestamp.ToDatetime(tzinfo=_dt.timezone.utc) if event.HasField("timestamp") else None
    return HistoryEvent(event.eventId, stamp, kind, str(data.get("name", "")), data)


def get_workflow_history(instance_id: str) -> Op[Table[HistoryEvent]]:
    """Return the committed history of an instance, oldest first (NotFound when unknown or purged)."""
    request = dt.protos().GetInstanceHistoryRequest(instanceId=instance_id)
    reply: service_pb2.GetInstanceHistoryResponse = yield _call("GetInstanceHistory", request)
    return Table(to_event(e) for e in reply.events)


def rerun_workflow(
    source_instance_id: str,
    event_id: int,
    *,
    new_instance_id: str | None = None,
    input: Any = None,  # noqa: A002 - the SDK's word
    overwrite_input: bool = False,
) -> Op[str]:
    """Re-run a finished instance from history event ``event_id``; return the new instance id."""
    request = dt.protos().RerunWorkflowFromEventRequest(
        sourceInstanceID=source_instance_id, eventID=event_id, overwriteInput=overwrite_input
    )
    if new_instance_id is not None:
        request.newInstanceID = new_instance_id
    if overwrite_input:
        payload = json_text(input)
        if payload is not None:
            request.input.value = payload
    reply: service_pb2.RerunWorkflowFromEventResponse = yield _call("RerunWorkflowFromEvent", request)
    return str(reply.newInstanceID)
