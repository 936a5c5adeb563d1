"""Bindings (``bindings.localstorage``) on the sandbox and on daprd: create/get/list/delete, metadata, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dapr.clients import DaprClient
from differential import OnBoth, Sidecar, http, raises, same, scrub, token

from dapr_nb.daprd import Daprd

BINDING = "localfiles"


def localstorage(sidecar: Sidecar) -> Any:
    """Create a file, read it, list, delete it, read it again, and call an unknown binding and operation."""
    name = token("f") + ".txt"
    with DaprClient(sidecar.grpc_endpoint) as client:
        created = client.invoke_binding(BINDING, "create", "hello", binding_metadata={"fileName": name})
        got = client.invoke_binding(BINDING, "get", binding_metadata={"fileName": name})
        listed = json.loads(client.invoke_binding(BINDING, "list").data or b"[]")
        client.invoke_binding(BINDING, "delete", binding_metadata={"fileName": name})
        gone = raises(lambda: client.invoke_binding(BINDING, "get", binding_metadata={"fileName": name}))
        unknown = raises(lambda: client.invoke_binding("nobinding", "create", "x"))
        bad_op = raises(lambda: client.invoke_binding(BINDING, "explode", "x"))
    answer = {
        "created": (created.data, dict(created.binding_metadata)),
        "got": (got.data, dict(got.binding_metadata)),
        "listed": [p.rsplit("/", 1)[-1] for p in listed if p.endswith(name)],
        "gone": gone,
        "unknown": unknown,
        "bad_op": bad_op,
        "http_create": http(
            sidecar,
            "POST",
            f"/v1.0/bindings/{BINDING}",
            {"operation": "create", "data": "x", "metadata": {"fileName": name}},
        ),
        "http_get": http(
            sidecar, "POST", f"/v1.0/bindings/{BINDING}", {"operation": "get", "metadata": {"fileName": name}}
        ),
        "http_unknown": http(sidecar, "POST", "/v1.0/bindings/nobinding", {"operation": "create", "data": "x"}),
        "http_malformed": http(sidecar, "POST", f"/v1.0/bindings/{BINDING}", "{"),
    }
    return scrub(answer, {f"{files_root(sidecar)}/": "ROOT/", name: "NAME"})


def files_root(sidecar: Sidecar) -> str:
    """Return the ``rootPath`` of ``localfiles`` (each sidecar keeps it in its own data folder)."""
    if isinstance(sidecar, Daprd):
        return str(Path(str(sidecar.workdir)) / "data" / "files")
    return str(sidecar.config.data_dir / "files")


def test_localstorage_binding(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(localstorage)
    assert on_sandbox["got"][0] == b"hello" and on_sandbox["listed"] == ["NAME"]
    same(on_sandbox, on_daprd)
