"""The jobs API as daprd's universal layer runs it in front of the scheduler (``pkg/api/universal/jobs.go``).

Rules: jobs are ``dapr.proto.runtime.v1.Job`` messages on both surfaces (HTTP bodies are converted
first, as daprd does with protojson). daprd checks only that a job, its name and a schedule or due
time are present (INVALID_ARGUMENT, ``DAPR_SCHEDULER_*EMPTY``); everything else is the scheduler's
verdict, which daprd wraps as ``failed to <verb> job due to: rpc error: code = <Code> desc = <msg>``
- INTERNAL for validation failures and unknown jobs, ALREADY_EXISTS for a taken name without
``overwrite``. Every scheduler error carries ErrorInfo metadata ``appID`` and ``namespace``. A job
stored without a failure policy reads back with the scheduler's default (constant, 1 s, 3 retries).
Due jobs are never delivered: the sandbox has no app channel (see :mod:`dapr_nb.sandbox.jobs`).
"""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import jobs_pb2

from ..errors import DaprApiError, invalid
from ..jobs import JobExistsError, JobScheduler, JobTiming, JobValidationError
from ..runtime import Runtime

NAMESPACE = "default"
"""daprd's namespace in self-hosted mode (``NAMESPACE`` unset)."""


def _meta(runtime: Runtime) -> dict[str, str]:
    return {"appID": runtime.app_id, "namespace": NAMESPACE}


def _empty(runtime: Runtime, what: str, reason: str) -> DaprApiError:
    return invalid(f"{what} is empty", reason, metadata=_meta(runtime))


def _scheduler_error(runtime: Runtime, verb: str, reason: str, code: str, message: str) -> DaprApiError:
    status = grpc.StatusCode.ALREADY_EXISTS if code == "AlreadyExists" else grpc.StatusCode.INTERNAL
    message = f"failed to {verb} job due to: rpc error: code = {code} desc = {message}"
    return DaprApiError(status, message, reason, metadata=_meta(runtime))


def key_prefix(runtime: Runtime) -> str:
    """Return the scheduler key prefix of this app's jobs."""
    return f"app||{NAMESPACE}||{runtime.app_id}||"


def scheduler(runtime: Runtime) -> JobScheduler:
    """Return the runtime's job scheduler."""
    found: JobScheduler = runtime.services["jobs"]
    return found


def schedule(runtime: Runtime, job: jobs_pb2.Job | None, overwrite: bool) -> None:
    """Store ``job`` (a Job message, or None when the request had none) as ScheduleJob does."""
    if job is None:
        raise _empty(runtime, "Job", "DAPR_SCHEDULER_EMPTY")
    if not job.name:
        raise _empty(runtime, "Name", "DAPR_SCHEDULER_JOB_NAME_EMPTY")
    if not job.HasField("schedule") and not job.HasField("due_time"):
        raise _empty(runtime, "Schedule", "DAPR_SCHEDULER_SCHEDULE_EMPTY")
    timing = JobTiming(
        schedule=job.schedule if job.HasField("schedule") else None,
        due_time=job.due_time if job.HasField("due_time") else None,
        ttl=job.ttl if job.HasField("ttl") else None,
        repeats=job.repeats if job.HasField("repeats") else None,
    )
    stored = jobs_pb2.Job()
    stored.CopyFrom(job)
    stored.ClearField("name")
    if not stored.HasField("failure_policy") or stored.failure_policy.WhichOneof("policy") is None:
        stored.failure_policy.constant.interval.seconds = 1
        stored.failure_policy.constant.max_retries = 3
    try:
        scheduler(runtime).add(key_prefix(runtime) + job.name, timing, stored.SerializeToString(), overwrite)
    except JobValidationError as exc:
        raise _scheduler_error(runtime, "schedule", "DAPR_SCHEDULER_SCHEDULE_JOB", "Unknown", str(exc)) from exc
    except JobExistsError as exc:
        raise _scheduler_error(runtime, "schedule", "DAPR_SCHEDULER_SCHEDULE_JOB", "AlreadyExists", str(exc)) from exc


def get(runtime: Runtime, name: str) -> jobs_pb2.Job:
    """Return the stored Job message named ``name``, as GetJob does."""
    if not name:
        raise _empty(runtime, "Name", "DAPR_SCHEDULER_JOB_NAME_EMPTY")
    try:
        found = scheduler(runtime).get(key_prefix(runtime) + name)
    except JobValidationError as exc:
        raise _scheduler_error(runtime, "get", "DAPR_SCHEDULER_GET_JOB", "Unknown", str(exc)) from exc
    if found is None:
        raise _scheduler_error(runtime, "get", "DAPR_SCHEDULER_GET_JOB", "NotFound", f"job not found: {name}")
    return _job(name, found.payload)


def delete(runtime: Runtime, name: str) -> None:
    """Delete a job as DeleteJob does (a missing job is not an error)."""
    if not name:
        raise _empty(runtime, "Name", "DAPR_SCHEDULER_JOB_NAME_EMPTY")
    try:
        scheduler(runtime).delete(key_prefix(runtime) + name)
    except JobValidationError as exc:
        raise _scheduler_error(runtime, "delete", "DAPR_SCHEDULER_DELETE_JOB", "Unknown", str(exc)) from exc


def delete_by_prefix(runtime: Runtime, name_prefix: str) -> int:
    """Delete this app's jobs whose names start with ``name_prefix`` (all of them for ``""``)."""
    try:
        return scheduler(runtime).delete_prefix(key_prefix(runtime), name_prefix)
    except JobValidationError as exc:
        raise _scheduler_error(runtime, "delete", "DAPR_SCHEDULER_DELETE_JOB", "Unknown", str(exc)) from exc


def list_jobs(runtime: Runtime) -> list[jobs_pb2.Job]:
    """Return this app's jobs as Job messages, ordered by name."""
    prefix = key_prefix(runtime)
    return [_job(stored.key[len(prefix) :], stored.payload) for stored in scheduler(runtime).list(prefix)]


def _job(name: str, payload: bytes) -> jobs_pb2.Job:
    job = jobs_pb2.Job.FromString(payload)
    job.name = name
    return job
