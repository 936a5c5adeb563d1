"""daprd's HTTP routes for jobs: ``POST|GET|DELETE /v1.0/jobs/{name}`` and ``/v1.0-alpha1/jobs/{name}``.

Thin: JSON <-> ``Job`` messages <-> blocks.jobs. The POST body is daprd's ``JobHTTPRequest``
(``schedule``, ``dueTime``, ``ttl``, ``repeats``, ``data`` as any JSON value, ``failurePolicy``,
``overwrite``); the name belongs in the URL only. GET answers the job as protojson, with ``data`` as
an ``Any`` holding a ``google.protobuf.Value``; POST and DELETE answer 204.
"""

from __future__ import annotations

import base64
from typing import Any

from dapr.proto.runtime.v1 import jobs_pb2
from google.protobuf import json_format

from .. import gojson
from ..blocks import jobs
from ..errors import invalid
from ..runtime import Runtime
from ._base import Request, Response, Route, malformed, no_content, parse_proto

VALUE_TYPE = "type.googleapis.com/google.protobuf.Value"


def _parse_job(request: Request) -> tuple[jobs_pb2.Job, bool]:
    """Turn a JobHTTPRequest body into (Job message, overwrite) as daprd's protojson decoding does."""
    body = request.json_object()
    overwrite = body.pop("overwrite", False)
    if not isinstance(overwrite, bool) and overwrite is not None:
        raise malformed(f"proto: invalid value for bool field overwrite: {overwrite!r}")
    if "data" in body:
        body["data"] = {"@type": VALUE_TYPE, "value": body["data"]}
    return parse_proto(body, jobs_pb2.Job), bool(overwrite)


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
    rendered = gojson.dumps(job_json(jobs.get(runtime, request.params["name"])), sort_keys=False, escape_html=False)
    return Response(200, rendered.encode(), "application/json")


def delete_job(runtime: Runtime, request: Request) -> Response:
    """Delete a job."""
    jobs.delete(runtime, request.params["name"])
    return no_content()


def job_json(job: jobs_pb2.Job) -> dict[str, Any]:
    """Render a Job as daprd's protojson fields (json names, unset fields omitted); numbers are Go's on encoding.

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
    return rendered


ROUTES = [
    route
    for version in ("/v1.0-alpha1", "/v1.0")
    for route in (
        Route("POST", f"{version}/jobs/{{name}}", schedule_job),
        Route("GET", f"{version}/jobs/{{name}}", get_job),
        Route("DELETE", f"{version}/jobs/{{name}}", delete_job),
    )
]
