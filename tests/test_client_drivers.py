"""The two drivers over real sockets: timeouts hold whatever the retries, ops are closed on any exit, loops change.

Time bounds here only detect hangs (10x the budget); they never decide a close race.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from clienthelp import async_client_for, client_for, run
from sidecars import Sidecar

from dapr_nb.client import AsyncClient, Client
from dapr_nb.core.ops import Op, RetryPolicy, Sleep
from dapr_nb.core.results import BulkPublishResult
from dapr_nb.errors import SidecarUnavailable

BUDGET = 0.5
HANG = 10 * BUDGET


@pytest.fixture
def closed_port() -> Iterator[str]:
    """An endpoint where nothing listens (the port was bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"127.0.0.1:{port}"


def in_thread(fn: Callable[[], Any], limit: float) -> Any:
    """Run ``fn`` in a daemon thread; fail (instead of hanging the suite) if it is still running after ``limit`` s."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still running after {limit}s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_wait_ready_ends_on_time_with_unlimited_retries(closed_port: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPR_API_MAX_RETRIES", "-1")
    with Client(closed_port) as client:
        assert client.settings.retry.max_attempts == -1
        started = time.monotonic()
        with pytest.raises(SidecarUnavailable) as info:
            in_thread(lambda: client.wait_ready(timeout=BUDGET), HANG)
        assert time.monotonic() - started >= BUDGET * 0.9
    assert info.value.message.startswith(f"not ready after {BUDGET:g}s: no Dapr sidecar answers at {closed_port}")

    async def main() -> None:
        async with AsyncClient(closed_port, retry=RetryPolicy(max_attempts=-1)) as aclient:
            with pytest.raises(SidecarUnavailable) as ainfo:
                await asyncio.wait_for(aclient.wait_ready(timeout=BUDGET), HANG)
            assert closed_port in ainfo.value.message and ainfo.value.final

    run(main())


def test_ops_that_send_nothing_work_with_retries(sidecar: Sidecar) -> None:
    policy = RetryPolicy(max_attempts=3)
    with client_for(sidecar, retry=policy) as client:
        assert client.save_bulk_state("statestore", {}) is None
        assert client.delete_bulk_state("statestore", []) is None
        assert client.publish_bulk("pubsub", "t", []) == BulkPublishResult(0)

    async def main(aclient: AsyncClient) -> None:
        async with aclient:
            assert await aclient.save_bulk_state("statestore", {}) is None
            assert await aclient.delete_bulk_state("statestore", []) is None
            assert await aclient.publish_bulk("pubsub", "t", []) == BulkPublishResult(0)

    run(main(async_client_for(sidecar, retry=policy)))


def _guarded(cleaned: list[str], instruction: Any, started: list[bool] | None = None) -> Op[None]:
    try:
        if started is not None:
            started.append(True)
        yield instruction
    finally:
        cleaned.append("closed")


def test_the_drivers_close_the_op_on_any_exit(closed_port: str) -> None:
    cleaned: list[str] = []
    with Client(closed_port) as client, pytest.raises(TypeError) as info:
        client.run(_guarded(cleaned, "not an instruction"))
    assert cleaned == ["closed"] and info.value  # the traceback (which holds the op) is still alive here

    async def main() -> None:
        async with AsyncClient(closed_port) as aclient:
            with pytest.raises(TypeError):
                await aclient.run(_guarded(cleaned, "not an instruction"))
            assert cleaned == ["closed", "closed"]
            started: list[bool] = []
            task = asyncio.ensure_future(aclient.run(_guarded(cleaned, Sleep(60), started)))
            while not started:  # let the task reach its Sleep
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert cleaned == ["closed", "closed", "closed"]

    run(main())


def test_a_new_event_loop_closes_the_old_loops_channel(sidecar: Sidecar) -> None:
    client = async_client_for(sidecar)

    async def use() -> grpc.aio.Channel:
        await client.get_metadata()
        return client._driver.channel

    first = run(use())  # asyncio.run: this loop is closed afterwards
    assert first.get_state() != grpc.ChannelConnectivity.SHUTDOWN

    async def again() -> grpc.aio.Channel:
        channel = await use()
        await client.close()
        return channel

    second = run(again())
    assert second is not first
    assert first.get_state() == grpc.ChannelConnectivity.SHUTDOWN
    assert second.get_state() == grpc.ChannelConnectivity.SHUTDOWN


def test_a_channel_of_a_loop_still_running_elsewhere_is_closed_on_that_loop(sidecar: Sidecar) -> None:
    client = async_client_for(sidecar)
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    try:

        async def use() -> grpc.aio.Channel:
            await client.get_metadata()
            return client._driver.channel

        first = asyncio.run_coroutine_threadsafe(use(), other).result(HANG)

        async def here() -> None:
            await client.get_metadata()
            await client.close()  # waits for the old loop to have closed its channel

        run(here())
        assert first.get_state() == grpc.ChannelConnectivity.SHUTDOWN
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(HANG)
        other.close()
