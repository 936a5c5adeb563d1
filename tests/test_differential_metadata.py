"""GetMetadata on the sandbox and on daprd, field by field (gRPC and ``GET /v1.0/metadata``).

The fields that differ by design each have their own strict-xfail test: what the runtime is
(``runtimeVersion``, ``enabledFeatures``), what runs beside it (``scheduler``, ``actorRuntime``)
and the query capability of ``state.sqlite``. Every other field (``appConnectionProperties`` too) is
compared as is; only the component order (daprd loads components concurrently) and the two
sandbox-only component types (daprd runs their Redis stand-ins) are normalised.
"""

from __future__ import annotations

from typing import Any

import pytest
from dapr.clients import DaprClient
from dapr.proto.runtime.v1 import metadata_pb2
from differential import OnBoth, Sidecar, Stub, as_dict, http, same, scrub, token

from dapr_nb.daprd.resources import SANDBOX_ONLY

BY_DESIGN = ("runtime_version", "enabled_features", "scheduler", "actor_runtime")
HTTP_BY_DESIGN = ("runtimeVersion", "enabledFeatures", "scheduler", "actorRuntime")
STAND_INS = {real: sandbox_type for sandbox_type, real in SANDBOX_ONLY.items()}


RUNTIME_EXTENDED = ("daprRuntimeVersion",)


def components(items: list[dict[str, Any]], name_key: str = "name") -> list[dict[str, Any]]:
    """Sort components by name and name daprd's Redis stand-ins by the sandbox type they replace."""
    out = []
    for item in sorted(items, key=lambda c: c[name_key]):
        item = dict(item)
        item["type"] = STAND_INS.get(item["type"], item["type"])
        out.append(item)
    return out


def own_extended(extended: dict[str, str], version: str | None) -> dict[str, str]:
    """Return the extended metadata the runtime sets itself (other tests SetMetadata on the session sidecars)."""
    return {k: "RUNTIME_VERSION" if v == version else v for k, v in extended.items() if k in RUNTIME_EXTENDED}


def metadata(sidecar: Sidecar) -> dict[str, Any]:
    """GetMetadata over gRPC and HTTP, with the by-design fields set apart under ``by_design``."""
    with Stub(sidecar) as dapr:
        grpc_answer = as_dict(dapr.GetMetadata(metadata_pb2.GetMetadataRequest()))
    grpc_answer["registered_components"] = components(grpc_answer["registered_components"])
    http_answer = http(sidecar, "GET", "/v1.0/metadata")
    body = http_answer["body"]
    body["components"] = components(body["components"])
    version = grpc_answer.get("runtime_version")
    grpc_answer["extended_metadata"] = own_extended(grpc_answer["extended_metadata"], version)
    body["extended"] = own_extended(body["extended"], version)
    by_design = {
        "grpc": {k: grpc_answer.pop(k, None) for k in BY_DESIGN},
        "http": {k: body.pop(k, None) for k in HTTP_BY_DESIGN},
    }
    capabilities = {
        "grpc": [c.pop("capabilities", []) for c in grpc_answer["registered_components"]],
        "http": [c.pop("capabilities", []) for c in body["components"]],
    }
    return {"grpc": grpc_answer, "http": http_answer, "by_design": by_design, "capabilities": capabilities}


def test_metadata_fields(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(metadata)
    assert on_sandbox["grpc"]["id"] == "APP" and len(on_sandbox["grpc"]["registered_components"]) == 7
    same(on_sandbox["grpc"], on_daprd["grpc"])
    same(on_sandbox["http"], on_daprd["http"])


@pytest.mark.daprd_differs("query-sqlite")
def test_component_capabilities(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(metadata)
    assert "QUERY_API" in on_sandbox["capabilities"]["grpc"][-1]
    same(on_sandbox["capabilities"], on_daprd["capabilities"])


@pytest.mark.daprd_differs("metadata-runtime")
def test_runtime_fields(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(metadata)
    assert on_sandbox["by_design"]["grpc"]["actor_runtime"] == {"runtime_status": "DISABLED"}
    same(on_sandbox["by_design"], on_daprd["by_design"])


def subscribed_metadata(sidecar: Sidecar) -> dict[str, Any]:
    """GetMetadata (gRPC and HTTP) while a streaming subscription is open, after SetMetadata of one key."""
    topic = token("t")
    with Stub(sidecar) as dapr:
        dapr.SetMetadata(metadata_pb2.SetMetadataRequest(key="diff-key", value="diff-value"))
    set_http = http(sidecar, "PUT", "/v1.0/metadata/diff-http", "v", headers={"Content-Type": "text/plain"})
    with DaprClient(sidecar.grpc_endpoint) as client:
        subscription = client.subscribe("pubsub", topic)
        try:
            with Stub(sidecar) as dapr:
                grpc_answer = as_dict(dapr.GetMetadata(metadata_pb2.GetMetadataRequest()))
            http_answer = http(sidecar, "GET", "/v1.0/metadata")
        finally:
            subscription.close()
    mine = [s for s in grpc_answer.get("subscriptions", []) if s.get("topic") == topic]
    mine_http = [s for s in http_answer["body"].get("subscriptions", []) if s.get("topic") == topic]
    extended = grpc_answer["extended_metadata"]
    return scrub(
        {
            "grpc": mine,
            "http": mine_http,
            "set_http": set_http,
            "extended": {k: extended.get(k) for k in ("diff-key", "diff-http")},
            "http_extended": {k: http_answer["body"]["extended"].get(k) for k in ("diff-key", "diff-http")},
        },
        {topic: "TOPIC"},
    )


def test_subscriptions_and_extended_metadata(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(subscribed_metadata)
    assert len(on_sandbox["grpc"]) == 1 and on_sandbox["extended"] == {"diff-key": "diff-value", "diff-http": "v"}
    same(on_sandbox, on_daprd)
