"""Helpers shared by the workflow tests: start and stop the official WorkflowRuntime cleanly."""

from __future__ import annotations

import asyncio
import gc

import dapr.ext.workflow as wf
from dapr.ext.workflow._durabletask.worker import _AsyncWorkerManager


def shutdown(runtime: wf.WorkflowRuntime) -> None:
    """Stop a runtime and close the event loop its worker leaves open (an SDK defect that warns at exit)."""
    runtime.shutdown()
    for obj in gc.get_referrers(_AsyncWorkerManager):
        if isinstance(obj, _AsyncWorkerManager):
            for value in list(vars(obj).values()):
                if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running():
                    value.close()
