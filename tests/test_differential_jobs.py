"""Jobs on the sandbox (its own scheduler) and on daprd (the Scheduler service): schedule, get, delete, errors."""

from __future__ import annotations

from typing import Any

from dapr.proto.runtime.v1 import jobs_pb2
from differential import OnBoth, Sidecar, Stub, as_dict, http, raises, same, scrub, token
from google.protobuf import any_pb2, wrappers_pb2


def grpc_jobs(sidecar: Sidecar) -> Any:
    """Schedule a job with data, get it, schedule it again (with and without overwrite), delete, get again."""
    name = token("job")
    data = any_pb2.Any()
    data.Pack(wrappers_pb2.StringValue(value="payload"))
    job = jobs_pb2.Job(name=name, schedule="@every 1h", repeats=3, due_time="1h", ttl="2h", data=data)
    with Stub(sidecar) as dapr:
        scheduled = as_dict(dapr.ScheduleJobAlpha1(jobs_pb2.ScheduleJobRequest(job=job)))
        got = as_dict(dapr.GetJobAlpha1(jobs_pb2.GetJobRequest(name=name)))
        again = raises(lambda: dapr.ScheduleJobAlpha1(jobs_pb2.ScheduleJobRequest(job=job)))
        overwrite = as_dict(dapr.ScheduleJobAlpha1(jobs_pb2.ScheduleJobRequest(job=job, overwrite=True)))
        deleted = as_dict(dapr.DeleteJobAlpha1(jobs_pb2.DeleteJobRequest(name=name)))
        missing = raises(lambda: dapr.GetJobAlpha1(jobs_pb2.GetJobRequest(name=name)))
        delete_missing = raises(lambda: dapr.DeleteJobAlpha1(jobs_pb2.DeleteJobRequest(name=name)))
        def schedule(**fields: Any) -> Any:
            return raises(lambda: dapr.ScheduleJobAlpha1(jobs_pb2.ScheduleJobRequest(job=jobs_pb2.Job(**fields))))

        no_name = schedule(schedule="@daily")
        no_schedule = schedule(name=name)
        bad_schedule = schedule(name=name, schedule="often")
        bad_due = schedule(name=name, due_time="later")
        bad_name = schedule(name="a||b", schedule="@daily")
    answer = {
        "scheduled": scheduled,
        "got": got,
        "again": again,
        "overwrite": overwrite,
        "deleted": deleted,
        "missing": missing,
        "delete_missing": delete_missing,
        "no_name": no_name,
        "no_schedule": no_schedule,
        "bad_schedule": bad_schedule,
        "bad_due": bad_due,
        "bad_name": bad_name,
    }
    return scrub(answer, {name: "NAME", f"||{sidecar.app_id}||": "||APP||"})


def test_grpc_jobs(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(grpc_jobs)
    assert on_sandbox["got"]["job"]["name"] == "NAME" and "no error" not in on_sandbox["missing"]
    same(on_sandbox, on_daprd)


def http_jobs(sidecar: Sidecar) -> Any:
    """The HTTP jobs routes: schedule with JSON data, get, delete, get a missing job, malformed bodies."""
    name = token("job")
    base = f"/v1.0-alpha1/jobs/{name}"
    answer = {
        "schedule": http(sidecar, "POST", base, {"schedule": "@every 1h", "data": {"n": 1}, "dueTime": "1h"}),
        "get": http(sidecar, "GET", base),
        "again": http(sidecar, "POST", base, {"schedule": "@every 1h"}),
        "delete": http(sidecar, "DELETE", base),
        "missing": http(sidecar, "GET", base),
        "malformed": http(sidecar, "POST", base, "{"),
        "no_schedule": http(sidecar, "POST", base, {}),
        "bad_schedule": http(sidecar, "POST", base, {"schedule": "often"}),
    }
    return scrub(answer, {name: "NAME", f"||{sidecar.app_id}||": "||APP||"})


def test_http_jobs(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(http_jobs)
    assert on_sandbox["schedule"]["status"] == 204 and on_sandbox["get"]["body"]["name"] == "NAME"
    same(on_sandbox, on_daprd)
