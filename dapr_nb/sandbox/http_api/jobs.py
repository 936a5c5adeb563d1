"""daprd's HTTP routes for jobs: ``POST|GET|DELETE /v1.0/jobs/{name}`` and ``/v1.0-alpha1/jobs/{name}``.

Thin: JSON <-> ``Job`` messages <-> blocks.jobs. The POST body is daprd's ``JobHTTPRequest``
(``schedule``, ``dueTime``, ``ttl``, ``repeats``, ``data`` as any JSON value, ``failurePolicy``,
``overwrite``); the name belongs in the URL only. GET answers the job as protojson, with ``data`` as
an ``Any`` holding a ``google.protobuf.Value``; POST and DELETE answer 204.
"""

from __future__ import annotations

import base64
from typing import Any

import grpc
from dapr.proto.runtime.v1 import jobs_pb2
from google.protobuf import json_format

from ..blocks import jobs
from ..components.bindings_localstorage import go_numbers
from ..errors import DaprApiError, invalid
from ..runtime import Runtime
from ._base import Request, Response, Route, json_response, no_content

VALUE_TYPE = "type.googleapis.com/google.protobuf.Value"


def _malformed(why: str) -> DaprApiError:
    return DaprApiError(
        grpc.StatusCode.INVALID_ARGUMENT, f"failed deserializing HTTP body: {why}", error_code="ERR_MALFORMED_REQUEST"
    )


def _parse_job(request: Request) -> tuple[Any, bool]:
    """Turn a JobHTTPRequest body into (Job message, overwrite) as daprd's protojson decoding does."""
    body: Any = request.json() if request.body.strip() else {}
    if not isinstance(body, dict):
        raise _malformed("proto: syntax error: unexpected token, expected '{'")
    body = dict(body)
    overwrite = body.pop("overwrite", False)
    if not isinstance(overwrite, bool) and overwrite is not None:
        raise _malformed(f"proto: invalid value for bool field overwrite: {overwrite!r}")
    if "data" in body:
        body["data"] = {"@type": VALUE_TYPE, "value": body["data"]}
    job = jobs_pb2.Job()
    try:
        json_format.ParseDict(body, job, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise _malformed(f"proto: {exc}") from exc
    return job, bool(overwrite)


def schedule_job(runtime: Runtime, request: Request) -> Response:
    """Schedule a job named in the URL."""
    job, overwrite = _parse_job(request)
    if job.name:
        raise invalid("Set the job name in the url only", "DAPR_SCHEDULER_JOB_NAME", metadata={"appID": runtime.app_id})
    job.name = request.params["name"].strip()
    jobs.schedule(runtime, job, overwrite)
    return no_content()


def get_job(runtime: Runtime, request: Request) -> Response:
    """Return a job as protojson."""
    return json_response(job_json(jobs.get(runtime, request.params["name"])))


def delete_job(runtime: Runtime, request: Request) -> Response:
    """Delete a job."""
    jobs.delete(runtime, request.params["name"])
    return no_content()


def job_json(job: Any) -> dict[str, Any]:
    """Render a Job as daprd's protojson (json names, unset fields omitted, integral numbers without ``.0``).

    ``data`` of a type this process cannot resolve is shown as ``{"@type", "value": <base64>}``.
    """
    try:
        rendered: dict[str, Any] = json_format.MessageToDict(job)
    except (TypeError, KeyError):
        trimmed = jobs_pb2.Job()
        trimmed.CopyFrom(job)
        trimmed.ClearField("data")
        rendered = json_format.MessageToDict(trimmed)
        rendered["data"] = {"@type": job.data.type_url, "value": base64.b64encode(job.data.value).decode()}
    result: dict[str, Any] = go_numbers(rendered)
    return result


ROUTES = [
    route
    for version in ("/v1.0-alpha1", "/v1.0")
    for route in (
        Route("POST", f"{version}/jobs/{{name}}", schedule_job),
        Route("GET", f"{version}/jobs/{{name}}", get_job),
        Route("DELETE", f"{version}/jobs/{{name}}", delete_job),
    )
]
