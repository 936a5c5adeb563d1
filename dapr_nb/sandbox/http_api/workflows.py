"""daprd's HTTP workflow route ``GET /v1.0[-alpha1|-beta1]/workflows/{component}/{instanceID}``.

The answer is daprd's ``GetWorkflowResponse`` in protojson (``instanceID``, ``workflowName``,
``createdAt``, ``lastUpdatedAt``, ``runtimeStatus`` as daprd's status word, ``properties`` with
``dapr.workflow.input``/``output``/``custom_status`` and the failure's type, message and stack
trace); an unknown instance is daprd's legacy 404 ``ERR_INSTANCE_ID_NOT_FOUND``. The component
name in the path is not checked, as in daprd.
"""

from __future__ import annotations

from typing import Any

import grpc
from dapr.proto.runtime.v1 import workflow_pb2
from google.protobuf import json_format

from .. import gojson
from ..errors import DaprApiError
from ..runtime import Runtime
from ._base import Request, Response, Route

STATUS_WORDS = ("RUNNING", "COMPLETED", "CONTINUED_AS_NEW", "FAILED", "CANCELED", "TERMINATED", "PENDING", "SUSPENDED")
"""daprd's word for each OrchestrationStatus number (``pkg/runtime/wfengine/client.go``)."""


def _not_found(instance_id: str) -> DaprApiError:
    message = f"unable to find workflow with the provided instance ID: {instance_id}"
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
    service = runtime.services.get("workflows")
    found = service.hub.get(instance_id, True) if service is not None else None
    if found is None or not found.exists:
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


ROUTES: list[Route] = [
    Route("GET", f"{version}/workflows/{{component}}/{{instanceID}}", get_workflow)
    for version in ("/v1.0-alpha1", "/v1.0-beta1", "/v1.0")
]
