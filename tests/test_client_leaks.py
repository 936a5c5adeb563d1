"""Streams that fail to open leave nothing running: no reader, no grpc request-iterator thread, no task.

Each test fails one open first (grpc starts its own threads on a channel's first use), then 200 more,
and waits until every thread started since that warm-up has ended — before and after ``close()``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _waiting import wait_threads_end
from clienthelp import async_client_for, client_for, run

from dapr_nb.client import Client
from dapr_nb.errors import DaprError, NotFound, Unauthenticated
from dapr_nb.sandbox import Sandbox

FAILURES = 200

SYNC_OPENS: dict[str, tuple[Callable[[Client], object], type[DaprError], str | None]] = {
    "unknown pubsub": (lambda c: c.subscribe("nope", "t"), NotFound, None),
    "wrong token": (lambda c: c.subscribe("pubsub", "t"), Unauthenticated, "wrong"),
    "unknown config store": (lambda c: c.subscribe_configuration("nope", ["k"]), NotFound, None),
    "config, wrong token": (lambda c: c.subscribe_configuration("configstore", ["k"]), Unauthenticated, "wrong"),
}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(api_token="s3cret", data_dir=tmp_path_factory.mktemp("leaks")) as sb:
        yield sb


@pytest.mark.parametrize("case", sorted(SYNC_OPENS))
def test_failed_sync_opens_leave_no_thread(secured: Sandbox, case: str) -> None:
    opener, error, token = SYNC_OPENS[case]
    with client_for(secured, **({"api_token": token} if token else {})) as client:
        with pytest.raises(error):
            opener(client)
        before = set(threading.enumerate())
        for _ in range(FAILURES):
            with pytest.raises(error):
                opener(client)
        wait_threads_end(before, f"{FAILURES} failed opens ({case})")
    wait_threads_end(before, "after close()")


async def _fail_async_opens(sb: Sandbox, options: dict[str, Any], pubsub: str, times: int) -> tuple[int, int]:
    """Fail ``times`` subscribes after one warm-up; return the task count after the warm-up and at the end."""
    async with async_client_for(sb, **options) as client:
        with pytest.raises(DaprError):
            await client.subscribe(pubsub, "t")
        tasks = len(asyncio.all_tasks())
        for _ in range(times):
            with pytest.raises(DaprError):
                await client.subscribe(pubsub, "t")
        return tasks, len(asyncio.all_tasks())


@pytest.mark.parametrize("options, pubsub", [({}, "nope"), ({"api_token": "wrong"}, "pubsub")])
def test_failed_async_opens_leave_no_thread_or_task(secured: Sandbox, options: dict[str, Any], pubsub: str) -> None:
    run(_fail_async_opens(secured, options, pubsub, 0))  # warm-up: grpc.aio's own poller thread
    before = set(threading.enumerate())
    tasks, after = run(_fail_async_opens(secured, options, pubsub, FAILURES))
    assert after <= tasks, f"{after - tasks} tasks left by {FAILURES} failed opens"
    wait_threads_end(before, f"{FAILURES} failed async opens")
