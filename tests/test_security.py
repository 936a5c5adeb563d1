"""The API token on both listeners, the non-loopback refusal, the default bind address, and a quick SDK constructor."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from dapr.proto.runtime.v1 import actors_pb2, configuration_pb2, dapr_pb2_grpc, pubsub_pb2
from google.protobuf import empty_pb2

from dapr_nb.sandbox import Sandbox

TOKEN = "s3cret"
MISSING = "missing api token in request metadata"
MISMATCH = "authentication error: api token mismatch"


def refusal(error: Any) -> tuple[grpc.StatusCode, str, str]:
    """Return a refused call's code, message and daprd's reason (ErrorInfo ``http.error_message``)."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = error.get_grpc_status() if hasattr(error, "get_grpc_status") else rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    assert status is not None and len(status.details) == 1 and status.details[0].Unpack(info)
    assert (info.reason, info.domain, info.metadata["http.code"]) == ("Unauthorized", "dapr.io", "401")
    return error.code(), error.details(), info.metadata["http.error_message"]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox that requires ``dapr-api-token: s3cret`` (module-wide: starting one takes seconds)."""
    with Sandbox(api_token=TOKEN, data_dir=tmp_path_factory.mktemp("secured")) as sb:
        yield sb


@pytest.fixture
def stub(secured: Sandbox) -> Iterator[Any]:
    with grpc.insecure_channel(secured.grpc_endpoint) as channel:
        yield dapr_pb2_grpc.DaprStub(channel)


def http(sb: Sandbox, method: str, path: str, token: str | None = None, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(sb.http_endpoint + path, data=body, method=method)
    if token is not None:
        request.add_header("dapr-api-token", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_official_sdk_with_the_token(
    secured: Sandbox, point_sdk: Callable[[Sandbox], None], unique: Callable[[str], str]
) -> None:
    from dapr.clients import DaprClient

    point_sdk(secured)
    assert os.environ["DAPR_API_TOKEN"] == TOKEN
    key = unique("k")
    with DaprClient() as client:
        assert client.get_metadata().application_id == "sandbox"
        client.save_state("statestore", key, "v1")
        assert client.get_state("statestore", key).data == b"v1"
        assert client.invoke_binding("localfiles", "create", data=b"x", binding_metadata={"fileName": key}).data


def test_aio_sdk_with_the_token(secured: Sandbox, point_sdk: Callable[[Sandbox], None]) -> None:
    from dapr.aio.clients import DaprClient

    point_sdk(secured)

    async def run() -> str:
        async with DaprClient() as client:
            return str((await client.get_metadata()).application_id)

    assert asyncio.run(run()) == "sandbox"


@pytest.mark.parametrize(("token", "message"), [(None, MISSING), ("wrong", MISMATCH)])
def test_official_sdk_without_the_right_token(
    secured: Sandbox,
    point_sdk: Callable[[Sandbox], None],
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
    message: str,
) -> None:
    from dapr.clients import DaprClient
    from dapr.clients.exceptions import DaprGrpcError

    point_sdk(secured)
    if token is None:
        monkeypatch.delenv("DAPR_API_TOKEN")
    else:
        monkeypatch.setenv("DAPR_API_TOKEN", token)
    with DaprClient() as client:  # the constructor's health probe is token-exempt
        with pytest.raises(DaprGrpcError) as info:
            client.get_metadata()
        assert refusal(info.value) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized", message)  # as daprd says it
        with pytest.raises(grpc.RpcError) as raw:
            client.get_secret("secretstore", "db-password")
        assert refusal(raw.value) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized", message)


@pytest.mark.parametrize(("metadata", "message"), [((), MISSING), ((("dapr-api-token", "nope"),), MISMATCH)])
def test_every_kind_of_rpc_is_guarded(stub: Any, metadata: tuple[tuple[str, str], ...], message: str) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: stub.GetMetadata(empty_pb2.Empty(), metadata=metadata, timeout=10),
        # an RPC the sandbox does not implement still answers UNAUTHENTICATED, not UNIMPLEMENTED
        lambda: stub.InvokeActor(actors_pb2.InvokeActorRequest(actor_type="a", actor_id="1", method="m"),
                                 metadata=metadata, timeout=10),  # fmt: skip
        lambda: next(
            stub.SubscribeConfiguration(
                configuration_pb2.SubscribeConfigurationRequest(store_name="configstore"), metadata=metadata, timeout=10
            )
        ),
        lambda: next(
            stub.SubscribeTopicEventsAlpha1(
                iter([pubsub_pb2.SubscribeTopicEventsRequestAlpha1(
                    initial_request=pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(pubsub_name="pubsub", topic="t")
                )]),
                metadata=metadata,
                timeout=10,
            )
        ),  # fmt: skip
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert refusal(info.value) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized", message)


def test_stream_with_the_token_is_served(stub: Any) -> None:
    request = configuration_pb2.SubscribeConfigurationRequest(store_name="configstore", keys=["k"])
    stream = stub.SubscribeConfiguration(request, metadata=(("dapr-api-token", TOKEN),), timeout=10)
    first = next(stream)
    stream.cancel()
    assert first.id and not first.items


def test_http_token(secured: Sandbox, unique: Callable[[str], str]) -> None:
    assert http(secured, "GET", "/v1.0/healthz") == (204, b"")
    assert http(secured, "GET", "/v1.0/healthz/outbound") == (204, b"")
    for token in (None, "wrong"):
        status, body = http(secured, "GET", "/v1.0/metadata", token)
        assert status == 401 and b"invalid api token" in body
        assert http(secured, "GET", f"/v1.0/state/statestore/{unique('k')}", token)[0] == 401
    status, body = http(secured, "GET", "/v1.0/metadata", TOKEN)
    assert status == 200 and json.loads(body)["id"] == "sandbox"
    key = unique("k")
    saved = json.dumps([{"key": key, "value": {"n": 1}}]).encode()
    assert http(secured, "POST", "/v1.0/state/statestore", body=saved)[0] == 401
    assert http(secured, "POST", "/v1.0/state/statestore", TOKEN, saved)[0] == 204
    status, body = http(secured, "GET", f"/v1.0/state/statestore/{key}", TOKEN)
    assert status == 200 and json.loads(body) == {"n": 1}


def sandbox_command(tmp_path: Path, *extra: str) -> list[str]:
    data = tmp_path / "data"
    return [sys.executable, "-m", "dapr_nb.sandbox", "--grpc-port", "0", "--http-port", "0", "--data-dir", str(data),
            *extra]  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAPR_")}
    return {**env, **extra}


def test_non_loopback_host_without_a_token_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        sandbox_command(tmp_path, "--host", "0.0.0.0"), env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "refusing to listen on 0.0.0.0 without an API token" in result.stderr
    assert "sandbox ready" not in result.stdout


def listening_hosts(port: int) -> set[str]:
    """Return the local addresses listening on ``port`` per /proc/net/tcp{,6}; IPv4-mapped IPv6 as dotted IPv4."""
    hosts = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:
                continue
            if len(address) == 32 and address.startswith("0000000000000000FFFF0000"):
                address = address[24:]
            if len(address) == 8:  # little-endian IPv4
                hosts.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
            else:
                hosts.add("::" if set(address) == {"0"} else address)
    return hosts


@pytest.mark.parametrize(
    ("extra", "env", "hosts"),
    [((), {}, {"127.0.0.1"}), (("--host", "0.0.0.0"), {"DAPR_API_TOKEN": TOKEN}, {"0.0.0.0", "::"})],
)
def test_bind_address(tmp_path: Path, extra: tuple[str, ...], env: dict[str, str], hosts: set[str]) -> None:
    proc = subprocess.Popen(
        sandbox_command(tmp_path, *extra),
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        found = re.search(r"sandbox ready grpc=(\S+):(\d+) http=(\S+):(\d+)", proc.stdout.readline())
        assert found, proc.stderr.read() if proc.stderr else ""
        expected = extra[-1] if extra else "127.0.0.1"
        assert found[1] == found[3] == expected
        if Path("/proc/net/tcp6").exists():
            for port in (int(found[2]), int(found[4])):
                assert listening_hosts(port) and listening_hosts(port) <= hosts
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_sdk_constructor_does_not_wait_on_the_health_timeout(secured: Sandbox, point_sdk: Callable[[Sandbox], None],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from dapr.clients import DaprClient

    point_sdk(secured)
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "60")
    started = time.monotonic()
    client = DaprClient()
    elapsed = time.monotonic() - started
    client.close()
    assert elapsed < 5, f"DaprClient() took {elapsed:.1f}s: the sandbox's health probe is not answering 2xx"
