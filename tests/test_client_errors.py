"""Failures as DaprError through both clients: API token missing/wrong (unary and streams), sidecar down, readiness."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from clienthelp import async_client_for, client_for, run
from conftest import SIDECARS
from sidecars import Sidecar

from dapr_nb.client import AsyncClient, Client
from dapr_nb.core.ops import RetryPolicy
from dapr_nb.daprd import Daprd, binaries
from dapr_nb.errors import DaprError, SidecarUnavailable, Unauthenticated
from dapr_nb.sandbox import Sandbox


@pytest.fixture(scope="module", params=SIDECARS)
def secured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """A sidecar of its own that requires API token ``s3cret``: a sandbox, then a real daprd."""
    if request.param == "sandbox":
        with Sandbox(api_token="s3cret", data_dir=tmp_path_factory.mktemp("secured")) as sb:
            yield sb
        return
    if not binaries().present():
        pytest.skip("daprd not built: run `dapr-nb daprd build`")
    with Daprd(api_token="s3cret") as sidecar:
        yield sidecar


def test_token_is_sent_on_every_call_kind(secured: Sidecar, unique: Callable[[str], str]) -> None:
    with client_for(secured) as client:
        client.save_state("statestore", unique("k"), 1)
        assert client.get_metadata().app_id == secured.app_id
        with client.subscribe("pubsub", unique("t")) as sub:
            assert sub.active
        client.invoke_binding("localfiles", "list")  # HTTP-free unary to another block


def test_missing_and_wrong_token_are_unauthenticated(secured: Sidecar, unique: Callable[[str], str]) -> None:
    for token in ("", "wrong"):
        with client_for(secured, api_token=token) as client:
            with pytest.raises(Unauthenticated) as info:
                client.get_state("statestore", "k")
            assert "api token" in info.value.message
            with pytest.raises(Unauthenticated):
                client.subscribe("pubsub", unique("t"))


def test_async_token_on_streams(secured: Sidecar, unique: Callable[[str], str]) -> None:
    async def main(good: AsyncClient, bad: AsyncClient) -> None:
        sub = await good.subscribe("pubsub", unique("t"))
        await sub.close()
        with pytest.raises(Unauthenticated):
            await bad.subscribe("pubsub", unique("t"))
        with pytest.raises(Unauthenticated):
            await bad.get_state("statestore", "k")
        await good.close()
        await bad.close()

    run(main(async_client_for(secured), async_client_for(secured, api_token="wrong")))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sidecar_down_names_the_endpoint_and_how_to_start_one() -> None:
    port = _free_port()
    with Client(f"127.0.0.1:{port}", http_endpoint=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(SidecarUnavailable) as info:
            client.get_state("statestore", "k")
        assert f"127.0.0.1:{port}" in str(info.value) and "dapr-nb sandbox" in str(info.value)
        assert isinstance(info.value, ConnectionError)
        with pytest.raises(SidecarUnavailable) as http_info:
            client.invoke_method("app", "m")
        assert f"http://127.0.0.1:{port}" in str(http_info.value)
        with pytest.raises(SidecarUnavailable):
            client.wait_ready(timeout=0.3)

    async def main() -> None:
        async with AsyncClient(f"127.0.0.1:{port}") as aclient:
            with pytest.raises(SidecarUnavailable):
                await aclient.get_state("statestore", "k")
            with pytest.raises(SidecarUnavailable):
                await aclient.subscribe("pubsub", "t", timeout=5)

    run(main())


def test_retries_are_logged_not_printed(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.01)
    with caplog.at_level(logging.WARNING, logger="dapr_nb"), Client(f"127.0.0.1:{_free_port()}", retry=policy) as c:
        with pytest.raises(SidecarUnavailable):
            c.get_state("statestore", "k")
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2
    assert capsys.readouterr().out == ""


def test_wait_ready_returns_metadata(sidecar: Sidecar) -> None:
    with client_for(sidecar) as client:
        assert client.wait_ready(timeout=5).app_id == sidecar.app_id
    assert run(_async_ready(sidecar)) == sidecar.app_id


async def _async_ready(sb: Sidecar) -> str:
    async with async_client_for(sb) as client:
        return (await client.wait_ready(timeout=5)).app_id


def test_deadline_from_settings() -> None:
    # A listener that accepts and never speaks HTTP/2: only the client's deadline can end the call.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        with Client(endpoint, http_endpoint="http://" + endpoint, timeout=0.3) as client:
            with pytest.raises(DaprError) as info:
                client.get_metadata()
    assert info.value.code == "DEADLINE_EXCEEDED" and isinstance(info.value, TimeoutError)


@pytest.fixture(params=SIDECARS)
def own_sidecar(request: pytest.FixtureRequest, make_sandbox: Callable[..., Sandbox]) -> Iterator[Sidecar]:
    """A sidecar for this test only (it may stop it): a sandbox, then a real daprd."""
    if request.param == "sandbox":
        yield make_sandbox()
        return
    if not binaries().present():
        pytest.skip("daprd not built: run `dapr-nb daprd build`")
    with Daprd() as sidecar:
        yield sidecar


def test_shutdown_stops_the_sidecar(own_sidecar: Sidecar) -> None:
    with client_for(own_sidecar) as client:
        client.shutdown()
        deadline = time.monotonic() + 20
        with pytest.raises(SidecarUnavailable):
            while time.monotonic() < deadline:  # bounded: the sidecar stops gracefully, soon
                client.get_metadata()
                time.sleep(0.05)


def _refused_call(channel: grpc.aio.Channel) -> tuple[Any, Any]:
    """Open a subscription with a wrong token (refused from the headers); return the call and its first request."""
    from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2

    call = dapr_pb2_grpc.DaprStub(channel).SubscribeTopicEventsAlpha1(metadata=(("dapr-api-token", "no"),))
    initial = pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(pubsub_name="pubsub", topic="t")
    return call, pubsub_pb2.SubscribeTopicEventsRequestAlpha1(initial_request=initial)


def test_a_stream_the_sidecar_already_refused_reports_the_real_status(secured: Sidecar) -> None:
    # The sidecar ends the call before the client's first write: grpc.aio fails the write locally.
    from dapr_nb.transport.aio_status import CallEnding
    from dapr_nb.transport.aio_streams import WRITE_FAILED

    async def main() -> grpc.StatusCode:
        async with grpc.aio.insecure_channel(secured.grpc_endpoint) as channel:
            call, first = _refused_call(channel)
            ending = CallEnding(call)
            await call.code()  # wait until the sidecar has refused the stream
            try:
                await call.write(first)
            except WRITE_FAILED as exc:
                return (await ending.error(exc)).code()
            raise AssertionError("the write should fail on a finished call")

    assert run(main()) == grpc.StatusCode.UNAUTHENTICATED


def test_grpcs_local_internal_over_the_sidecars_status_is_seen_through(secured: Sidecar) -> None:
    # The 1-in-10 race: the sidecar's status arrives while the first write is in flight; grpc.aio's write
    # then fails and overwrites the call's status with a local INTERNAL (done here as its _write does).
    from dapr_nb.transport.aio_status import LOCAL_INTERNAL, CallEnding

    async def main() -> tuple[grpc.StatusCode, str, grpc.StatusCode]:
        async with grpc.aio.insecure_channel(secured.grpc_endpoint) as channel:
            call, _ = _refused_call(channel)
            ending = CallEnding(call, wait=0)
            await call.code()
            call._cython_call.set_internal_error("send failed")  # what grpc.aio's _write does on a failed send
            hidden = await call.code()
            local = grpc.aio.AioRpcError(grpc.StatusCode.INTERNAL, details=LOCAL_INTERNAL)
            sent = await ending.error(local)
            return sent.code(), sent.details(), hidden  # type: ignore[return-value]

    code, details, hidden = run(main())
    assert hidden == grpc.StatusCode.INTERNAL  # the call itself now hides the sidecar's answer
    assert (code, details) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized")  # daprd's status, not the local one


def test_wrong_token_on_fresh_aio_streams_is_always_unauthenticated(secured: Sidecar) -> None:
    async def main() -> list[str]:
        seen = []
        for _ in range(20):  # a fresh channel each time: the open races the sidecar's refusal
            async with async_client_for(secured, api_token="wrong") as bad:
                try:
                    await bad.subscribe("pubsub", "t")
                except DaprError as error:
                    seen.append(f"{type(error).__name__}: {error}")
        return seen

    seen = run(main())
    assert len(seen) == 20 and all(text.startswith("Unauthenticated") for text in seen), seen
