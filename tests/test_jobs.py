"""Jobs: daprd's scheduler API through the official SDK (sync and aio), the raw stubs and the HTTP routes."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from dapr.clients.exceptions import DaprGrpcError
from dapr.proto.runtime.v1 import dapr_pb2_grpc, jobs_pb2
from google.protobuf import any_pb2, wrappers_pb2

from dapr_nb.sandbox import Sandbox

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
META = {"appID": "sandbox", "namespace": "default"}


@pytest.fixture
def stub(sandbox: Sandbox) -> Iterator[Any]:
    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        yield dapr_pb2_grpc.DaprStub(channel)


def http(sb: Sandbox, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(sb.http_endpoint + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def string_any(text: str) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(wrappers_pb2.StringValue(value=text))
    return packed


def test_schedule_get_delete_through_the_sdk(dapr_client: Any, unique: Callable[[str], str]) -> None:
    from dapr.clients.grpc._jobs import ConstantFailurePolicy, Job

    name = unique("job")
    job = Job(name=name, schedule="@every 1h", repeats=3, due_time="10s", ttl="1h", data=string_any("payload"))
    dapr_client.schedule_job(job)
    got = dapr_client.get_job(name)
    assert (got.name, got.schedule, got.repeats, got.due_time, got.ttl) == (name, "@every 1h", 3, "10s", "1h")
    value = wrappers_pb2.StringValue()
    assert got.data.Unpack(value) and value.value == "payload"
    # the scheduler's default failure policy: constant, every second, three retries
    assert isinstance(got.failure_policy, ConstantFailurePolicy)
    assert (got.failure_policy.max_retries, got.failure_policy.interval_seconds) == (3, 1)

    dapr_client.delete_job(name)
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.get_job(name)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == f"failed to get job due to: rpc error: code = NotFound desc = job not found: {name}"
    assert info.value.error_code() == "DAPR_SCHEDULER_GET_JOB"
    assert info.value.status_details().error_info["metadata"] == META
    dapr_client.delete_job(name)  # deleting a missing job is not an error


def test_failure_policies_round_trip(dapr_client: Any, unique: Callable[[str], str]) -> None:
    from dapr.clients.grpc._jobs import ConstantFailurePolicy, DropFailurePolicy, Job

    dropped, constant = unique("drop"), unique("constant")
    dapr_client.schedule_job(Job(name=dropped, due_time="1h", failure_policy=DropFailurePolicy()))
    policy = ConstantFailurePolicy(max_retries=7, interval_seconds=5)
    dapr_client.schedule_job(Job(name=constant, schedule="0 0 * * * *", failure_policy=policy))
    assert isinstance(dapr_client.get_job(dropped).failure_policy, DropFailurePolicy)
    got = dapr_client.get_job(constant).failure_policy
    assert (got.max_retries, got.interval_seconds) == (7, 5)


def test_existing_name_needs_overwrite(dapr_client: Any, unique: Callable[[str], str]) -> None:
    from dapr.clients.grpc._jobs import Job

    name = unique("dup")
    dapr_client.schedule_job(Job(name=name, schedule="@daily"))
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.schedule_job(Job(name=name, schedule="@hourly"))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert info.value.details() == (
        "failed to schedule job due to: rpc error: code = AlreadyExists desc = "
        f"job already exists: 'app||default||sandbox||{name}'"
    )
    assert info.value.error_code() == "DAPR_SCHEDULER_SCHEDULE_JOB"
    dapr_client.schedule_job(Job(name=name, schedule="@hourly"), overwrite=True)
    assert dapr_client.get_job(name).schedule == "@hourly"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"schedule": "* * * * *"}, "job failed validation: expected exactly 6 fields, found 5: [* * * * *]"),
        ({"schedule": "@every 1d"}, 'job failed validation: failed to parse duration @every 1d: time: unknown unit "d" '
                                    'in duration "1d"'),  # fmt: skip
        ({"schedule": "@fortnightly"}, "job failed validation: unrecognized descriptor: @fortnightly"),
        ({"schedule": "0 0 25 * * *"}, "job failed validation: end of range (25) above maximum (23): 25"),
        ({"due_time": "tomorrow"}, "job failed validation: due time format not recognized"),
        ({"due_time": "R2/PT1M"}, "job failed validation: repeats not supported for due time"),
        ({"due_time": "10s", "repeats": 2}, "job failed validation: job must have a schedule to repeat"),
        ({"schedule": "@daily", "repeats": 0}, "job failed validation: defined repeats must be greater than 0"),
        ({"due_time": "10s", "ttl": "1h"}, "job failed validation: job must have a schedule to have a ttl"),
        ({"schedule": "@daily", "ttl": "soon"}, "job failed validation: ttl format not recognized"),
        ({"schedule": "@daily", "due_time": "2030-01-01T00:00:00Z", "ttl": "2029-01-01T00:00:00Z"},
         "job failed validation: ttl must be greater than due time"),  # fmt: skip
    ],
)
def test_scheduler_validation(stub: Any, unique: Callable[[str], str], fields: dict[str, Any], why: str) -> None:
    job = jobs_pb2.Job(name=unique("bad"), **fields)
    with pytest.raises(grpc.RpcError) as info:
        stub.ScheduleJob(jobs_pb2.ScheduleJobRequest(job=job), timeout=10)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == f"failed to schedule job due to: rpc error: code = Unknown desc = {why}"


def test_job_names_are_validated_like_the_scheduler(dapr_client: Any) -> None:
    from dapr.clients.exceptions import DaprGrpcError
    from dapr.clients.grpc._jobs import Job

    with pytest.raises(DaprGrpcError) as info:
        dapr_client.schedule_job(Job(name="bad/name", due_time="1h"))
    assert info.value.details() == (
        "failed to schedule job due to: rpc error: code = Unknown desc = job name is invalid "
        f'"app||default||sandbox||bad/name": {SUBDOMAIN_MSG}'
    )
    dapr_client.schedule_job(Job(name="Fine_Name: with-spaces", due_time="1h"))  # _ : - and spaces are dropped first
    dapr_client.delete_job("Fine_Name: with-spaces")


@pytest.mark.parametrize(
    ("request_", "message", "reason"),
    [
        (jobs_pb2.ScheduleJobRequest(), "Job is empty", "DAPR_SCHEDULER_EMPTY"),
        (jobs_pb2.ScheduleJobRequest(job=jobs_pb2.Job(schedule="@daily")), "Name is empty",
         "DAPR_SCHEDULER_JOB_NAME_EMPTY"),  # fmt: skip
        (jobs_pb2.ScheduleJobRequest(job=jobs_pb2.Job(name="x")), "Schedule is empty", "DAPR_SCHEDULER_SCHEDULE_EMPTY"),
    ],
)
def test_daprd_checks_before_the_scheduler(stub: Any, request_: Any, message: str, reason: str) -> None:
    from dapr.clients.exceptions import DaprGrpcError

    with pytest.raises(grpc.RpcError) as info:
        stub.ScheduleJob(request_, timeout=10)
    error = DaprGrpcError(info.value)
    assert (error.code(), error.details(), error.error_code()) == (grpc.StatusCode.INVALID_ARGUMENT, message, reason)
    assert error.status_details().error_info["metadata"] == META


def test_list_and_delete_by_prefix_with_alpha1_twins(stub: Any, unique: Callable[[str], str]) -> None:
    prefix = unique("batch")
    for index, rpc in enumerate((stub.ScheduleJob, stub.ScheduleJobAlpha1, stub.ScheduleJob)):
        rpc(jobs_pb2.ScheduleJobRequest(job=jobs_pb2.Job(name=f"{prefix}-{index}", due_time="1h")), timeout=10)
    def mine() -> list[str]:
        return [j.name for j in stub.ListJobs(jobs_pb2.ListJobsRequest(), timeout=10).jobs if j.name.startswith(prefix)]

    listed = mine()
    assert listed == [f"{prefix}-0", f"{prefix}-1", f"{prefix}-2"]
    alpha = stub.ListJobsAlpha1(jobs_pb2.ListJobsRequestAlpha1(), timeout=10).jobs
    assert [j.name for j in alpha if j.name.startswith(prefix)] == listed
    assert stub.GetJobAlpha1(jobs_pb2.GetJobRequest(name=f"{prefix}-1"), timeout=10).job.due_time == "1h"

    stub.DeleteJobAlpha1(jobs_pb2.DeleteJobRequest(name=f"{prefix}-1"), timeout=10)
    stub.DeleteJobsByPrefixAlpha1(jobs_pb2.DeleteJobsByPrefixRequestAlpha1(name_prefix=f"{prefix}-0"), timeout=10)
    assert mine() == [f"{prefix}-2"]
    stub.DeleteJobsByPrefix(jobs_pb2.DeleteJobsByPrefixRequest(name_prefix=prefix), timeout=10)
    assert mine() == []


def test_due_jobs_stay_stored_because_nothing_delivers_them(dapr_client: Any, unique: Callable[[str], str]) -> None:
    from dapr.clients.grpc._jobs import Job

    name = unique("past")
    dapr_client.schedule_job(Job(name=name, due_time="2020-01-01T00:00:00Z"))
    assert dapr_client.get_job(name).due_time == "2020-01-01T00:00:00Z"


def test_jobs_survive_restart_and_kill(
    make_sandbox: Callable[..., Sandbox], point_sdk: Callable[[Sandbox], None]
) -> None:
    from dapr.clients import DaprClient
    from dapr.clients.grpc._jobs import Job

    sb = make_sandbox()
    point_sdk(sb)
    with DaprClient() as client:
        client.schedule_job(Job(name="durable", schedule="@every 5m", data=string_any("kept")))
    sb.kill()
    sb.restart()
    point_sdk(sb)
    with DaprClient() as client:
        got = client.get_job("durable")
    value = wrappers_pb2.StringValue()
    assert got.schedule == "@every 5m" and got.data.Unpack(value) and value.value == "kept"


def test_aio_client(sdk_env: Sandbox, unique: Callable[[str], str]) -> None:
    from dapr.aio.clients import DaprClient
    from dapr.clients.grpc._jobs import Job

    name = unique("aio")

    async def run() -> Any:
        async with DaprClient() as client:
            await client.schedule_job(Job(name=name, schedule="@weekly"))
            job = await client.get_job(name)
            await client.delete_job(name)
            return job

    assert asyncio.run(run()).schedule == "@weekly"


@pytest.mark.parametrize("version", ["v1.0", "v1.0-alpha1"])
def test_http_routes(sandbox: Sandbox, dapr_client: Any, unique: Callable[[str], str], version: str) -> None:
    name = unique("http")
    body = {"schedule": "@every 1m", "dueTime": "1h", "repeats": 5, "data": {"n": 1, "s": "x"}}
    assert http(sandbox, "POST", f"/{version}/jobs/{name}", body) == (204, b"")
    status, raw = http(sandbox, "GET", f"/{version}/jobs/{name}")
    assert status == 200
    assert json.loads(raw) == {
        "name": name,
        "schedule": "@every 1m",
        "dueTime": "1h",
        "repeats": 5,
        "data": {"@type": "type.googleapis.com/google.protobuf.Value", "value": {"n": 1, "s": "x"}},
        "failurePolicy": {"constant": {"interval": "1s", "maxRetries": 3}},
    }
    assert dapr_client.get_job(name).data.type_url == "type.googleapis.com/google.protobuf.Value"

    status, raw = http(sandbox, "POST", f"/{version}/jobs/{name}", {"schedule": "@daily"})
    assert status == 409 and json.loads(raw)["errorCode"] == "DAPR_SCHEDULER_SCHEDULE_JOB"
    assert http(sandbox, "POST", f"/{version}/jobs/{name}", {"schedule": "@daily", "overwrite": True})[0] == 204
    assert http(sandbox, "DELETE", f"/{version}/jobs/{name}") == (204, b"")
    status, raw = http(sandbox, "GET", f"/{version}/jobs/{name}")
    assert status == 500
    assert json.loads(raw)["errorCode"] == "DAPR_SCHEDULER_GET_JOB"
    assert json.loads(raw)["message"].endswith(f"job not found: {name}")


def test_http_errors(sandbox: Sandbox) -> None:
    status, raw = http(sandbox, "POST", "/v1.0/jobs/x", {"name": "x", "schedule": "@daily"})
    assert (status, json.loads(raw)["errorCode"]) == (400, "DAPR_SCHEDULER_JOB_NAME")
    assert json.loads(raw)["message"] == "Set the job name in the url only"
    status, raw = http(sandbox, "POST", "/v1.0/jobs/x", raw=b"")
    assert (status, json.loads(raw)["message"]) == (400, "Schedule is empty")
    status, raw = http(sandbox, "POST", "/v1.0/jobs/x", raw=b"{oops")
    assert (status, json.loads(raw)["errorCode"]) == (400, "ERR_MALFORMED_REQUEST")
    status, raw = http(sandbox, "POST", "/v1.0/jobs/x", {"schedule": "nonsense"})
    assert status == 500 and json.loads(raw)["errorCode"] == "DAPR_SCHEDULER_SCHEDULE_JOB"
