"""Jobs (scheduler): schedule, get, list, delete, delete by prefix — stable RPCs, Alpha1 on older sidecars.

Rule: job data travels as ``google.protobuf.Any``: str and JSON values as a StringValue, bytes as a
BytesValue; reading unpacks by type and decodes by the value rule.
"""

from __future__ import annotations

from typing import Any

from dapr.proto.runtime.v1 import jobs_pb2
from google.protobuf import any_pb2, wrappers_pb2

from .ops import Call, Op, fallback
from .results import Job, Table
from .values import sniff, to_json


def pack(data: Any) -> any_pb2.Any | None:
    """Pack job data into an Any (None → no data)."""
    if data is None:
        return None
    packed = any_pb2.Any()
    if isinstance(data, (bytes, bytearray)):
        packed.Pack(wrappers_pb2.BytesValue(value=bytes(data)))
    else:
        packed.Pack(wrappers_pb2.StringValue(value=data if isinstance(data, str) else to_json(data).decode()))
    return packed


def unpack(packed: any_pb2.Any) -> Any:
    """Unpack job data from an Any written by any client."""
    if not packed.type_url and not packed.value:
        return None
    if packed.Is(wrappers_pb2.StringValue.DESCRIPTOR):
        text = wrappers_pb2.StringValue()
        packed.Unpack(text)
        return sniff(text.value.encode())
    if packed.Is(wrappers_pb2.BytesValue.DESCRIPTOR):
        raw = wrappers_pb2.BytesValue()
        packed.Unpack(raw)
        return raw.value
    return sniff(packed.value)


def to_job(job: jobs_pb2.Job) -> Job:
    """Build a Job result from the proto."""
    return Job(
        name=job.name,
        schedule=job.schedule,
        repeats=job.repeats if job.HasField("repeats") else None,
        due_time=job.due_time,
        ttl=job.ttl,
        data=unpack(job.data) if job.HasField("data") else None,
    )


def schedule_job(
    name: str,
    *,
    schedule: str | None = None,
    repeats: int | None = None,
    due_time: str | None = None,
    ttl: str | None = None,
    data: Any = None,
    overwrite: bool = False,
) -> Op[None]:
    """Schedule a job: a cron/``@every`` ``schedule`` and/or a ``due_time``; ``overwrite`` replaces one."""
    if schedule is None and due_time is None:
        raise ValueError("a job needs a schedule or a due_time")
    job = jobs_pb2.Job(name=name, data=pack(data))
    if schedule is not None:
        job.schedule = schedule
    if repeats is not None:
        job.repeats = repeats
    if due_time is not None:
        job.due_time = due_time
    if ttl is not None:
        job.ttl = ttl
    request = jobs_pb2.ScheduleJobRequest(job=job, overwrite=overwrite)
    yield from fallback(Call("ScheduleJob", request), lambda: Call("ScheduleJobAlpha1", request))


def get_job(name: str) -> Op[Job]:
    """Return the job called ``name`` (NotFound when there is none)."""
    request = jobs_pb2.GetJobRequest(name=name)
    reply: jobs_pb2.GetJobResponse = yield from fallback(Call("GetJob", request), lambda: Call("GetJobAlpha1", request))
    return to_job(reply.job)


def delete_job(name: str) -> Op[None]:
    """Delete the job called ``name``."""
    request = jobs_pb2.DeleteJobRequest(name=name)
    yield from fallback(Call("DeleteJob", request), lambda: Call("DeleteJobAlpha1", request))


def list_jobs() -> Op[Table[Job]]:
    """Return every job of this app."""
    reply: jobs_pb2.ListJobsResponse | jobs_pb2.ListJobsResponseAlpha1 = yield from fallback(
        Call("ListJobs", jobs_pb2.ListJobsRequest()), lambda: Call("ListJobsAlpha1", jobs_pb2.ListJobsRequestAlpha1())
    )
    return Table(to_job(job) for job in reply.jobs)


def delete_jobs_by_prefix(prefix: str) -> Op[None]:
    """Delete every job whose name starts with ``prefix``."""
    yield from fallback(
        Call("DeleteJobsByPrefix", jobs_pb2.DeleteJobsByPrefixRequest(name_prefix=prefix)),
        lambda: Call("DeleteJobsByPrefixAlpha1", jobs_pb2.DeleteJobsByPrefixRequestAlpha1(name_prefix=prefix)),
    )
