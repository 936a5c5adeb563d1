"""WorkflowTimeline and WorkflowBoard from real histories recorded on both sidecars, one workflow pattern per test."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clienthelp import client_for
from sidecars import Sidecar
from widget_support import CountingClient

from dapr_nb.client import Client
from dapr_nb.widgets import api
from dapr_nb.widgets.board import WorkflowBoard
from dapr_nb.widgets.timeline import fetch_timeline
from dapr_nb.workflows import WorkflowHost


@pytest.fixture(scope="module")
def host(sidecar: Sidecar) -> Iterator[WorkflowHost]:
    import dapr.ext.workflow as wf

    h = WorkflowHost(sidecar.host, str(sidecar.grpc_port))
    calls: dict[str, int] = {}

    @h.activity
    def shout(ctx: Any, text: str) -> str:
        return text.upper() + "!"

    @h.activity
    def flaky(ctx: Any, key: str) -> str:
        calls[key] = calls.get(key, 0) + 1
        if calls[key] < 3:
            raise ValueError(f"attempt {calls[key]}")
        return "ok"

    @h.activity
    def broken(ctx: Any) -> None:
        raise RuntimeError("broken <for good>")

    @h.workflow
    def chain(ctx: Any, text: str) -> Any:
        a = yield ctx.call_activity(shout, input=text)
        return (yield ctx.call_activity(shout, input=a))

    @h.workflow
    def fan_out(ctx: Any, n: int) -> Any:
        results = yield wf.when_all([ctx.call_activity(shout, input=str(i)) for i in range(n)])
        return len(results)

    @h.workflow
    def retries(ctx: Any, key: str) -> Any:
        policy = wf.RetryPolicy(first_retry_interval=dt.timedelta(milliseconds=100), max_number_of_attempts=3)
        return (yield ctx.call_activity(flaky, input=key, retry_policy=policy))

    @h.workflow
    def sleepy(ctx: Any) -> Any:
        yield ctx.create_timer(dt.timedelta(milliseconds=300))
        approval = yield ctx.wait_for_external_event("approve")
        return approval

    @h.workflow
    def parent(ctx: Any) -> Any:
        return (yield ctx.call_child_workflow(chain, input="kid"))

    @h.workflow
    def failing(ctx: Any) -> Any:
        yield ctx.call_activity(broken)

    h.start()
    yield h
    h.stop()
    close_sdk_loops()


def close_sdk_loops() -> None:
    """Close the event loops the SDK's stopped workers leave open (they warn at exit otherwise)."""
    from dapr.ext.workflow._durabletask.worker import _AsyncWorkerManager

    for obj in gc.get_referrers(_AsyncWorkerManager):
        if isinstance(obj, _AsyncWorkerManager):
            for value in list(vars(obj).values()):
                if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running():
                    value.close()


@pytest.fixture(scope="module")
def client(sidecar: Sidecar) -> Iterator[Client]:
    with client_for(sidecar) as c:
        yield c


def wait_status(client: Client, iid: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get_workflow(iid, fetch_payloads=False)
        if state is not None and state.status == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"{iid} never reached {status}")


def eventually(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_chain(host: WorkflowHost, client: Client) -> None:
    iid = host.schedule("chain", "hi")
    host.result(iid, timeout=30)
    tl = fetch_timeline(client, iid)
    assert (tl.name, tl.status, tl.output) == ("chain", "COMPLETED", "HI!!")
    assert [(s.name, s.status, s.input, s.output) for s in tl.spans("activity")] == [
        ("shout", "completed", "hi", "HI!"), ("shout", "completed", "HI!", "HI!!"),
    ]  # fmt: skip


def test_fan_out(host: WorkflowHost, client: Client) -> None:
    iid = host.schedule("fan_out", 5)
    assert host.result(iid, timeout=30) == 5
    tl = fetch_timeline(client, iid)
    assert len(tl.rows) == 5 and {s.status for s in tl.spans()} == {"completed"}
    agg = fetch_timeline(client, iid, aggregate_at=10)
    assert agg.aggregated and agg.rows[0].spans[0].count == 5


def test_retries(host: WorkflowHost, client: Client, unique: Any) -> None:
    iid = host.schedule("retries", unique("k"))
    assert host.result(iid, timeout=30) == "ok"
    tl = fetch_timeline(client, iid)
    (row,) = tl.rows
    assert [(s.kind, s.status) for s in row.spans] == [
        ("activity", "failed"), ("backoff", "fired"), ("activity", "failed"), ("backoff", "fired"),
        ("activity", "completed"),
    ]  # fmt: skip
    assert "attempt 1" in row.spans[0].error and row.spans[-1].attempt == 3


def test_timers_events_and_a_live_view(host: WorkflowHost, client: Client) -> None:
    iid = host.schedule("sleepy")
    wait_status(client, iid, "RUNNING")
    view = api.timeline(iid, client=client, poll=0.1)
    try:
        assert view.live
        eventually(lambda: len(view.timeline.spans("timer")) == 2)
        view.flush()
        timer, wait = view.timeline.spans("timer")
        assert timer.status == "fired" and wait.status == "no timeout" and wait.end is None
        assert "<title>now</title>" in view._repr_mimebundle_()["text/html"]
        client.raise_workflow_event(iid, "approve", {"by": "me"})
        assert view.wait(20)
        assert (view.status, view.live) == ("COMPLETED", False)
        assert view.timeline.spans("event")[0].input == {"by": "me"}
        bundle = view._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle and "<svg" in bundle["text/html"]
        assert "<title>now</title>" not in bundle["text/html"]
    finally:
        view.close()


def test_child_workflow_is_nested(host: WorkflowHost, client: Client) -> None:
    iid = host.schedule("parent")
    host.result(iid, timeout=30)
    view = api.timeline(iid, client=client)
    try:
        assert not view.live and view.status == "COMPLETED"
        (child_id,) = view.timeline.children
        assert view.timeline.children[child_id].name == "chain"
        assert len(view.timeline.children[child_id].spans("activity")) == 2
        assert view.snapshot_html().count("<svg") == 2
    finally:
        view.close()


def test_suspend_resume_and_terminate(host: WorkflowHost, client: Client) -> None:
    iid = host.schedule("sleepy")
    wait_status(client, iid, "RUNNING")
    client.suspend_workflow(iid, "pause please")
    wait_status(client, iid, "SUSPENDED")
    view = api.timeline(iid, client=client, poll=0.1)
    try:
        eventually(lambda: any(r.kind == "suspended" for r in view.timeline.rows))
        view.flush()
        assert view.status == "SUSPENDED" and view.live
        (pause,) = view.timeline.row("suspended").spans
        assert (pause.end, pause.detail) == (None, "pause please")
        client.resume_workflow(iid)
        wait_status(client, iid, "RUNNING")
        client.terminate_workflow(iid, "stopped")
        assert view.wait(20)
    finally:
        view.close()
    tl = view.timeline
    assert tl.status == "TERMINATED" and tl.output == "stopped"
    (pause,) = tl.row("suspended").spans
    assert pause.detail == "pause please" and pause.end is not None
    assert all(s.end is not None for s in tl.spans())


def test_failure(host: WorkflowHost, client: Client) -> None:
    iid = host.schedule("failing")
    wait_status(client, iid, "FAILED")
    view = api.timeline(iid, client=client)
    try:
        assert view.status == "FAILED"
        (span,) = view.timeline.spans("activity")
        assert span.status == "failed" and "broken <for good>" in span.error
        html = view.snapshot_html()
        assert "broken &lt;for good&gt;" in html and "broken <for good>" not in html
    finally:
        view.close()


def test_unknown_instance_shows_an_error(client: Client) -> None:
    view = api.timeline("no-such-instance", client=client)
    try:
        assert not view.live and view.errors
    finally:
        view.close()


def test_board_counts_and_lists_instances(host: WorkflowHost, client: Client) -> None:
    done = host.schedule("chain", "b")
    host.result(done, timeout=30)
    waiting = host.schedule("sleepy")
    wait_status(client, waiting, "RUNNING")
    view = api.board(client=client, poll=0.2, max_rows=1000)
    try:
        ids = {row["id"]: row for row in view.rows}
        assert ids[done]["status"] == "COMPLETED" and ids[waiting]["status"] == "RUNNING"
        assert view.counts["COMPLETED"] >= 1 and view.counts["RUNNING"] >= 1
        assert view.total == sum(view.counts.values())
        client.terminate_workflow(waiting, "bye")
        eventually(lambda: view.flush() or any(r["id"] == waiting and r["status"] == "TERMINATED" for r in view.rows))
        assert "TERMINATED" in view._repr_mimebundle_()["text/html"]
    finally:
        view.close()
    only = api.board(client=client, name="chain", statuses=["completed"], live=False)
    assert {r["name"] for r in only.rows} == {"chain"} and set(only.counts) == {"COMPLETED"}
    only.close()


def test_a_board_poll_costs_one_list_call_plus_the_unfinished(host: WorkflowHost, client: Client) -> None:
    for text in ("a", "b", "c"):
        host.result(host.schedule("chain", text), timeout=30)
    waiting = host.schedule("sleepy")
    wait_status(client, waiting, "RUNNING")
    counted = CountingClient(client)
    view = WorkflowBoard(client=counted, max_rows=1000)  # not started: each refresh() is one poll, by hand
    try:

        def cost(get: int, payloads: int = 0) -> dict[str, int]:
            calls = {"ListInstanceIDs": 1, "GetInstance": get, "GetInstance+payloads": payloads}
            return {method: n for method, n in calls.items() if n}

        def poll() -> dict[str, int]:
            counted.calls.clear()
            view.refresh()
            assert view.errors == []
            return dict(counted.calls)

        first = poll()
        listed = client.list_workflow_ids()
        unfinished = [i for i in listed if not client.get_workflow(i, fetch_payloads=False).is_terminal]  # type: ignore[union-attr]
        assert waiting in unfinished and len(listed) >= len(unfinished) + 3
        assert first == cost(len(listed), payloads=len(listed))
        assert poll() == cost(len(unfinished))  # nothing moved: no payloads
        for text in ("d", "e", "f", "g"):
            host.result(host.schedule("chain", text), timeout=30)
        poll()
        assert poll() == cost(len(unfinished))  # however many finished: they cost nothing
        client.terminate_workflow(waiting, "bye")
        wait_status(client, waiting, "TERMINATED")
        moved = poll()
        assert moved == cost(len(unfinished), payloads=1)  # only the row that moved is read with payloads
        assert {r["id"]: r["status"] for r in view.rows}[waiting] == "TERMINATED"
        assert poll() == cost(len(unfinished) - 1)
    finally:
        view.close()
