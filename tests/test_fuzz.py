"""Fuzz the sandbox's HTTP JSON routes and gRPC request fields: no input may crash a handler.

A crash shows as HTTP 500 ``ERR_INTERNAL``, gRPC ``UNKNOWN: Exception calling application``, or an
exception logged by the sandbox; every other answer (daprd's 4xx/5xx included) is fine. The sandbox
runs in this process so its logged exceptions are seen. Examples per test stay modest (``FUZZ``) so
the default suite stays fast; raise them with ``--hypothesis-profile`` or the env var below.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as wf_stubs
from dapr.ext.workflow._durabletask.internal import protos as wf
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import (
    binding_pb2,
    configuration_pb2,
    dapr_pb2_grpc,
    jobs_pb2,
    lock_pb2,
    pubsub_pb2,
    state_pb2,
)
from google.protobuf import timestamp_pb2, wrappers_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dapr_nb.sandbox import Sandbox

FUZZ = int(os.environ.get("DAPR_NB_FUZZ_EXAMPLES", "25"))
"""Examples per fuzz test."""
fuzz = settings(max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck))

HOSTILE = [
    "1e400", "-1E+400", "1" + "0" * 400, "1e30", "2.5", "-1", "0", '"\\ud800"', '"a\\udfffb"', "NaN", "", "null",
    "{", "[1,]", '"\\u0000"', "[" * 3_000 + "]" * 3_000, '{"a":' * 1_200 + "1" + "}" * 1_200,
    "[" * 12_000 + "]" * 12_000, '{"AND":[' * 500 + '{"EQ":{"a":1}}' + ',{"EQ":{"a":1}}]}' * 500,
    '{"IN":{"a":[]}}', '{"GT":{"a":"x"}}', '[{"key":"a.b","order":"sideways"}]', '"@every 1s"', '"R2/PT1S"',
]  # fmt: skip
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids,
                                                                                       max_size=3), max_leaves=8)
json_texts = values.map(json.dumps) | st.sampled_from(HOSTILE)
strings = st.text(max_size=12) | st.sampled_from(["", "a||b", "\ufffd", "\U0001f600", "x" * 300, "../x", "a/b"])

ROUTES = [  # method, path, body template (each %s is filled with a JSON fragment)
    ("POST", "/v1.0/state/statestore", '[{"key":%s,"value":%s,"etag":%s,"options":%s,"metadata":%s}]'),
    ("POST", "/v1.0/state/statestore", "%s"),
    ("POST", "/v1.0/state/statestore/bulk", '{"keys":%s,"parallelism":%s}'),
    ("POST", "/v1.0/state/statestore/transaction", '{"operations":[{"operation":%s,"request":{"key":%s,"value":%s,'
                                                   '"etag":%s}}],"metadata":%s}'),
    ("POST", "/v1.0-alpha1/state/statestore/query", '{"filter":%s,"sort":%s,"page":{"limit":%s,"token":%s}}'),
    ("POST", "/v1.0-alpha1/state/statestore/query", "%s"),
    ("POST", "/v1.0/publish/pubsub/fuzz", "%s"),
    ("POST", "/v1.0-alpha1/publish/bulk/pubsub/fuzz", '[{"entryId":%s,"event":%s,"contentType":%s,"metadata":%s}]'),
    ("POST", "/v1.0-alpha1/lock/lockstore", '{"resourceId":%s,"lockOwner":%s,"expiryInSeconds":%s}'),
    ("POST", "/v1.0-alpha1/unlock/lockstore", '{"resourceId":%s,"lockOwner":%s}'),
    ("POST", "/v1.0-alpha1/jobs/fuzz", '{"schedule":%s,"data":%s,"repeats":%s,"dueTime":%s,"ttl":%s}'),
    ("POST", "/v1.0/bindings/localfiles", '{"operation":%s,"data":%s,"metadata":%s}'),
    ("POST", "/v1.0-sandbox/configuration/configstore", "%s"),
    ("POST", "/v1.0-alpha1/conversation/echo/converse", '{"inputs":%s,"parameters":%s,"temperature":%s}'),
]  # fmt: skip


class Crashes(logging.Handler):
    """Collect records logged with an exception (a handler that crashed)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(self.format(record))


@pytest.fixture(scope="module")
def crashes() -> Iterator[Crashes]:
    handler = Crashes()
    loggers = [logging.getLogger(name) for name in ("dapr_nb", "grpc")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def sb(crashes: Crashes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(data_dir=tmp_path_factory.mktemp("fuzz"), in_process=True) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def channel(sb: Sandbox) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(sb.grpc_endpoint) as ch:
        yield ch


def no_crash_logged(crashes: Crashes) -> None:
    found, crashes.seen[:] = list(crashes.seen), []
    assert not found, found[0]


def send(sb: Sandbox, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    request = urllib.request.Request(sb.http_endpoint + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def assert_http_ok(status: int, raw: bytes) -> None:
    if status >= 500:
        assert b'"ERR_INTERNAL"' not in raw, raw[:300]


@pytest.mark.parametrize(("method", "path", "template"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@fuzz
@given(data=st.data())
def test_http_json_routes(sb: Sandbox, crashes: Crashes, method: str, path: str, template: str, data: Any) -> None:
    fragments = tuple(data.draw(json_texts) for _ in range(template.count("%s")))
    body = (template % fragments).encode("utf-8", "surrogatepass")
    assert_http_ok(*send(sb, method, path, body))
    no_crash_logged(crashes)


@fuzz
@given(key=st.text(max_size=20), method=st.sampled_from(["GET", "DELETE"]))
def test_http_state_keys(sb: Sandbox, crashes: Crashes, key: str, method: str) -> None:
    quoted = urllib.parse.quote(key.encode("utf-8", "surrogatepass"), safe="")
    assert_http_ok(*send(sb, method, f"/v1.0/state/statestore/{quoted}?metadata.contentType=x", None))
    no_crash_logged(crashes)


def call(crashes: Crashes, rpc: Callable[[], Any]) -> None:
    """Run one RPC; any answer but an uncaught exception's is fine."""
    try:
        rpc()
    except grpc.RpcError as err:
        details = err.details() or ""  # type: ignore[attr-defined]
        assert not details.startswith(("Exception calling application", "Exception iterating")), details
    no_crash_logged(crashes)


meta = st.dictionaries(strings, strings, max_size=3)
blobs = st.binary(max_size=40) | json_texts.map(lambda t: t.encode("utf-8", "surrogatepass"))
stamps = st.builds(timestamp_pb2.Timestamp, seconds=st.integers(-(2**63), 2**63 - 1),
                   nanos=st.integers(-(2**31), 2**31 - 1))  # fmt: skip


@fuzz
@given(key=strings, value=blobs, metadata=meta, etag=st.none() | strings, query=json_texts,
       op=st.sampled_from(["upsert", "delete", "bogus", ""]))  # fmt: skip
def test_grpc_state(channel: grpc.Channel, crashes: Crashes, key: str, value: bytes, metadata: dict[str, str],
                    etag: str | None, query: str, op: str) -> None:  # fmt: skip
    stub = dapr_pb2_grpc.DaprStub(channel)
    item = common_pb2.StateItem(key=key, value=value, metadata=metadata,
                                etag=common_pb2.Etag(value=etag) if etag is not None else None)  # fmt: skip
    store = "statestore"
    call(crashes, lambda: stub.SaveState(state_pb2.SaveStateRequest(store_name=store, states=[item]), timeout=30))
    call(crashes, lambda: stub.GetState(state_pb2.GetStateRequest(store_name=store, key=key, metadata=metadata)))
    call(crashes, lambda: stub.GetBulkState(state_pb2.GetBulkStateRequest(store_name=store, keys=[key, key])))
    ops = [state_pb2.TransactionalStateOperation(operationType=op, request=item)]
    call(crashes, lambda: stub.ExecuteStateTransaction(
        state_pb2.ExecuteStateTransactionRequest(storeName=store, operations=ops, metadata=metadata)))  # fmt: skip
    call(crashes, lambda: stub.QueryStateAlpha1(state_pb2.QueryStateRequest(store_name=store, query=query)))
    call(crashes, lambda: stub.DeleteState(state_pb2.DeleteStateRequest(store_name=store, key=key, metadata=metadata)))


@fuzz
@given(topic=strings, data=blobs, content_type=strings | st.sampled_from(["application/json",
       "application/cloudevents+json", "text/plain"]), metadata=meta, name=strings, operation=strings)  # fmt: skip
def test_grpc_pubsub_bindings_configuration(channel: grpc.Channel, crashes: Crashes, topic: str, data: bytes,
                                            content_type: str, metadata: dict[str, str], name: str,
                                            operation: str) -> None:  # fmt: skip
    stub = dapr_pb2_grpc.DaprStub(channel)
    call(crashes, lambda: stub.PublishEvent(pubsub_pb2.PublishEventRequest(
        pubsub_name="pubsub", topic=topic or "t", data=data, data_content_type=content_type, metadata=metadata)))
    entry = pubsub_pb2.BulkPublishRequestEntry(entry_id=name, event=data, content_type=content_type)
    call(crashes, lambda: stub.BulkPublishEvent(pubsub_pb2.BulkPublishRequest(
        pubsub_name="pubsub", topic=topic or "t", entries=[entry], metadata=metadata)))  # fmt: skip
    call(crashes, lambda: stub.InvokeBinding(binding_pb2.InvokeBindingRequest(
        name="localfiles", data=data, metadata=metadata, operation=operation)))  # fmt: skip
    call(crashes, lambda: stub.GetConfiguration(configuration_pb2.GetConfigurationRequest(
        store_name="configstore", keys=[name], metadata=metadata)))  # fmt: skip


@fuzz
@given(resource=strings, owner=strings, expiry=st.integers(-(2**31), 2**31 - 1), name=strings, schedule=strings,
       due=strings, ttl=strings, repeats=st.integers(0, 2**32 - 1))  # fmt: skip
def test_grpc_lock_and_jobs(channel: grpc.Channel, crashes: Crashes, resource: str, owner: str, expiry: int,
                            name: str, schedule: str, due: str, ttl: str, repeats: int) -> None:  # fmt: skip
    stub = dapr_pb2_grpc.DaprStub(channel)
    call(crashes, lambda: stub.TryLockAlpha1(lock_pb2.TryLockRequest(
        store_name="lockstore", resource_id=resource, lock_owner=owner, expiry_in_seconds=expiry)))  # fmt: skip
    call(crashes, lambda: stub.UnlockAlpha1(lock_pb2.UnlockRequest(
        store_name="lockstore", resource_id=resource, lock_owner=owner)))  # fmt: skip
    job = jobs_pb2.Job(name=name, schedule=schedule or None, due_time=due or None, ttl=ttl or None,
                       repeats=repeats or None)  # fmt: skip
    call(crashes, lambda: stub.ScheduleJobAlpha1(jobs_pb2.ScheduleJobRequest(job=job, overwrite=True)))
    call(crashes, lambda: stub.GetJobAlpha1(jobs_pb2.GetJobRequest(name=name)))
    call(crashes, lambda: stub.DeleteJobAlpha1(jobs_pb2.DeleteJobRequest(name=name)))


@fuzz
@given(instance_id=strings, name=strings, payload=st.none() | json_texts, stamp=st.none() | stamps,
       token=st.none() | strings, event=strings)  # fmt: skip
def test_grpc_workflow_start_and_raise(channel: grpc.Channel, crashes: Crashes, instance_id: str, name: str,
                                       payload: str | None, stamp: Any, token: str | None,
                                       event: str) -> None:  # fmt: skip
    stub = wf_stubs.TaskHubSidecarServiceStub(channel)
    text = wrappers_pb2.StringValue(value=payload) if payload is not None else None
    start = wf.CreateInstanceRequest(instanceId=instance_id, name=name, input=text, scheduledStartTimestamp=stamp)
    call(crashes, lambda: stub.StartInstance(start, timeout=30))
    call(crashes, lambda: stub.GetInstance(wf.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True)))
    call(crashes, lambda: stub.RaiseEvent(wf.RaiseEventRequest(instanceId=instance_id, name=event, input=text)))
    call(crashes, lambda: stub.ListInstanceIDs(wf.ListInstanceIDsRequest(continuationToken=token, pageSize=3)))
    call(crashes, lambda: stub.TerminateInstance(wf.TerminateRequest(instanceId=instance_id, output=text)))
    call(crashes, lambda: stub.GetInstanceHistory(wf.GetInstanceHistoryRequest(instanceId=instance_id)))
