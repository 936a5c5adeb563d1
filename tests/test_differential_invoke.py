"""Service invocation of an app that does not exist, on the sandbox and on daprd: the error text, gRPC and HTTP."""

from __future__ import annotations

from typing import Any

from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import invoke_pb2
from differential import OnBoth, Sidecar, Stub, http, raises, same, scrub, token


def unknown_app(sidecar: Sidecar) -> Any:
    """Invoke apps that do not exist, the sidecar's own app id (no app channel) and malformed ids.

    Each lookup names a fresh app: daprd's mDNS resolver answers a repeated miss differently
    ("timeout waiting for address") from the first ("couldn't find service").
    """
    apps = [token("billing") for _ in range(5)]

    def invoke(app_id: str, method: str) -> Any:
        request = invoke_pb2.InvokeServiceRequest(id=app_id, message=common_pb2.InvokeRequest(method=method))
        return raises(lambda: dapr.InvokeService(request))

    with Stub(sidecar) as dapr:
        grpc_answers = {
            "unknown": invoke(apps[0], "charge"),
            "self": invoke(sidecar.app_id, "orders"),
            "dotted": invoke("a.b.c", "x"),
            "no_id": invoke("", "x"),
        }
    http_answers = {
        "unknown": http(sidecar, "POST", f"/v1.0/invoke/{apps[2]}/method/charge", {}),
        "self": http(sidecar, "GET", f"/v1.0/invoke/{sidecar.app_id}/method/orders/1"),
        "namespaced": http(sidecar, "POST", f"/v1.0/invoke/{apps[3]}.prod/method/x", {}),
        "no_method": http(sidecar, "GET", f"/v1.0/invoke/{apps[1]}/nomethod"),
        "header": http(sidecar, "POST", "/charge", {}, headers={"dapr-app-id": apps[4]}),
    }
    names = {f"id: {sidecar.app_id},": "id: APP,", **{app: f"APP{i}" for i, app in enumerate(apps)}}
    return scrub({"grpc": grpc_answers, "http": http_answers}, names)


def test_invoke_unknown_app(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(unknown_app)
    assert "couldn't find service: APP2" in on_sandbox["http"]["unknown"]["body"]["message"]
    same(on_sandbox, on_daprd)
