"""Author Dapr workflows in notebook cells and run them on the official ``dapr.ext.workflow`` runtime.

Rule: each workflow or activity *name* is registered with the official ``WorkflowRuntime`` once, as a
small dispatcher that calls the definition currently in this module's registry. Re-running a cell
therefore replaces a definition in place — no restart, no "already registered" error — and a new name
defined while the runtime runs is added to it. The runtime starts on first use and stops when the
kernel exits.

Surprise worth knowing: instances already running replay with the new definition on their next turn;
change a workflow's steps only when no instance of it is in flight (Dapr's determinism rule).
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger("dapr_nb.workflows")

F = TypeVar("F", bound=Callable[..., Any])

TERMINAL_FAILURES = {"FAILED", "TERMINATED"}


@dataclass(eq=False)  # not frozen: contextlib assigns __traceback__ on exceptions
class WorkflowFailed(Exception):
    """A workflow run that ended FAILED or TERMINATED, with the failure as Dapr recorded it."""

    instance_id: str
    name: str
    status: str
    error_type: str = ""
    message: str = ""

    def __str__(self) -> str:
        what = f"{self.error_type}: {self.message}" if self.error_type else self.message or "no failure details"
        return f"workflow {self.name!r} ({self.instance_id}) {self.status.lower()}: {what}"


def _accepts_input(fn: Callable[..., Any]) -> bool:
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def _call(fn: Callable[..., Any], ctx: Any, inp: Any) -> Any:
    result = fn(ctx, inp) if _accepts_input(fn) else fn(ctx)
    if inspect.iscoroutine(result):  # an async activity: run it on this worker thread's own loop
        return asyncio.run(result)
    return result


def _close_worker_loops(runtime: Any) -> None:
    """Close the event loop the SDK's stopped worker leaves open (else Python warns at kernel exit)."""
    worker = getattr(runtime, "_WorkflowRuntime__worker", None)
    manager = getattr(worker, "_async_worker_manager", None)
    for value in list(vars(manager).values()) if manager is not None else ():
        if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running() and not value.is_closed():
            value.close()


class WorkflowHost:
    """Registries of cell-defined workflows/activities and the official runtime that serves them."""

    def __init__(self, host: str | None = None, port: str | None = None) -> None:
        self._address = (host, port)
        self._definitions: dict[str, dict[str, Callable[..., Any]]] = {"workflow": {}, "activity": {}}
        self._registered: dict[str, set[str]] = {"workflow": set(), "activity": set()}
        self._runtime: Any = None
        self._client: Any = None
        self._lock = threading.RLock()
        self._atexit = False

    def workflow(self, fn: F | None = None, *, name: str | None = None) -> Any:
        """Define (or redefine) a workflow: ``@workflow`` or ``@workflow(name="orders")``."""
        return self._define("workflow", fn, name)

    def activity(self, fn: F | None = None, *, name: str | None = None) -> Any:
        """Define (or redefine) an activity: ``@activity`` or ``@activity(name="charge")``."""
        return self._define("activity", fn, name)

    def _define(self, kind: str, fn: F | None, name: str | None) -> Any:
        def add(target: F) -> F:
            key = name or target.__name__
            target.__dict__["_dapr_alternate_name"] = key  # how the SDK names call_activity/schedule targets
            with self._lock:
                replaced = key in self._definitions[kind]
                self._definitions[kind][key] = target
                if self._runtime is not None:
                    self._register(kind, key)
            log.info("%s %s %s", "redefined" if replaced else "defined", kind, key)
            return target

        return add(fn) if fn is not None else add

    def definitions(self, kind: str) -> dict[str, Callable[..., Any]]:
        """Return the current definitions of ``"workflow"`` or ``"activity"`` by name."""
        with self._lock:
            return dict(self._definitions[kind])

    def _register(self, kind: str, key: str) -> None:
        if key in self._registered[kind]:
            return
        definitions = self._definitions[kind]

        def dispatch(ctx: Any, inp: Any = None) -> Any:
            return _call(definitions[key], ctx, inp)

        dispatch.__name__ = dispatch.__qualname__ = key
        if kind == "workflow":
            self._runtime.register_workflow(dispatch, name=key)
        else:
            self._runtime.register_activity(dispatch, name=key)
        self._registered[kind].add(key)

    @property
    def running(self) -> bool:
        """Return whether the official runtime is connected and serving."""
        return self._runtime is not None

    def start(self) -> None:
        """Start the official WorkflowRuntime for every definition so far (idempotent)."""
        from dapr.ext.workflow import WorkflowRuntime  # ~0.6 s import: only when workflows are used

        with self._lock:
            if self._runtime is not None:
                return
            self._runtime = WorkflowRuntime(*self._address)
            for kind, definitions in self._definitions.items():
                for key in definitions:
                    self._register(kind, key)
            try:
                self._runtime.start()
            except BaseException:
                self._runtime, self._registered = None, {"workflow": set(), "activity": set()}
                raise
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True

    def stop(self) -> None:
        """Stop the runtime and close the client; definitions are kept for the next start()."""
        with self._lock:
            runtime, client = self._runtime, self._client
            self._runtime, self._client = None, None
            self._registered = {"workflow": set(), "activity": set()}
        if runtime is not None:
            runtime.shutdown()
            _close_worker_loops(runtime)
        if client is not None:
            client.close()

    def client(self) -> Any:
        """Return the official DaprWorkflowClient, created on first use."""
        from dapr.ext.workflow import DaprWorkflowClient

        with self._lock:
            if self._client is None:
                self._client = DaprWorkflowClient(*self._address)
            return self._client

    def schedule(self, workflow: Callable[..., Any] | str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start the runtime if needed and schedule a new instance; return its id."""
        self.start()
        name = workflow if isinstance(workflow, str) else getattr(workflow, "_dapr_alternate_name", workflow.__name__)
        return str(self.client().schedule_new_workflow(name, input=input, instance_id=instance_id))

    def run(
        self,
        workflow: Callable[..., Any] | str,
        input: Any = None,
        *,
        instance_id: str | None = None,
        timeout: int = 60,
    ) -> Any:
        """Schedule a workflow, wait for it, and return its output; raise WorkflowFailed when it fails."""
        iid = self.schedule(workflow, input, instance_id=instance_id)
        return self.result(iid, timeout=timeout)

    def result(self, instance_id: str, *, timeout: int = 60) -> Any:
        """Wait for an instance to finish and return its decoded output; raise WorkflowFailed or TimeoutError."""
        state = self.client().wait_for_workflow_completion(instance_id, timeout_in_seconds=timeout)
        if state is None:
            raise KeyError(f"no workflow instance {instance_id!r}")
        status = state.runtime_status.name
        if status in TERMINAL_FAILURES:
            details = state.failure_details
            raise WorkflowFailed(
                instance_id,
                state.name,
                status,
                getattr(details, "error_type", "") or "",
                getattr(details, "message", "") or (state.serialized_output or ""),
            )
        raw = state.serialized_output
        return json.loads(raw) if raw else None


default_host = WorkflowHost()
"""The host the module-level helpers use; it follows the DAPR_* environment variables."""

workflow = default_host.workflow
activity = default_host.activity
run = default_host.run
schedule = default_host.schedule
result = default_host.result
