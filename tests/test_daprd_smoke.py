"""Smoke test of real daprd: the official SDK's state, pub/sub and a Hello workflow answer alike on both sidecars.

Each test runs one scenario against the session sandbox and against a real daprd started by
``dapr_nb.daprd.Daprd`` (the shared ``on_both`` fixture) and asserts the two results are equal (values
normalised only where the sidecars differ by construction, e.g. the app id in a CloudEvent's ``source``).
Skipped with one line when daprd is not built.
"""

from __future__ import annotations

import uuid
from typing import Any

import dapr.ext.workflow as wf
import grpc
import pytest
from _waiting import WAIT
from _workflow_support import shutdown
from dapr.clients import DaprClient
from dapr.clients.exceptions import DaprGrpcError
from differential import OnBoth, Sidecar, same

from dapr_nb.daprd import binaries

if not binaries().present():
    pytest.skip("daprd not built: run `dapr-nb daprd build`", allow_module_level=True)


def state_scenario(sidecar: Sidecar) -> dict[str, Any]:
    """Save, read, overwrite with the etag, read a missing key, then write with a stale etag."""
    key = f"smoke-{uuid.uuid4().hex[:8]}"
    with DaprClient(sidecar.grpc_endpoint) as client:
        client.save_state("statestore", key, '{"n": 1}')
        first = client.get_state("statestore", key)
        client.save_state("statestore", key, '{"n": 2}', etag=first.etag)
        second = client.get_state("statestore", key)
        missing = client.get_state("statestore", key + "-missing")
        with pytest.raises(DaprGrpcError) as stale:
            client.save_state("statestore", key, '{"n": 3}', etag=first.etag)
    return {
        "first": first.data,
        "second": second.data,
        "etags": (bool(first.etag), first.etag != second.etag),
        "missing": (missing.data, missing.etag),
        "stale_etag_code": stale.value.code(),
    }


def test_state_round_trip_is_the_same(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(state_scenario)
    assert on_sandbox["first"] == b'{"n": 1}' and on_sandbox["etags"] == (True, True)
    assert on_sandbox["stale_etag_code"] == grpc.StatusCode.ABORTED
    same(on_sandbox, on_daprd)


def pubsub_scenario(sidecar: Sidecar) -> dict[str, Any]:
    """Open a streaming subscription, publish one JSON event, read it and ack it."""
    from test_pubsub import Inbox  # noqa: PLC0415 - the bounded SDK-subscription reader lives there

    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    with DaprClient(sidecar.grpc_endpoint) as client:
        inbox = Inbox(client.subscribe("pubsub", topic))
        try:
            client.publish_event("pubsub", topic, '{"order": 7}', data_content_type="application/json")
            message = inbox.get(WAIT)
            inbox.sub.respond_success(message)
        finally:
            inbox.close()
    app_id = sidecar.app_id
    return {
        "data": message.data(),
        "content_type": message.data_content_type(),
        "topic": message.topic() == topic,
        "pubsub": message.pubsub_name(),
        "type": message.type(),
        "spec_version": message.spec_version(),
        "source_is_app_id": message.source() == app_id,
        "has_id": bool(message.id()),
    }


def test_publish_and_streaming_subscribe_are_the_same(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(pubsub_scenario)
    assert on_sandbox["data"] == {"order": 7} and on_sandbox["source_is_app_id"]
    same(on_sandbox, on_daprd)


def workflow_scenario(sidecar: Sidecar) -> dict[str, Any]:
    """Run a Hello workflow (one activity) with the SDK's WorkflowRuntime and DaprWorkflowClient."""
    host, port = sidecar.grpc_endpoint.rsplit(":", 1)
    runtime = wf.WorkflowRuntime(host=host, port=port)

    @runtime.activity(name="smoke_greet")
    def greet(ctx: Any, name: str) -> str:
        return f"Hello, {name}!"

    @runtime.workflow(name="smoke_hello")
    def hello(ctx: Any, name: str) -> Any:
        greeting = yield ctx.call_activity(greet, input=name)
        return greeting

    runtime.start()
    try:
        client = wf.DaprWorkflowClient(host=host, port=port)
        instance = client.schedule_new_workflow(hello, input="Ada")
        state = client.wait_for_workflow_completion(instance, timeout_in_seconds=60)
    finally:
        shutdown(runtime)
    assert state is not None
    return {
        "status": state.runtime_status.name,
        "name": state.name,
        "input": state.serialized_input,
        "output": state.serialized_output,
        "failure": state.failure_details,
        "instance_id": state.instance_id == instance,
    }


def test_hello_workflow_is_the_same(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(workflow_scenario)
    assert on_sandbox["status"] == "COMPLETED" and on_sandbox["output"] == '"Hello, Ada!"'
    same(on_sandbox, on_daprd)
