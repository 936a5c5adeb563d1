"""``%dapr workflow …`` through IPython with the official WorkflowRuntime as worker, on a sandbox and on real daprd."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from _workflow_support import doubler_sandbox, doubler_worker
from sidecars import Sidecar, is_daprd

from dapr_nb.core.results import HistoryEvent, WorkflowState
from dapr_nb.daprd import Daprd
from dapr_nb.magics.wftables import HISTORY_COLUMNS, LIST_COLUMNS, duration, history_frame
from dapr_nb.sandbox import Sandbox
from dapr_nb.widgets.board import WorkflowBoard
from dapr_nb.widgets.timeline import WorkflowTimeline

if TYPE_CHECKING:
    from magics_support import Cells

pytest_plugins = ["magics_support"]

WAIT = 20


@pytest.fixture(scope="module")
def wf_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox of its own with a worker, so no other test's worker receives these workflows."""
    with doubler_sandbox(tmp_path_factory.mktemp("wf-magics")) as sb:
        yield sb


@pytest.fixture(scope="module")
def wf_daprd(daprd: Daprd) -> Iterator[Daprd]:
    """The session daprd with a ``doubler`` worker for this module's tests (no other worker runs meanwhile)."""
    with doubler_worker(daprd):
        yield daprd


@pytest.fixture
def wf_sidecar(sidecar: Sidecar, request: pytest.FixtureRequest) -> Sidecar:
    """The sidecar of this case with a ``doubler`` worker: a sandbox of its own, or the session daprd."""
    return request.getfixturevalue("wf_daprd" if is_daprd(sidecar) else "wf_sandbox")  # type: ignore[no-any-return]


@pytest.fixture
def wf(cells: Cells, wf_sidecar: Sidecar, point_sdk: Callable[[Sidecar], None]) -> Cells:
    point_sdk(wf_sidecar)
    return cells


def test_start_event_wait_list_history_rerun_purge(
    wf: Cells, wf_sidecar: Sidecar, unique: Callable[[str], str]
) -> None:
    iid = wf.run(f"iid = %dapr workflow start doubler --input 21 --id {unique('wf')}\niid")
    assert iid == unique("wf") and wf.ns["iid"] == iid
    state = wf.run("%dapr workflow status {{iid}}")
    assert isinstance(state, WorkflowState) and state.name == "doubler" and state.input == 21
    wf.run("%dapr workflow raise {{iid}} go 0")
    done = wf.run(f"%dapr workflow wait {{{{iid}}}} --timeout {WAIT}")
    assert done.status == "COMPLETED" and done.output == [42, 0]

    listed = wf.run("%dapr workflow list")
    assert list(listed.columns) == LIST_COLUMNS
    row = listed[listed["INSTANCE ID"] == iid].iloc[0]
    assert (row["Name"], row["STATUS"], row["APP ID"], row["NAMESPACE"]) == (
        "doubler",
        "COMPLETED",
        wf_sidecar.app_id,
        "default",
    )
    assert iid in wf.run("%dapr workflow list --status completed --name doubler")["INSTANCE ID"].tolist()
    assert iid not in wf.run("%dapr workflow list --status RUNNING")["INSTANCE ID"].tolist()
    assert wf.run("%dapr workflow list --name other").empty

    history = wf.run("%dapr workflow history {{iid}}")
    assert list(history.columns) == HISTORY_COLUMNS
    types = history["TYPE"].tolist()
    # ordered by time as the CLI orders them: the start arrived before the first turn (PLAY 1) began
    assert types[:2] == ["ExecutionStarted", "WorkflowStarted"] and types[-1] == "ExecutionCompleted"
    assert history["PLAY"].tolist()[:2] == [0, 1]
    assert {"TaskScheduled", "TaskCompleted", "EventRaised"} <= set(types)
    raised = history[history["TYPE"] == "EventRaised"].iloc[0]
    assert raised["DETAILS"] == "event=go" and raised["NAME"] == "go"
    assert history.iloc[-1]["STATUS"] == "COMPLETED" and history["PLAY"].max() >= 2
    assert history[history["TYPE"] == "TaskScheduled"].iloc[0]["NAME"] == "double"
    timeline = wf.run("%dapr workflow timeline {{iid}}")
    assert isinstance(timeline, WorkflowTimeline) and timeline.status == "COMPLETED" and timeline.name == "doubler"
    assert not timeline.active and timeline.wait(1) and "double" in timeline.snapshot_html()
    board = wf.run("%dapr workflow list --live --name doubler --status completed")
    assert isinstance(board, WorkflowBoard) and board.active and iid in {row["id"] for row in board.rows}
    assert board.counts == {"COMPLETED": board.total}
    board.close()
    assert "no workflow instance" in wf.fail("%dapr workflow timeline no-such-instance")

    scheduled = int(history[history["TYPE"] == "TaskScheduled"].iloc[0]["EVENTID"])
    new_id = wf.run(f"%dapr workflow rerun {{{{iid}}}} {scheduled} --input 5 --new-id {unique('rerun')}")
    assert new_id == unique("rerun")
    wf.run(f"%dapr workflow raise {new_id} go '\"again\"'")
    assert wf.run(f"%dapr workflow wait {new_id} --timeout {WAIT}").output == [10, "again"]

    assert wf.run("%dapr workflow purge {{iid}}") == 1
    assert "no workflow instance" in wf.fail("%dapr workflow status {{iid}}")


def test_suspend_resume_terminate(wf: Cells, unique: Callable[[str], str]) -> None:
    iid = wf.run(f"%dapr workflow start doubler --input 1 --id {unique('ctl')}")
    wf.run(f"%dapr workflow suspend {iid} --reason pause")
    assert wf.run(f"%dapr workflow status {iid}").status == "SUSPENDED"
    wf.run(f"%dapr workflow resume {iid}")
    assert wf.run(f"%dapr workflow status {iid}").status in ("RUNNING", "PENDING")
    wf.run(f"%dapr workflow terminate {iid}")
    assert wf.run(f"%dapr workflow wait {iid} --timeout {WAIT}").status == "TERMINATED"


def test_workflow_usage_errors(wf: Cells) -> None:
    assert "invalid int" in wf.fail("%dapr workflow rerun some-id not-a-number")
    assert "positive" in wf.fail("%dapr workflow wait some-id --timeout 0")
    assert "required" in wf.fail("%dapr workflow raise some-id")
    assert "unknown verb" in wf.fail("%dapr workflow pause some-id")


def test_history_table_derivations() -> None:
    t0 = dt.datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc)
    events = [
        HistoryEvent(-1, t0, "workflowStarted"),
        HistoryEvent(0, t0, "executionStarted", "flow", {"name": "flow", "input": '"x"',
                     "workflowInstance": {"instanceId": "i", "executionId": "e1"}}),
        HistoryEvent(1, t0 + dt.timedelta(seconds=1), "taskScheduled", "act", {"name": "act"}),
        HistoryEvent(-1, t0 + dt.timedelta(seconds=2), "workflowStarted"),
        HistoryEvent(-1, t0 + dt.timedelta(seconds=2), "taskFailed", "", {"taskScheduledId": 1,
                     "failureDetails": {"errorType": "ValueError", "errorMessage": "bad"}}),
        HistoryEvent(-1, t0 + dt.timedelta(seconds=3), "executionCompleted", "",
                     {"workflowStatus": "ORCHESTRATION_STATUS_FAILED"}),
    ]  # fmt: skip
    frame = history_frame(events, now=t0 + dt.timedelta(minutes=1))
    assert frame["PLAY"].tolist() == [1, 1, 1, 2, 2, 2]
    assert frame["STATUS"].tolist() == ["RUNNING", "RUNNING", "RUNNING", "RUNNING", "FAILED", "FAILED"]
    assert frame.loc[0, "ELAPSED"] == "Age:1m0s" and frame.loc[2, "ELAPSED"] == "1s"
    assert frame.loc[1, "DETAILS"] == "workflowStart" and frame.loc[1, "EXECUTION_ID"] == "e1"
    assert frame.loc[1, "NAME"] == "flow" and frame.loc[1, "ATTRS"] == "input=x"
    assert frame.loc[4, "ATTRS"] == "scheduledId=1;errorType=ValueError;errorMsg=bad" and frame.loc[4, "NAME"] == ""
    assert frame.loc[5, "DETAILS"] == "execDuration=3s" and frame.loc[1, "TIMESTAMP"].microsecond == 0
    assert frame["EVENTID"].isna().tolist() == [True, True, False, True, True, True]
    assert (
        duration(dt.timedelta(milliseconds=250)) == "250ms" and duration(dt.timedelta(hours=1, seconds=2)) == "1h0m2s"
    )


def test_kernel_defined_workflow_on_the_kernel_sandbox(cells: Cells, unique: Callable[[str], str]) -> None:
    name = unique("greet").replace("-", "_")
    cells.run("%dapr sandbox start")
    try:
        cells.run(
            "from dapr_nb.workflows import activity, workflow\n"
            f"@activity(name='{name}_act')\ndef shout(ctx, text):\n    return text.upper()\n"
            f"@workflow(name='{name}')\ndef greet(ctx, who):\n    return (yield ctx.call_activity(shout, input=who))\n"
        )
        iid = cells.run(f"%dapr workflow start {name} --input '\"ada\"'")
        assert cells.run(f"%dapr workflow wait {iid} --timeout {WAIT}").output == "ADA"
    finally:
        cells.run("%dapr sandbox stop")
    import dapr_nb.workflows

    assert not dapr_nb.workflows.default_host.running
