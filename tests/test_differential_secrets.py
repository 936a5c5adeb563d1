"""Secrets (``secretstores.local.file``) on the sandbox and on daprd: values, bulk, and errors, gRPC and HTTP."""

from __future__ import annotations

from typing import Any

from dapr.clients import DaprClient
from differential import OnBoth, Sidecar, http, raises, same

STORE = "secretstore"


def secrets(sidecar: Sidecar) -> Any:
    """Read one secret, all of them, a missing key and an unknown store, over gRPC and HTTP."""
    with DaprClient(sidecar.grpc_endpoint) as client:
        grpc_answers = {
            "one": client.get_secret(STORE, "db-password").secret,
            "bulk": client.get_bulk_secret(STORE).secrets,
            "missing": raises(lambda: client.get_secret(STORE, "no-such-secret")),
            "unknown_store": raises(lambda: client.get_secret("nostore", "db-password")),
            "unknown_store_bulk": raises(lambda: client.get_bulk_secret("nostore")),
        }
    http_answers = {
        "one": http(sidecar, "GET", f"/v1.0/secrets/{STORE}/db-password"),
        "bulk": http(sidecar, "GET", f"/v1.0/secrets/{STORE}/bulk"),
        "missing": http(sidecar, "GET", f"/v1.0/secrets/{STORE}/no-such-secret"),
        "unknown_store": http(sidecar, "GET", "/v1.0/secrets/nostore/db-password"),
        "unknown_store_bulk": http(sidecar, "GET", "/v1.0/secrets/nostore/bulk"),
    }
    return {"grpc": grpc_answers, "http": http_answers}


def test_local_file_secrets(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(secrets)
    assert on_sandbox["grpc"]["one"] == {"db-password": "sandbox-demo-password"}
    assert on_sandbox["http"]["one"]["body"] == {"db-password": "sandbox-demo-password"}
    same(on_sandbox, on_daprd)
