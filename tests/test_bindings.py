"""Output bindings: bindings.localstorage through the official SDK (sync and aio), raw gRPC and daprd's HTTP route."""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dapr_nb.sandbox import Sandbox, SandboxStartError

BINDING = "localfiles"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def root_of(sb: Sandbox) -> Path:
    """The default binding's rootPath, as the component resolves it."""
    return Path(os.path.realpath(sb.config.data_dir / "files"))


def http(sb: Sandbox, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any, bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(sb.http_endpoint + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def error_reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "dapr.io"
            return info.reason
    return ""


def test_create_get_list_delete_through_the_sdk(
    dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]
) -> None:
    name = f"{unique('dir')}/note.txt"
    created = dapr_client.invoke_binding(BINDING, "create", data=b"hello world", binding_metadata={"fileName": name})
    assert json.loads(created.data) == {"fileName": name}
    assert (root_of(sandbox) / name).read_bytes() == b"hello world"

    got = dapr_client.invoke_binding(BINDING, "get", binding_metadata={"fileName": name})
    assert got.data == b"hello world"

    listed = dapr_client.invoke_binding(BINDING, "list", binding_metadata={"fileName": name.split("/")[0]})
    assert json.loads(listed.data) == [str(root_of(sandbox) / name)]

    deleted = dapr_client.invoke_binding(BINDING, "delete", binding_metadata={"fileName": name})
    assert deleted.data == b""
    assert not (root_of(sandbox) / name).exists()

    with pytest.raises(grpc.RpcError) as info:
        dapr_client.invoke_binding(BINDING, "get", binding_metadata={"fileName": name})
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == (
        f"error invoking output binding {BINDING}: file not found: {root_of(sandbox) / name}"
    )
    assert error_reason(info.value) == "ERR_INVOKE_OUTPUT_BINDING"


def test_create_without_a_file_name_picks_a_uuid(dapr_client: Any, sandbox: Sandbox) -> None:
    created = dapr_client.invoke_binding(BINDING, "create", data=b"anonymous")
    name = json.loads(created.data)["fileName"]
    assert UUID.fullmatch(name)
    assert (root_of(sandbox) / name).read_bytes() == b"anonymous"
    dapr_client.invoke_binding(BINDING, "delete", binding_metadata={"fileName": name})


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (b"aGVsbG8gYmFzZTY0", b"hello base64"),  # valid padded base64 is decoded, as contrib does
        (b"Hello World", b"Hello World"),  # not base64: written as is
        (b"aGVsbG8", b"aGVsbG8"),  # unpadded is not valid Go base64
        (b'"quoted\\tvalue"', b"quoted\tvalue"),  # a Go string literal is unquoted first
        (b'{"a": 1}', b'{"a": 1}'),
    ],
)
def test_create_decodes_like_components_contrib(
    dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str], sent: bytes, stored: bytes
) -> None:
    name = unique("payload")
    dapr_client.invoke_binding(BINDING, "create", data=sent, binding_metadata={"fileName": name})
    assert (root_of(sandbox) / name).read_bytes() == stored


def test_names_cannot_escape_the_root(
    dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str], tmp_path: Path
) -> None:
    name = unique("escape")
    created = dapr_client.invoke_binding(
        BINDING, "create", data=b"x", binding_metadata={"fileName": f"../../../../{name}"}
    )
    assert json.loads(created.data) == {"fileName": name}
    assert (root_of(sandbox) / name).read_bytes() == b"x"
    assert not (sandbox.config.data_dir / name).exists()

    outside = tmp_path / "outside"
    outside.mkdir()
    link = unique("link")
    (root_of(sandbox) / link).symlink_to(outside)  # a symlink inside the root resolves as if the root were "/"
    dapr_client.invoke_binding(BINDING, "create", data=b"y", binding_metadata={"fileName": f"{link}/f.txt"})
    assert list(outside.iterdir()) == []
    assert (root_of(sandbox) / str(outside).lstrip("/") / "f.txt").read_bytes() == b"y"


def test_list_of_an_empty_folder_is_null_and_of_a_missing_one_an_error(
    dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]
) -> None:
    empty = unique("empty")
    (root_of(sandbox) / empty).mkdir()
    assert dapr_client.invoke_binding(BINDING, "list", binding_metadata={"fileName": empty}).data == b"null"
    missing = root_of(sandbox) / unique("missing")
    with pytest.raises(grpc.RpcError) as info:
        dapr_client.invoke_binding(BINDING, "list", binding_metadata={"fileName": missing.name})
    assert info.value.details() == (
        f"error invoking output binding {BINDING}: error getting stats for path {missing}: "
        f"stat {missing}: no such file or directory"
    )


@pytest.mark.parametrize(
    ("binding", "operation", "why"),
    [
        ("nope", "get", "couldn't find output binding nope"),
        (BINDING, "frob", f"binding {BINDING} does not support operation frob. "
                          "supported operations:create get list delete"),  # fmt: skip
        (BINDING, "", "operation field is missing from request"),
    ],
)
def test_daprd_errors(dapr_client: Any, binding: str, operation: str, why: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        dapr_client.invoke_binding(binding, operation, data=b"x")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == f"error invoking output binding {binding}: {why}"
    assert error_reason(info.value) == "ERR_INVOKE_OUTPUT_BINDING"


def test_aio_client(sdk_env: Sandbox, unique: Callable[[str], str]) -> None:
    from dapr.aio.clients import DaprClient

    name = unique("aio")

    async def run() -> bytes:
        async with DaprClient() as client:
            await client.invoke_binding(BINDING, "create", data=b"from aio", binding_metadata={"fileName": name})
            response = await client.invoke_binding(BINDING, "get", binding_metadata={"fileName": name})
            return bytes(response.data)

    assert asyncio.run(run()) == b"from aio"


def test_http_route(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    name = unique("http")
    body = {"operation": "create", "data": "Hello", "metadata": {"fileName": name}}
    status, headers, raw = http(sandbox, "POST", f"/v1.0/bindings/{BINDING}", body)
    assert (status, json.loads(raw)) == (200, {"fileName": name})
    assert headers["Content-Type"] == "application/json"
    assert (root_of(sandbox) / name).read_bytes() == b"Hello"  # JSON-encoded, then unquoted by the component

    body = {"operation": "create", "data": {"b": [1, 2.0], "a": "<&>"}, "metadata": {"fileName": name}}
    assert http(sandbox, "PUT", f"/v1.0/bindings/{BINDING}", body)[0] == 200
    assert (root_of(sandbox) / name).read_bytes() == b'{"a":"\\u003c\\u0026\\u003e","b":[1,2]}'

    path = f"/v1.0/bindings/{BINDING}"
    status, _, raw = http(sandbox, "POST", path, {"operation": "get", "metadata": {"fileName": name}})
    assert status == 200 and json.loads(raw) == {"a": "<&>", "b": [1, 2]}
    status, _, raw = http(sandbox, "POST", path, {"operation": "delete", "metadata": {"fileName": name}})
    assert (status, raw) == (204, b"")


def test_http_errors(sandbox: Sandbox) -> None:
    status, _, raw = http(sandbox, "POST", "/v1.0/bindings/nope", {"operation": "get"})
    assert status == 500
    assert json.loads(raw) == {
        "errorCode": "ERR_INVOKE_OUTPUT_BINDING",
        "message": "error invoking output binding nope: couldn't find output binding nope",
    }
    status, _, raw = http(sandbox, "POST", f"/v1.0/bindings/{BINDING}", raw=b"{not json")
    assert status == 400 and json.loads(raw)["errorCode"] == "ERR_MALFORMED_REQUEST"
    body = {"operation": "get", "metadata": {"fileName": 1}}
    status, _, raw = http(sandbox, "POST", f"/v1.0/bindings/{BINDING}", body)
    assert status == 400 and json.loads(raw)["errorCode"] == "ERR_MALFORMED_REQUEST"


def test_component_from_a_resources_folder(make_sandbox: Callable[..., Sandbox], point_sdk: Callable[[Sandbox], None],
                                           tmp_path: Path) -> None:  # fmt: skip
    resources = tmp_path / "resources"
    resources.mkdir()
    files = tmp_path / "my-files"
    (resources / "files.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: files\n"
        f"spec:\n  type: bindings.localstorage\n  version: v1\n  metadata:\n  - name: rootPath\n    value: {files}\n"
    )
    sb = make_sandbox(resources_path=resources)
    point_sdk(sb)
    from dapr.clients import DaprClient

    with DaprClient() as client:
        client.invoke_binding("files", "create", data=b"custom root", binding_metadata={"fileName": "x.txt"})
        components = {c.name: c for c in client.get_metadata().registered_components}
    assert (files / "x.txt").read_bytes() == b"custom root"
    assert components["files"].type == "bindings.localstorage"
    assert components["files"].capabilities == ["OUTPUT_BINDING"]


def test_missing_root_path_stops_start_up(make_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "files.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: files\n"
        "spec:\n  type: bindings.localstorage\n  version: v1\n"
    )
    with pytest.raises(SandboxStartError, match="property rootPath must not be empty"):
        make_sandbox(resources_path=resources)
