"""Workflow management through both clients on both sidecars, with the official SDK's WorkflowRuntime as worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _workflow_support import doubler_sandbox, doubler_worker
from clienthelp import async_client_for, client_for, run
from sidecars import Sidecar, is_daprd

from dapr_nb.client import AsyncClient, Client
from dapr_nb.core.ops import RetryPolicy
from dapr_nb.errors import DaprError, DeadlineExceeded, NotFound
from dapr_nb.sidecar import SidecarEndpoints

WAIT = 20.0


@pytest.fixture(scope="module")
def wf_sidecar(sidecar: Sidecar, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarEndpoints]:
    """The sidecar with a ``doubler`` worker; for the sandbox one of its own, so no other test's worker interferes."""
    if is_daprd(sidecar):
        with doubler_worker(sidecar) as served:
            yield served
        return
    with doubler_sandbox(tmp_path_factory.mktemp("wf")) as sb:
        yield sb


@pytest.fixture
def client(wf_sidecar: SidecarEndpoints) -> Iterator[Client]:
    with client_for(wf_sidecar) as c:
        yield c


def test_start_wait_event_complete_history(client: Client, unique: Callable[[str], str]) -> None:
    iid = client.start_workflow("doubler", 21, instance_id=unique("wf"), tags={"team": "a"})
    started = client.wait_for_workflow_start(iid, timeout=WAIT)
    assert started is not None and started.status in ("RUNNING", "COMPLETED")
    client.raise_workflow_event(iid, "go", 0)  # a falsy payload is still a payload
    done = client.wait_for_workflow_completion(iid, timeout=WAIT)
    assert done is not None and done.status == "COMPLETED" and done.output == [42, 0] and done.input == 21
    assert done.is_terminal and done.created_at is not None and done.started_at is not None
    history = client.get_workflow_history(iid)
    kinds = [e.kind for e in history]
    assert kinds[0] == "workflowStarted" and "taskScheduled" in kinds and kinds[-1] == "executionCompleted"
    assert iid in client.list_workflow_ids()
    rerun_from = next(e.event_id for e in history if e.kind == "taskScheduled")
    new_id = client.rerun_workflow(iid, rerun_from, new_instance_id=unique("rerun"), input=5, overwrite_input=True)
    assert new_id == unique("rerun")
    client.raise_workflow_event(new_id, "go", "again")
    rerun = client.wait_for_workflow_completion(new_id, timeout=WAIT)
    assert rerun is not None and rerun.output == [10, "again"]
    assert client.purge_workflow(iid) == 1
    assert client.get_workflow(iid) is None
    with pytest.raises(NotFound):
        client.get_workflow_history(iid)


@pytest.mark.daprd_differs("workflow-state-fields")
def test_state_carries_execution_id_completion_time_and_tags(client: Client, unique: Callable[[str], str]) -> None:
    iid = client.start_workflow("doubler", 1, instance_id=unique("fields"), tags={"team": "a"})
    client.wait_for_workflow_start(iid, timeout=WAIT)
    client.raise_workflow_event(iid, "go", None)
    done = client.wait_for_workflow_completion(iid, timeout=WAIT)
    assert done is not None and done.status == "COMPLETED"
    assert done.execution_id and done.completed_at is not None and done.tags == {"team": "a"}


def test_suspend_resume_terminate(client: Client, unique: Callable[[str], str]) -> None:
    iid = client.start_workflow("doubler", 1, instance_id=unique("ctl"))
    client.wait_for_workflow_start(iid, timeout=WAIT)
    client.suspend_workflow(iid, reason="pause")
    state = client.get_workflow(iid)
    assert state is not None and state.status == "SUSPENDED"
    client.resume_workflow(iid)
    state = client.get_workflow(iid)
    assert state is not None and state.status == "RUNNING"
    client.terminate_workflow(iid, output={"stopped": True})
    done = client.wait_for_workflow_completion(iid, timeout=WAIT)
    assert done is not None and done.status == "TERMINATED" and done.output == {"stopped": True}


def test_waiting_is_bounded(client: Client, unique: Callable[[str], str]) -> None:
    iid = client.start_workflow("doubler", 1, instance_id=unique("slow"))
    with pytest.raises(DaprError) as info:
        client.wait_for_workflow_completion(iid, timeout=0.5)  # nobody raises "go"
    assert isinstance(info.value, TimeoutError)
    client.terminate_workflow(iid)
    assert client.get_workflow(unique("never-started")) is None


def test_retries_never_outlast_the_wait_timeout(
    wf_sidecar: SidecarEndpoints, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    budget, hang = 0.5, 5.0  # 3 retries around a 0.5 s wait took ~7 s before the budget; a hang bound only
    monkeypatch.setenv("DAPR_API_MAX_RETRIES", "3")
    with client_for(wf_sidecar) as client:
        iid = client.start_workflow("doubler", 1, instance_id=unique("retried"))  # nobody raises "go"
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            client.wait_for_workflow_completion(iid, timeout=budget)
        assert time.monotonic() - started < hang and info.value.final

        async def main(aclient: AsyncClient) -> float:
            async with aclient:
                began = time.monotonic()
                with pytest.raises(DeadlineExceeded):
                    await aclient.wait_for_workflow_completion(iid, timeout=budget)
                return time.monotonic() - began

        assert run(main(async_client_for(wf_sidecar, retry=RetryPolicy(max_attempts=3)))) < hang
        client.terminate_workflow(iid)


def test_async_client_workflow(wf_sidecar: SidecarEndpoints, unique: Callable[[str], str]) -> None:
    async def main(client: AsyncClient) -> Any:
        async with client:
            iid = await client.start_workflow("doubler", 2, instance_id=unique("async"))
            await client.wait_for_workflow_start(iid, timeout=WAIT)
            await client.raise_workflow_event(iid, "go", {})
            done = await client.wait_for_workflow_completion(iid, timeout=WAIT)
            assert done is not None
            return done.output

    assert run(main(async_client_for(wf_sidecar))) == [4, {}]
