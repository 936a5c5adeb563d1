"""The two listeners as daprd has them: reflection, UNIMPLEMENTED, HTTP errors, metadata, shutdown."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from _waiting import wait_until
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dapr_nb.sandbox import Sandbox


def http(sb: Sandbox, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(sb.http_endpoint + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_reflection_lists_the_dapr_service(sandbox: Sandbox) -> None:
    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    names = {s.name for s in reply.list_services_response.service}
    assert "dapr.proto.runtime.v1.Dapr" in names


def test_rpcs_the_sandbox_lacks_answer_unimplemented(sandbox: Sandbox) -> None:
    from dapr.proto.runtime.v1 import actors_pb2, dapr_pb2_grpc

    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.InvokeActor(actors_pb2.InvokeActorRequest(actor_type="a", actor_id="1", method="m"), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_unknown_http_route_is_a_json_404(sandbox: Sandbox) -> None:
    status, body = http(sandbox, "GET", "/v1.0/nope")  # daprd's fallback: invoke the dapr-app-id header's app
    assert status == 404
    assert json.loads(body)["errorCode"] == "ERR_DIRECT_INVOKE"


def test_health_routes(sandbox: Sandbox) -> None:
    assert http(sandbox, "GET", "/v1.0/healthz") == (204, b"")
    assert http(sandbox, "GET", "/v1.0/healthz/outbound") == (204, b"")
    status, body = http(sandbox, "GET", "/v1.0/healthz?appid=someone-else")
    assert status == 500 and json.loads(body)["errorCode"] == "ERR_HEALTH_APPID_NOT_MATCH"
    assert http(sandbox, "GET", "/v1.0/healthz?appid=sandbox")[0] == 204


def test_metadata_through_the_official_sdk(dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("attr")
    dapr_client.set_metadata(key, "value-1")
    meta = dapr_client.get_metadata()
    assert meta.application_id == "sandbox"
    assert meta.extended_metadata[key] == "value-1"
    assert "sandbox" in meta.extended_metadata["daprRuntimeVersion"]
    types = {c.name: c.type for c in meta.registered_components}
    assert types["statestore"] == "state.sqlite" and types["pubsub"] == "pubsub.in-memory"


def test_metadata_over_http(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    key = unique("attr")
    assert http(sandbox, "PUT", f"/v1.0/metadata/{key}", b"v2")[0] == 204
    status, body = http(sandbox, "GET", "/v1.0/metadata")
    meta = json.loads(body)
    assert status == 200 and meta["id"] == "sandbox" and meta["extended"][key] == "v2"
    assert {"statestore", "pubsub", "lockstore", "configstore", "secretstore"} <= {
        c["name"] for c in meta["components"]
    }


def test_shutdown_rpc_stops_the_sandbox(
    make_sandbox: Callable[..., Sandbox], point_sdk: Callable[[Sandbox], None]
) -> None:
    sb = make_sandbox()
    point_sdk(sb)
    from dapr.clients import DaprClient

    with DaprClient() as client:
        client.shutdown()
    proc = sb._proc
    assert proc is not None
    wait_until(lambda: proc.poll() is not None, 15, "the sandbox kept running after Shutdown")
    assert proc.returncode == 0


NO_APP_CHANNEL = "cannot invoke local endpoint: app channel not initialized"
NOT_FOUND_BILLING = "couldn't find service: billing"  # what self-hosted mDNS says
SELF_UNREACHABLE = f"failed to invoke, id: sandbox, err: {NO_APP_CHANNEL}"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1.0/invoke/sandbox/method/orders/1", 500, SELF_UNREACHABLE),
        ("/v1.0/invoke/billing/method/charge", 500, f"failed to invoke, id: billing, err: {NOT_FOUND_BILLING}"),
        ("/v1.0/invoke/billing.prod/method/x", 500,
         f"failed to invoke, id: billing.prod, err: {NOT_FOUND_BILLING}"),
        ("/v1.0/invoke/a.b.c/method/x", 500, "failed to invoke, id: a.b.c, err: invalid app id a.b.c"),
        ("/v1.0/invoke/sandbox/nomethod", 404,
         "failed getting app id either from the URL path or the header dapr-app-id"),
    ],
)  # fmt: skip
def test_invoke_answers_daprds_direct_invoke_errors(sandbox: Sandbox, path: str, status: int, message: str) -> None:
    for verb in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        body = b'{"n": 1}' if verb in ("POST", "PUT", "PATCH") else None
        assert http(sandbox, verb, path, body) == (
            status,
            json.dumps({"errorCode": "ERR_DIRECT_INVOKE", "message": message}, separators=(",", ":")).encode(),
        )


def sdk_http_invoke(client: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``invoke_method``, then close the event loop the SDK's HTTP invoker makes per call and never closes."""
    try:
        return client.invoke_method(*args, **kwargs)
    finally:
        asyncio.get_event_loop_policy().get_event_loop().close()
        asyncio.set_event_loop(None)


def test_invoke_through_the_official_sdk(dapr_client: Any) -> None:
    from dapr.clients.exceptions import DaprHttpError

    with pytest.raises(DaprHttpError) as info:
        sdk_http_invoke(dapr_client, "sandbox", "orders", data='{"id": 1}', http_verb="POST")
    assert (info.value.status_code, info.value.error_code) == (500, "ERR_DIRECT_INVOKE")
    assert info.value.message == SELF_UNREACHABLE
    with pytest.raises(DaprHttpError) as info:
        sdk_http_invoke(dapr_client, "billing", "charge", http_verb="GET")
    assert info.value.message == f"failed to invoke, id: billing, err: {NOT_FOUND_BILLING}"


def test_invoke_service_over_grpc(sandbox: Sandbox) -> None:
    from dapr.proto.common.v1 import common_pb2
    from dapr.proto.runtime.v1 import dapr_pb2_grpc, invoke_pb2

    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        for target, why in [("sandbox", NO_APP_CHANNEL), ("billing", NOT_FOUND_BILLING)]:
            request = invoke_pb2.InvokeServiceRequest(id=target, message=common_pb2.InvokeRequest(method="m"))
            with pytest.raises(grpc.RpcError) as info:
                stub.InvokeService(request, timeout=10)
            assert info.value.code() == grpc.StatusCode.INTERNAL
            assert info.value.details() == f"failed to invoke, id: {target}, err: {why}"
