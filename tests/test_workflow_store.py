"""Durable acks: a write SQLite refuses fails the call that made it (and every later one), never answers OK.

The database refuses for real: triggers that ``RAISE(ABORT)`` are added to the live file from a
second connection, as a full or failing disk would refuse, then dropped before the restart that
proves nothing unsaved was reported as done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import dapr.ext.workflow as wf
import grpc
import pytest

from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.workflow.engine import Instance
from dapr_nb.sandbox.workflow.store import Batch, Committer, NotDurable, WorkflowStore

TABLES = ("instances", "history", "inbox", "tasks")


def refuse_writes(path: Path) -> None:
    """Make every insert into the workflow tables fail, as a disk that refuses writes would."""
    with sqlite3.connect(path) as db:
        for table in TABLES:
            db.execute(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                       "BEGIN SELECT RAISE(ABORT, 'the disk refuses writes'); END")  # fmt: skip


def allow_writes(path: Path) -> None:
    """Drop the triggers ``refuse_writes`` added."""
    with sqlite3.connect(path) as db:
        for table in TABLES:
            db.execute(f"DROP TRIGGER refuse_{table}")


def put(instance_id: str) -> Batch:
    """Return a batch that writes one instance row."""
    batch = Batch()
    batch.put_instance(Instance(id=instance_id, seq=1, name="wf", execution_id="e", created=1.0))
    return batch


def test_committer_fails_the_refused_ticket_and_every_later_one(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    committer = Committer(WorkflowStore(path))
    committer.wait(committer.submit(put("saved")))
    committer.wait(committer.submit(Batch()))  # an empty batch waits for nothing new
    refuse_writes(path)
    with pytest.raises(NotDurable, match="could not save the change: the disk refuses writes") as refused:
        committer.wait(committer.submit(put("refused")))
    assert refused.value.code == grpc.StatusCode.INTERNAL
    allow_writes(path)
    with pytest.raises(NotDurable) as later:  # memory moved past the disk: nothing later is written either
        committer.wait(committer.submit(put("later")))
    assert later.value.code == grpc.StatusCode.INTERNAL
    with pytest.raises(NotDurable):  # even a no-op change fails: the state it saw is not on disk
        committer.wait(committer.submit(Batch()))
    committer.close()
    with pytest.raises(NotDurable) as closed:
        committer.wait(committer.submit(put("after-close")))
    assert closed.value.code == grpc.StatusCode.INTERNAL
    instances, _, _, _ = WorkflowStore(path).load()
    assert set(instances) == {"saved"}


def test_close_writes_what_is_queued_and_refuses_what_comes_after(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    committer = Committer(WorkflowStore(path))
    tickets = [committer.submit(put(f"i{n}")) for n in range(20)]
    committer.close()
    committer.wait(tickets[-1])
    with pytest.raises(NotDurable) as closed:
        committer.wait(committer.submit(put("late")))
    assert closed.value.code == grpc.StatusCode.UNAVAILABLE and "shutting down" in str(closed.value)
    instances, _, _, _ = WorkflowStore(path).load()
    assert len(instances) == 20


def test_client_sees_internal_and_nothing_unsaved_survives_a_restart(make_sandbox: Callable[..., Sandbox],
                                                                     tmp_path: Path) -> None:  # fmt: skip
    data = tmp_path / "wf-data"
    sb = make_sandbox(data_dir=data)
    client = wf.DaprWorkflowClient(host=sb.host, port=str(sb.grpc_port))
    try:
        client.schedule_new_workflow("wfs_never_run", input=1, instance_id="kept")
        refuse_writes(data / "workflows.db")
        for refused in (lambda: client.schedule_new_workflow("wfs_never_run", instance_id="lost"),
                        lambda: client.raise_workflow_event("kept", "poke", data=1),
                        lambda: client.terminate_workflow("kept")):  # fmt: skip
            with pytest.raises(grpc.RpcError) as info:
                refused()
            assert info.value.code() == grpc.StatusCode.INTERNAL, info.value
            assert "could not save the change: the disk refuses writes" in str(info.value.details())
        sb.stop()
        allow_writes(data / "workflows.db")
        sb.restart()
        assert client.get_workflow_state("lost") is None
        kept = client.get_workflow_state("kept")
        assert kept is not None and kept.runtime_status == wf.WorkflowStatus.PENDING
    finally:
        client.close()
