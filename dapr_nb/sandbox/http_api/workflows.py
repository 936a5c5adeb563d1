"""daprd's HTTP workflow routes under ``/v1.0[-alpha1|-beta1]/workflows/{component}/``.

``GET {instanceID}`` answers daprd's ``GetWorkflowResponse`` in protojson (``instanceID``,
``workflowName``, ``createdAt``, ``lastUpdatedAt``, ``runtimeStatus`` as daprd's status word,
``properties`` with ``dapr.workflow.input``/``output``/``custom_status`` and the failure's type,
message and stack trace); ``POST {name}/start?instanceID=`` takes the raw body as the input and
answers 202 ``{"instanceID"}``; ``terminate``, ``raiseEvent/{event}`` (raw body), ``pause``,
``resume`` and ``purge`` answer 202 ``{}``. Errors are daprd's legacy ones, word for word, including
``no such instance exists`` for an unknown instance (daprd's words with a worker connected) and the
``%!(EXTRA …)`` its terminate and purge messages carry. The component name in the path is not checked, as in daprd.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from dapr.proto.runtime.v1 import workflow_pb2
from google.protobuf import json_format

from .. import gojson
from ..errors import DaprApiError
from ..runtime import Runtime
from ..workflow.messages import pb
from ._base import Request, Response, Route

STATUS_WORDS = ("RUNNING", "COMPLETED", "CONTINUED_AS_NEW", "FAILED", "CANCELED", "TERMINATED", "PENDING", "SUSPENDED")
"""daprd's word for each OrchestrationStatus number (``pkg/runtime/wfengine/client.go``)."""


def _not_found(instance_id: str, cause: str = "") -> DaprApiError:
    """Return daprd's ErrWorkflowInstanceNotFound; with a cause, the ``%!(EXTRA …)`` daprd's formatting adds."""
    message = f"unable to find workflow with the provided instance ID: {instance_id}"
    if cause:
        message += f"%!(EXTRA *fmt.wrapError={cause})"  # daprd formats two values into one verb
    return DaprApiError(grpc.StatusCode.NOT_FOUND, message, error_code="ERR_INSTANCE_ID_NOT_FOUND", http_status=404)


def _properties(state: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    for name, key in (("customStatus", "custom_status"), ("input", "input"), ("output", "output")):
        if state.HasField(name):
            props[f"dapr.workflow.{key}"] = getattr(state, name).value
    if state.HasField("failureDetails"):
        failure = state.failureDetails
        props["dapr.workflow.failure.error_type"] = failure.errorType
        props["dapr.workflow.failure.error_message"] = failure.errorMessage
        if failure.HasField("stackTrace"):
            props["dapr.workflow.failure.stack_trace"] = failure.stackTrace.value
    return props


def get_workflow(runtime: Runtime, request: Request) -> Response:
    """Describe one workflow instance."""
    instance_id = request.params["instanceID"]
    found = _hub(runtime).get(instance_id, True)
    if not found.exists:
        raise _not_found(instance_id)
    state = found.workflowState
    status = int(state.workflowStatus)
    answer = workflow_pb2.GetWorkflowResponse(
        instance_id=instance_id,
        workflow_name=state.name,
        created_at=state.createdTimestamp,
        last_updated_at=state.lastUpdatedTimestamp,
        runtime_status=STATUS_WORDS[status] if 0 <= status < len(STATUS_WORDS) else "UNKNOWN",
        properties=_properties(state),
    )
    body = json_format.MessageToDict(answer)
    if "properties" in body:
        body["properties"] = dict(sorted(body["properties"].items()))  # protojson writes map keys in order
    return Response(200, gojson.dumps(body, sort_keys=False, escape_html=False).encode("utf-8"), "application/json")


_VALID_ID = re.compile(r"^[\w-]+$")
ACCEPTED = Response(202, b"{}", "application/json")


def _legacy(code: str, message: str, status: int = 500) -> DaprApiError:
    grpc_code = grpc.StatusCode.INTERNAL if status == 500 else grpc.StatusCode.INVALID_ARGUMENT
    return DaprApiError(grpc_code, message, error_code=code, http_status=status)


def _hub(runtime: Runtime) -> Any:
    service = runtime.services.get("workflows")
    if service is None:
        raise _legacy("ERR_WORKFLOW_COMPONENT_NOT_FOUND", "workflow component 'dapr' does not exist", 400)
    return service.hub


NO_SUCH_INSTANCE = "no such instance exists"
"""The workflow backend's error for an unknown instance, as daprd (with a worker connected) words it."""


def _known(runtime: Runtime, instance_id: str) -> bool:
    found = _hub(runtime).get(instance_id, False)
    return bool(found.exists)


def start_workflow(runtime: Runtime, request: Request) -> Response:
    """Start workflow ``name`` with the raw body as its input."""
    name = request.params["name"]
    instance_id = request.arg("instanceID") or str(uuid.uuid4())
    if len(instance_id) > 64:
        raise _legacy("ERR_INSTANCE_ID_TOO_LONG", "workflow instance ID exceeds the max length of 64 characters", 400)
    if not _VALID_ID.match(instance_id):
        allowed = "only alphanumeric and underscore characters are allowed"
        message = f"workflow instance ID '{instance_id}' is invalid: {allowed}"
        raise _legacy("ERR_INSTANCE_ID_INVALID", message, 400)
    create = pb.CreateInstanceRequest(instanceId=instance_id, name=name)
    create.input.value = request.body.decode("utf-8", "replace")
    try:
        _hub(runtime).start(create)
    except DaprApiError as exc:
        raise _legacy("ERR_START_WORKFLOW", f"error starting workflow '{name}': {exc.message}") from exc
    body = gojson.dumps({"instanceID": instance_id}, sort_keys=False, escape_html=False)
    return Response(202, body.encode("utf-8"), "application/json")


def terminate_workflow(runtime: Runtime, request: Request) -> Response:
    """Terminate an instance (and its children)."""
    instance_id = request.params["instanceID"]
    if not _known(runtime, instance_id):
        raise _not_found(instance_id, f"failed to submit termination request:: {NO_SUCH_INSTANCE}")
    _hub(runtime).terminate(instance_id, None, True)
    return ACCEPTED


def raise_event(runtime: Runtime, request: Request) -> Response:
    """Raise event ``eventName`` with the raw body as its data."""
    instance_id, event = request.params["instanceID"], request.params["eventName"]
    if not _known(runtime, instance_id):
        cause = f"failed to raise event: {NO_SUCH_INSTANCE}"
        inner = f"failed to raise event {event} on workflow {instance_id}: {cause}"
        message = f"error raising event on workflow '{instance_id}': {inner}"
        raise _legacy("ERR_RAISE_EVENT_WORKFLOW", message)
    _hub(runtime).raise_event(instance_id, event, request.body.decode("utf-8", "replace"))
    return ACCEPTED


def _suspension(verb: str, code: str, inner: str) -> Callable[[Runtime, Request], Response]:
    """Return the handler of ``pause`` or ``resume`` (``verb``: ``pausing``/``resuming`` in daprd's words)."""

    def handler(runtime: Runtime, request: Request) -> Response:
        instance_id = request.params["instanceID"]
        if not _known(runtime, instance_id):
            message = f"error {verb}ing workflow {instance_id}: failed to {inner} workflow {instance_id}: "
            raise _legacy(code, message + f"failed to {'suspend' if inner == 'pause' else inner} workflow: "
                          + NO_SUCH_INSTANCE)  # fmt: skip
        hub = _hub(runtime)
        (hub.suspend if inner == "pause" else hub.resume)(instance_id, None)
        return ACCEPTED

    return handler


PAUSE = _suspension("paus", "ERR_PAUSE_WORKFLOW", "pause")
RESUME = _suspension("resum", "ERR_RESUME_WORKFLOW", "resume")


def purge_workflow(runtime: Runtime, request: Request) -> Response:
    """Purge a finished instance."""
    instance_id = request.params["instanceID"]
    if not _known(runtime, instance_id):
        cause = f"failed to purge workflow state: failed to fetch workflow state: {NO_SUCH_INSTANCE}"
        raise _not_found(instance_id, cause)
    try:
        _hub(runtime).purge(instance_id, True, False)
    except DaprApiError as exc:
        raise _legacy("ERR_PURGE_WORKFLOW", f"error purging workflow {instance_id}: {exc.message}") from exc
    return ACCEPTED


ROUTES: list[Route] = [
    route
    for version in ("/v1.0-alpha1", "/v1.0-beta1", "/v1.0")
    for route in (
        Route("GET", f"{version}/workflows/{{component}}/{{instanceID}}", get_workflow),
        Route("POST", f"{version}/workflows/{{component}}/{{name}}/start", start_workflow),
        Route("POST", f"{version}/workflows/{{component}}/{{instanceID}}/terminate", terminate_workflow),
        Route("POST", f"{version}/workflows/{{component}}/{{instanceID}}/raiseEvent/{{eventName}}", raise_event),
        Route("POST", f"{version}/workflows/{{component}}/{{instanceID}}/pause", PAUSE),
        Route("POST", f"{version}/workflows/{{component}}/{{instanceID}}/resume", RESUME),
        Route("POST", f"{version}/workflows/{{component}}/{{instanceID}}/purge", purge_workflow),
    )
]
