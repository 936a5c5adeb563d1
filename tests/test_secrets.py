"""The secrets building block: local.file (nested and multiValued), local.env, secretKeyRef, errors.

Errors are daprd's legacy secret errors: a code and a message, no ErrorInfo.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import point_sdk_at
from dapr.clients import DaprClient
from dapr.proto.runtime.v1 import dapr_pb2_grpc, secret_pb2
from grpc_status import rpc_status

from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.process import SandboxStartError

SECRETS = {
    "db": {"user": "admin", "pass": "s3cret", "hosts": ["h1", "h2"]},
    "plain": "just-a-string",
    "port": 5432,
    "enabled": True,
    "bulk": "a secret named bulk",
    "config-json": json.dumps({"greeting": {"value": "hello from a secret"}}),
}


def component(name: str, ctype: str, metadata: dict[str, str], extra: str = "") -> str:
    lines = [f"    - name: {k}\n      value: {json.dumps(v)}" for k, v in metadata.items()]
    body = "\n".join(lines)
    return (
        f"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
        f"spec:\n  type: {ctype}\n  version: v1\n  metadata:\n{body}\n{extra}"
    )


@pytest.fixture(scope="module")
def store_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox with file stores (nested, multiValued, relative path), env stores and a secretKeyRef user."""
    root = tmp_path_factory.mktemp("secrets")
    resources = root / "resources"
    resources.mkdir()
    secrets_file = root / "secrets.json"
    secrets_file.write_text(json.dumps(SECRETS))
    (resources / "local-secrets.json").write_text(json.dumps({"relative": "found next to the YAML"}))
    docs = [
        component("nested", "secretstores.local.file", {"secretsFile": str(secrets_file)}),
        component("dotted", "secretstores.local.file", {"secretsFile": str(secrets_file), "nestedSeparator": "."}),
        component("multi", "secretstores.local.file", {"secretsFile": str(secrets_file), "multiValued": "true"}),
        component("relative", "secretstores.local.file", {"secretsFile": "local-secrets.json"}),
        component("env", "secretstores.local.env", {}),
        component("prefixed", "secretstores.local.env", {"prefix": "DNB_TEST_"}),
        component(
            "fromsecret",
            "configuration.sandbox",
            {},
            "    - name: items\n      secretKeyRef:\n        name: config-json\n        key: config-json\n"
            "auth:\n  secretStore: nested\n",
        ),
    ]
    (resources / "components.yaml").write_text("---\n".join(docs))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DNB_TEST_TOKEN", "from-the-env")
        mp.setenv("DNB_PLAIN", "plain-env")
        mp.setenv("DAPR_SECRETISH", "must-not-leak")
        sb = Sandbox(resources_path=resources, data_dir=root / "data").start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def client(store_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The official sync client pointed at the module's sandbox."""
    point_sdk_at(monkeypatch, store_sandbox)
    with DaprClient() as c:
        yield c


def http(sb: Sandbox, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(sb.http_endpoint + path, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_legacy(error: grpc.RpcError, code: grpc.StatusCode, message: str) -> None:
    """daprd's secret errors are plain APIErrors: code and message, no rich details."""
    assert error.code() == code
    assert error.details() == message
    status = rpc_status.from_call(error)
    assert status is None or not status.details


def test_default_store_through_the_sdk(dapr_client: Any) -> None:
    assert dapr_client.get_secret("secretstore", "db-password").secret == {"db-password": "sandbox-demo-password"}
    bulk = dapr_client.get_bulk_secret("secretstore").secrets
    assert bulk["api-key"] == {"api-key": "sandbox-demo-api-key"}
    assert bulk["db-password"] == {"db-password": "sandbox-demo-password"}


def test_aio_client(sdk_env: Sandbox) -> None:
    from dapr.aio.clients import DaprClient as AsyncDaprClient

    async def scenario() -> None:
        async with AsyncDaprClient() as client:
            assert (await client.get_secret("secretstore", "api-key")).secret == {"api-key": "sandbox-demo-api-key"}
            bulk = (await client.get_bulk_secret("secretstore")).secrets
            assert bulk["db-password"] == {"db-password": "sandbox-demo-password"}
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.get_secret("nope", "x")
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert info.value.details() == "failed finding secret store with key nope"

    asyncio.run(scenario())


def test_nested_file_is_flattened(client: Any) -> None:
    assert client.get_secret("nested", "db:user").secret == {"db:user": "admin"}
    assert client.get_secret("nested", "db:hosts:1").secret == {"db:hosts:1": "h2"}
    assert client.get_secret("nested", "port").secret == {"port": "5432"}
    assert client.get_secret("nested", "enabled").secret == {"enabled": "true"}
    assert client.get_secret("dotted", "db.pass").secret == {"db.pass": "s3cret"}
    bulk = client.get_bulk_secret("nested").secrets
    assert bulk["db:hosts:0"] == {"db:hosts:0": "h1"}
    assert bulk["plain"] == {"plain": "just-a-string"}
    assert "db" not in bulk


def test_multi_valued_file(client: Any) -> None:
    assert client.get_secret("multi", "db").secret == {
        "user": "admin",
        "pass": "s3cret",
        "hosts:0": "h1",
        "hosts:1": "h2",
    }
    assert client.get_secret("multi", "plain").secret == {"plain": "just-a-string"}
    bulk = client.get_bulk_secret("multi").secrets
    assert bulk["db"]["user"] == "admin"
    assert "port" not in bulk, "local.file keeps only string and object values when multiValued"
    components = {c.name: c for c in client.get_metadata().registered_components}
    assert components["multi"].capabilities == ["MULTIPLE_KEY_VALUES_PER_SECRET"]
    assert components["nested"].capabilities == []


def test_relative_secrets_file_is_found_next_to_the_yaml(client: Any) -> None:
    assert client.get_secret("relative", "relative").secret == {"relative": "found next to the YAML"}


def test_env_store(client: Any) -> None:
    assert client.get_secret("env", "DNB_PLAIN").secret == {"DNB_PLAIN": "plain-env"}
    assert client.get_secret("env", "DNB_NOT_SET_ANYWHERE").secret == {"DNB_NOT_SET_ANYWHERE": ""}
    assert client.get_secret("env", "DAPR_SECRETISH").secret == {"DAPR_SECRETISH": ""}
    bulk = client.get_bulk_secret("env").secrets
    assert bulk["DNB_PLAIN"] == {"DNB_PLAIN": "plain-env"}
    assert not any(name.upper().startswith("DAPR_") for name in bulk)


def test_env_store_with_prefix(client: Any) -> None:
    assert client.get_secret("prefixed", "TOKEN").secret == {"TOKEN": "from-the-env"}
    assert client.get_bulk_secret("prefixed").secrets == {"TOKEN": {"TOKEN": "from-the-env"}}


def test_secret_key_ref_fills_another_components_metadata(client: Any) -> None:
    items = client.get_configuration("fromsecret", ["greeting"]).items
    assert items["greeting"].value == "hello from a secret"


def test_missing_secret_key_ref_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{}")
    (tmp_path / "c.yaml").write_text(
        component("files", "secretstores.local.file", {"secretsFile": str(tmp_path / "secrets.json")})
        + "---\n"
        + component(
            "user",
            "configuration.sandbox",
            {},
            "    - name: items\n      secretKeyRef:\n        name: missing\n        key: missing\n"
            "auth:\n  secretStore: files\n",
        )
    )
    with pytest.raises(SandboxStartError, match="secret missing not found"):
        Sandbox(resources_path=tmp_path, data_dir=tmp_path / "data", start_timeout=30).start()


def test_errors(client: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        client.get_secret("nope", "x")
    assert_legacy(info.value, grpc.StatusCode.INVALID_ARGUMENT, "failed finding secret store with key nope")
    with pytest.raises(grpc.RpcError) as info:
        client.get_bulk_secret("nope")
    assert_legacy(info.value, grpc.StatusCode.INVALID_ARGUMENT, "failed finding secret store with key nope")
    with pytest.raises(grpc.RpcError) as info:
        client.get_secret("nested", "missing")
    assert_legacy(
        info.value,
        grpc.StatusCode.INTERNAL,
        "failed getting secret with key missing from secret store nested: secret missing not found",
    )


def test_http_routes(store_sandbox: Sandbox) -> None:
    assert http(store_sandbox, "/v1.0/secrets/nested/db:user") == (200, {"db:user": "admin"})
    assert http(store_sandbox, "/v1.0/secrets/multi/db")[1]["pass"] == "s3cret"
    status, bulk = http(store_sandbox, "/v1.0/secrets/nested/bulk")
    assert status == 200
    assert bulk["bulk"] == {"bulk": "a secret named bulk"}, "the bulk route wins over a secret named bulk"
    assert bulk["plain"] == {"plain": "just-a-string"}
    assert http(store_sandbox, "/v1.0/secrets/prefixed/TOKEN?metadata.ignored=1") == (200, {"TOKEN": "from-the-env"})


def test_http_errors(store_sandbox: Sandbox) -> None:
    assert http(store_sandbox, "/v1.0/secrets/nope/x") == (
        401,
        {"errorCode": "ERR_SECRET_STORE_NOT_FOUND", "message": "failed finding secret store with key nope"},
    )
    assert http(store_sandbox, "/v1.0/secrets/nope/bulk")[0] == 401
    assert http(store_sandbox, "/v1.0/secrets/nested/missing") == (
        500,
        {
            "errorCode": "ERR_SECRET_GET",
            "message": "failed getting secret with key missing from secret store nested: secret missing not found",
        },
    )


def test_no_secret_store_configured(make_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "lock.yaml").write_text(component("locks", "lock.sandbox", {}))
    sb = make_sandbox(resources_path=resources)
    with grpc.insecure_channel(sb.grpc_endpoint) as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.GetSecret(secret_pb2.GetSecretRequest(store_name="secretstore", key="k"), timeout=10)
    assert_legacy(info.value, grpc.StatusCode.FAILED_PRECONDITION, "secret store is not configured")
    assert http(sb, "/v1.0/secrets/secretstore/bulk") == (
        500,
        {"errorCode": "ERR_SECRET_STORES_NOT_CONFIGURED", "message": "secret store is not configured"},
    )
