"""Workflows on the sandbox and on daprd through ``dapr.ext.workflow``: status, history events, HTTP routes."""

from __future__ import annotations

import re
import time
from typing import Any

import dapr.ext.workflow as wf
import dapr.ext.workflow._durabletask.internal.orchestrator_service_pb2_grpc as stubs
import dapr.ext.workflow._durabletask.internal.protos as pb
import grpc
import pytest
from _workflow_support import shutdown
from differential import OnBoth, Sidecar, as_dict, http, iso_time, raises, same, scrub, token


def make_runtime(sidecar: Sidecar) -> wf.WorkflowRuntime:
    """A runtime with ``diff_hello`` (one activity), ``diff_chain`` (three in turn), ``diff_failing`` (an
    activity that raises) and ``diff_waiting`` (waits for event ``approve``)."""
    host, port = sidecar.grpc_endpoint.rsplit(":", 1)
    runtime = wf.WorkflowRuntime(host=host, port=port)

    @runtime.activity(name="diff_greet")
    def greet(ctx: Any, name: str) -> str:
        return f"Hello, {name}!"

    @runtime.activity(name="diff_step")
    def step(ctx: Any, value: int) -> int:
        return value * 2 + 1

    @runtime.activity(name="diff_fail")
    def fail(ctx: Any, reason: str) -> None:
        raise ValueError(reason)

    @runtime.workflow(name="diff_failing")
    def failing(ctx: Any, reason: str) -> Any:
        yield ctx.call_activity(fail, input=reason)

    @runtime.workflow(name="diff_waiting")
    def waiting(ctx: Any, _: Any) -> Any:
        approval = yield ctx.wait_for_external_event("approve")
        return {"approved": approval}

    @runtime.workflow(name="diff_hello")
    def hello(ctx: Any, name: str) -> Any:
        greeting = yield ctx.call_activity(greet, input=name)
        return greeting

    @runtime.workflow(name="diff_chain")
    def chain(ctx: Any, value: int) -> Any:
        for _ in range(3):
            value = yield ctx.call_activity(step, input=value)
        return value

    return runtime


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TRACING = ("parentTraceContext", "workflowSpanID")


def shape(event: dict[str, Any], tracing: list[Any]) -> dict[str, Any]:
    """Return one history event as data: ids, payloads and routers as they are; time and random ids by format.

    Trace context fields go to ``tracing`` (compared by ``test_trace_context``).
    """
    event = dict(event)
    event["timestamp"] = iso_time(event.get("timestamp"))
    kind = next(k for k in event if k not in ("eventId", "timestamp", "router"))
    body = dict(event[kind])
    tracing.append({k: body.pop(k) for k in TRACING if k in body})
    if "taskExecutionId" in body:
        body["taskExecutionId"] = "uuid" if UUID.match(body["taskExecutionId"]) else body["taskExecutionId"]
    instance = body.get("workflowInstance")
    if instance and "executionId" in instance:
        execution = instance["executionId"]
        body["workflowInstance"] = {**instance, "executionId": "uuid" if UUID.match(execution) else execution}
    event[kind] = body
    return event


def history(sidecar: Sidecar, instance_id: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """Return the instance's history events as data (GetInstanceHistory), and their trace context fields."""
    with grpc.insecure_channel(sidecar.grpc_endpoint) as channel:
        events = stubs.TaskHubSidecarServiceStub(channel).GetInstanceHistory(
            pb.GetInstanceHistoryRequest(instanceId=instance_id)
        ).events
    tracing: list[Any] = []
    return [shape(as_dict(e), tracing) for e in events], tracing


def run_workflows(sidecar: Sidecar) -> dict[str, Any]:
    """Run diff_hello and diff_chain to completion; return their states, histories and HTTP descriptions."""
    host, port = sidecar.grpc_endpoint.rsplit(":", 1)
    runtime = make_runtime(sidecar)
    runtime.start()
    answers: dict[str, Any] = {}
    ids = []
    try:
        client = wf.DaprWorkflowClient(host=host, port=port)
        for name, workflow_input in (("diff_hello", "Ada"), ("diff_chain", 1)):
            instance = client.schedule_new_workflow(name, input=workflow_input, instance_id=token("wf"))
            ids.append(instance)
            state = client.wait_for_workflow_completion(instance, timeout_in_seconds=60)
            assert state is not None
            events, tracing = history(sidecar, instance)
            described = http(sidecar, "GET", f"/v1.0/workflows/dapr/{instance}")
            for field in ("createdAt", "lastUpdatedAt"):
                if isinstance(described["body"], dict) and field in described["body"]:
                    described["body"][field] = iso_time(described["body"][field])
            answers[name] = {
                "status": state.runtime_status.name,
                "name": state.name,
                "input": state.serialized_input,
                "output": state.serialized_output,
                "failure": state.failure_details,
                "custom_status": state.serialized_custom_status,
                "times": [bool(state.created_at), bool(state.last_updated_at)],
                "history": events,
                "tracing": tracing,
                "http": described,
                "http_beta": http(sidecar, "GET", f"/v1.0-beta1/workflows/dapr/{instance}")["status"],
            }
        instance = client.schedule_new_workflow("diff_failing", input="no", instance_id=token("wf"))
        ids.append(instance)
        state = client.wait_for_workflow_completion(instance, timeout_in_seconds=60)
        assert state is not None and state.failure_details is not None
        failure = state.failure_details
        events, _ = history(sidecar, instance)
        answers["diff_failing"] = {
            "status": state.runtime_status.name,
            "failure": [failure.message, failure.error_type, bool(failure.stack_trace)],
            "history": [{k: v for k, v in e.items() if k != "taskFailed"} | failed_shape(e) for e in events],
        }
        instance = client.schedule_new_workflow("diff_waiting", input=None, instance_id=token("wf"))
        ids.append(instance)
        client.wait_for_workflow_start(instance, timeout_in_seconds=60)
        client.raise_workflow_event(instance, "approve", data="yes")
        state = client.wait_for_workflow_completion(instance, timeout_in_seconds=60)
        assert state is not None
        answers["diff_waiting"] = {
            "status": state.runtime_status.name,
            "output": state.serialized_output,
            "history": history(sidecar, instance)[0],
        }
        ids.append(token("none"))
        answers["http_missing"] = http(sidecar, "GET", f"/v1.0/workflows/dapr/{ids[-1]}")
    finally:
        shutdown(runtime)
    return scrub(answers, {i: f"ID{n}" for n, i in enumerate(ids)})


def failed_shape(event: dict[str, Any]) -> dict[str, Any]:
    """Return a taskFailed event's failure with the stack trace (a Python traceback of the worker) by presence."""
    if "taskFailed" not in event:
        return {}
    failed = dict(event["taskFailed"])
    details = dict(failed.get("failureDetails", {}))
    details["stackTrace"] = bool(details.get("stackTrace"))
    failed["failureDetails"] = details
    return {"taskFailed": failed}


def without_tracing(answer: dict[str, Any]) -> dict[str, Any]:
    """Return the answers less their trace context (compared by ``test_trace_context``)."""
    return {k: {f: v for f, v in run.items() if f != "tracing"} if isinstance(run, dict) and "tracing" in run else run
            for k, run in answer.items()}


def test_hello_and_chain(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(run_workflows)
    hello = on_sandbox["diff_hello"]
    assert hello["status"] == "COMPLETED" and hello["output"] == '"Hello, Ada!"'
    kinds = [next(k for k in e if k not in ("eventId", "timestamp", "router")) for e in hello["history"]]
    assert kinds == ["workflowStarted", "executionStarted", "taskScheduled", "workflowStarted", "taskCompleted",
                     "executionCompleted"]
    assert on_sandbox["diff_chain"]["output"] == "15" and on_sandbox["diff_chain"]["http"]["status"] == 200
    assert on_sandbox["diff_failing"]["status"] == "FAILED"
    assert on_sandbox["diff_waiting"]["output"] == '{"approved": "yes"}'
    same(without_tracing(on_sandbox), without_tracing(on_daprd))


@pytest.mark.daprd_differs("workflow-tracing")
def test_trace_context(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(run_workflows)
    same(on_sandbox["diff_hello"]["tracing"], on_daprd["diff_hello"]["tracing"])


def http_routes(sidecar: Sidecar) -> dict[str, Any]:
    """Drive diff_waiting through daprd's HTTP workflow routes with a worker running; unknown ids too."""
    runtime = make_runtime(sidecar)
    runtime.start()
    base = "/v1.0/workflows/dapr"
    first, second, unknown = token("wf"), token("wf"), token("none")
    text = {"Content-Type": "text/plain"}

    def status(instance: str) -> Any:
        described = http(sidecar, "GET", f"{base}/{instance}")
        body = described["body"]
        return [described["status"], body.get("runtimeStatus") if isinstance(body, dict) else body]

    def settle(instance: str, wanted: str) -> Any:
        deadline = time.monotonic() + 30
        while (now := status(instance))[1] != wanted and time.monotonic() < deadline:
            time.sleep(0.1)
        return now

    try:
        answers: dict[str, Any] = {
            "start": http(sidecar, "POST", f"{base}/diff_waiting/start?instanceID={first}", '"in"', text),
            "running": settle(first, "RUNNING"),
            "pause": http(sidecar, "POST", f"{base}/{first}/pause"),
            "paused": settle(first, "SUSPENDED"),
            "resume": http(sidecar, "POST", f"{base}/{first}/resume"),
            "resumed": settle(first, "RUNNING"),
            "raise": http(sidecar, "POST", f"{base}/{first}/raiseEvent/approve", '"ok"', text),
            "done": settle(first, "COMPLETED"),
            "output": http(sidecar, "GET", f"{base}/{first}")["body"].get("properties"),
            "purge": http(sidecar, "POST", f"{base}/{first}/purge"),
            "purged": status(first),
            "start2": http(sidecar, "POST", f"/v1.0-beta1/workflows/dapr/diff_waiting/start?instanceID={second}"),
            "running2": settle(second, "RUNNING"),
            "terminate": http(sidecar, "POST", f"{base}/{second}/terminate"),
            "terminated": settle(second, "TERMINATED"),
            "bad_id": http(sidecar, "POST", f"{base}/diff_waiting/start?instanceID=bad!id"),
            "long_id": http(sidecar, "POST", f"{base}/diff_waiting/start?instanceID={'x' * 65}"),
        }
        for verb in ("terminate", "pause", "resume", "purge", "raiseEvent/approve"):
            answers[f"unknown {verb}"] = http(sidecar, "POST", f"{base}/{unknown}/{verb}")
        http(sidecar, "POST", f"{base}/{second}/purge")
    finally:
        shutdown(runtime)
    return scrub(answers, {first: "FIRST", second: "SECOND", unknown: "UNKNOWN"})


def test_http_workflow_routes(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(http_routes)
    assert on_sandbox["start"] == {"status": 202, "content_type": "application/json", "body": {"instanceID": "FIRST"},
                                   "etag": False}
    assert on_sandbox["done"] == [200, "COMPLETED"] and on_sandbox["purged"][0] == 404
    same(on_sandbox, on_daprd)


def grpc_errors(sidecar: Sidecar) -> dict[str, Any]:
    """The Durable Task API's answers for an instance that does not exist (the SDK client's calls, raw)."""
    unknown = token("none")
    runtime = make_runtime(sidecar)
    runtime.start()
    try:
        with grpc.insecure_channel(sidecar.grpc_endpoint) as channel:
            hub = stubs.TaskHubSidecarServiceStub(channel)
            answers = {
                "get": raises(lambda: as_dict(hub.GetInstance(pb.GetInstanceRequest(instanceId=unknown)))),
                "terminate": raises(lambda: as_dict(hub.TerminateInstance(pb.TerminateRequest(instanceId=unknown)))),
                "suspend": raises(lambda: as_dict(hub.SuspendInstance(pb.SuspendRequest(instanceId=unknown)))),
                "resume": raises(lambda: as_dict(hub.ResumeInstance(pb.ResumeRequest(instanceId=unknown)))),
                "raise": raises(
                    lambda: as_dict(hub.RaiseEvent(pb.RaiseEventRequest(instanceId=unknown, name="approve")))
                ),
                "purge": raises(lambda: as_dict(hub.PurgeInstances(pb.PurgeInstancesRequest(instanceId=unknown)))),
                "history": raises(
                    lambda: as_dict(hub.GetInstanceHistory(pb.GetInstanceHistoryRequest(instanceId=unknown)))
                ),
            }
    finally:
        shutdown(runtime)
    return scrub(answers, {unknown: "UNKNOWN"})


def test_grpc_errors_for_unknown_instances(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(grpc_errors)
    assert on_sandbox["get"] == {"no error": {}}
    same(on_sandbox, on_daprd)
