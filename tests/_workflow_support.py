"""Helpers shared by the workflow tests: start and stop the official WorkflowRuntime cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dapr.ext.workflow as wf
from dapr.ext.workflow._durabletask.worker import _AsyncWorkerManager

from dapr_nb.sandbox import Sandbox
from dapr_nb.sidecar import SidecarEndpoints


def shutdown(runtime: wf.WorkflowRuntime) -> None:
    """Stop a runtime and close the event loop its worker leaves open (an SDK defect that warns at exit)."""
    runtime.shutdown()
    for obj in gc.get_referrers(_AsyncWorkerManager):
        if isinstance(obj, _AsyncWorkerManager):
            for value in list(vars(obj).values()):
                if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running():
                    value.close()


@contextlib.contextmanager
def doubler_worker(sidecar: SidecarEndpoints) -> Iterator[SidecarEndpoints]:
    """Serve ``doubler`` (double an input, then wait for event ``go``) from a WorkflowRuntime on ``sidecar``."""
    runtime = wf.WorkflowRuntime(host=sidecar.host, port=str(sidecar.grpc_port))

    @runtime.activity(name="double")
    def double(ctx: Any, value: int) -> int:
        return value * 2

    @runtime.workflow(name="doubler")
    def doubler(ctx: Any, value: int) -> Any:
        doubled = yield ctx.call_activity(double, input=value)
        event = yield ctx.wait_for_external_event("go")
        return [doubled, event]

    runtime.start()
    try:
        yield sidecar
    finally:
        shutdown(runtime)


@contextlib.contextmanager
def doubler_sandbox(data_dir: Path) -> Iterator[Sandbox]:
    """A sandbox of its own with a worker serving ``doubler`` (see :func:`doubler_worker`)."""
    with Sandbox(data_dir=data_dir) as sb, doubler_worker(sb):
        yield sb
