"""``%dapr workflow start|status|wait|list|history|timeline|raise|suspend|resume|terminate|purge|rerun``.

Rule: instances are managed with the sync client; when ``start`` names a workflow defined in this
kernel (``dapr_nb.workflows``), the official runtime that runs it is started first. ``timeline`` and
``list --live`` return live widgets (WorkflowTimeline, WorkflowBoard) on the magics' connection.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from IPython.core.error import UsageError

from ..core.results import WorkflowState
from .registry import Context, command
from .render import note
from .wftables import history_frame, list_frame
from .widgets import first_line


def _id_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance_id", metavar="ID")


def _start_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")
    p.add_argument("--input", metavar="JSON", help="the workflow input: JSON, text or :name")
    p.add_argument("--id", metavar="ID", help="instance id (default: a new uuid)")


def _ensure_runtime(name: str) -> None:
    """Start the kernel's workflow runtime when NAME is defined in this kernel."""
    module = sys.modules.get("dapr_nb.workflows")
    host = getattr(module, "default_host", None)
    if host is not None and name in host.definitions("workflow"):
        host.start()


@command(
    "workflow start", "start an instance", _start_args,
    examples=["iid = %dapr workflow start order_flow --input '{\"id\": 1}'", "%dapr workflow start order_flow --id a"],
)  # fmt: skip
def start(ctx: Context, args: argparse.Namespace) -> str:
    """Schedule an instance of NAME; return its id."""
    name = ctx.text(args.name, "NAME")
    _ensure_runtime(name)
    instance_id = ctx.client.start_workflow(name, ctx.value(args.input), instance_id=args.id)
    note(f"started {name} as {instance_id}")
    return instance_id


def _found(state: WorkflowState | None, instance_id: str) -> WorkflowState:
    if state is None:
        raise UsageError(f"no workflow instance {instance_id!r}")
    return state


@command("workflow status", "an instance's state", _id_arg, examples=["%dapr workflow status {{iid}}"])
def status(ctx: Context, args: argparse.Namespace) -> WorkflowState:
    """Return the instance's state."""
    instance_id = ctx.text(args.instance_id, "ID")
    return _found(ctx.client.get_workflow(instance_id), instance_id)


def _wait_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("--timeout", type=float, metavar="S", help="seconds to wait (default: Dapr.wait_timeout)")


@command(
    "workflow wait", "wait for an instance to finish", _wait_args, examples=["%dapr workflow wait {{iid}} --timeout 30"]
)
def wait(ctx: Context, args: argparse.Namespace) -> WorkflowState:
    """Wait until the instance finishes; return its final state."""
    instance_id = ctx.text(args.instance_id, "ID")
    timeout = args.timeout if args.timeout is not None else ctx.config.wait_timeout
    if timeout <= 0:
        raise UsageError("%dapr workflow wait: --timeout must be positive")
    return _found(ctx.client.wait_for_workflow_completion(instance_id, timeout=timeout), instance_id)


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", metavar="S", help="only these statuses, comma-separated (e.g. RUNNING,COMPLETED)")
    p.add_argument("--name", metavar="N", help="only instances of this workflow")
    p.add_argument("--live", action="store_true", help="a live board (status counts and instances) instead")


def _statuses(text: str | None) -> set[str]:
    return {s.strip().upper() for s in (text or "").split(",") if s.strip()}


def _live_widget(ctx: Context, what: str, widget: Any) -> Any:
    """Fail the cell (closing the widget) when its first poll failed; else track it."""
    if widget.errors:
        reason = first_line(widget.errors[-1])
        widget.close()
        raise UsageError(f"%dapr workflow {what}: {reason}")
    ctx.session.track(widget)
    return widget


@command(
    "workflow list", "instances (dapr workflow list -o wide)", _list_args,
    examples=["%dapr workflow list --status RUNNING", "%dapr workflow list --name order_flow --live"],
)  # fmt: skip
def list_(ctx: Context, args: argparse.Namespace) -> Any:
    """Return every instance as a DataFrame like ``dapr workflow list -o wide`` (``--live``: a WorkflowBoard)."""
    client = ctx.client
    if args.live:
        from ..widgets.api import board

        made = board(name=args.name, statuses=sorted(_statuses(args.status)), client=client.settings,
                     max_rows=ctx.config.max_rows)  # fmt: skip
        return _live_widget(ctx, "list", made)
    states = [s for s in (client.get_workflow(i) for i in client.list_workflow_ids()) if s is not None]
    if args.status:
        wanted = _statuses(args.status)
        states = [s for s in states if s.status in wanted]
    if args.name:
        states = [s for s in states if s.name == args.name]
    return list_frame(states, client.get_metadata().app_id)


@command(
    "workflow history", "history (dapr workflow history -o wide)", _id_arg, examples=["%dapr workflow history {{iid}}"]
)
def history(ctx: Context, args: argparse.Namespace) -> Any:
    """Return the instance's history with the columns of ``dapr workflow history -o wide``."""
    return history_frame(ctx.client.get_workflow_history(ctx.text(args.instance_id, "ID")))


@command("workflow timeline", "live timeline of an instance", _id_arg, examples=["%dapr workflow timeline {{iid}}"])
def timeline(ctx: Context, args: argparse.Namespace) -> Any:
    """Return a live WorkflowTimeline of the instance (it stops updating once the instance finishes)."""
    from ..widgets.api import timeline as make_timeline

    instance_id = ctx.text(args.instance_id, "ID")
    made = make_timeline(instance_id, client=ctx.client.settings)
    if made.instance is None and not made.errors:
        made.close()
        raise UsageError(f"no workflow instance {instance_id!r}")
    return _live_widget(ctx, "timeline", made)


def _raise_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("event", metavar="EVENT")
    p.add_argument("data", metavar="DATA", nargs="?", help="event data: JSON, text or :name")


@command(
    "workflow raise", "send an external event", _raise_args, examples=["%dapr workflow raise {{iid}} approval true"]
)
def raise_event(ctx: Context, args: argparse.Namespace) -> None:
    """Deliver an external event to the instance."""
    instance_id, event = ctx.text(args.instance_id, "ID"), ctx.text(args.event, "EVENT")
    ctx.client.raise_workflow_event(instance_id, event, ctx.value(args.data))
    note(f"raised {event!r} on {instance_id}")


def _reason_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("--reason", metavar="TEXT", help="why (recorded in the history)")


@command(
    "workflow suspend", "pause an instance", _reason_args, examples=["%dapr workflow suspend {{iid}} --reason hold"]
)
def suspend(ctx: Context, args: argparse.Namespace) -> None:
    """Suspend the instance."""
    ctx.client.suspend_workflow(ctx.text(args.instance_id, "ID"), args.reason)
    note(f"suspended {args.instance_id}")


@command("workflow resume", "resume an instance", _reason_args, examples=["%dapr workflow resume {{iid}}"])
def resume(ctx: Context, args: argparse.Namespace) -> None:
    """Resume the instance."""
    ctx.client.resume_workflow(ctx.text(args.instance_id, "ID"), args.reason)
    note(f"resumed {args.instance_id}")


def _terminate_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("--output", metavar="JSON", help="the output to record")


@command(
    "workflow terminate", "stop an instance", _terminate_args,
    examples=["%dapr workflow terminate {{iid}} --output '\"cancelled\"'"],
)  # fmt: skip
def terminate(ctx: Context, args: argparse.Namespace) -> None:
    """Terminate the instance (and its children)."""
    ctx.client.terminate_workflow(ctx.text(args.instance_id, "ID"), ctx.value(args.output))
    note(f"terminated {args.instance_id}")


def _purge_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("--force", action="store_true", help="purge even if not finished")


@command("workflow purge", "delete a finished instance", _purge_args, examples=["%dapr workflow purge {{iid}} --force"])
def purge(ctx: Context, args: argparse.Namespace) -> int:
    """Delete a finished instance's state and history; return how many instances were deleted."""
    return ctx.client.purge_workflow(ctx.text(args.instance_id, "ID"), force=args.force)


def _rerun_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("event_id", metavar="EVENT_ID", type=int, help="the history event to re-run from")
    p.add_argument("--input", metavar="JSON", help="new input for the rerun")
    p.add_argument("--new-id", metavar="ID", help="id of the new instance")


@command(
    "workflow rerun", "re-run from an event", _rerun_args,
    examples=["new = %dapr workflow rerun {{iid}} 0 --input '{\"id\": 2}'"],
)  # fmt: skip
def rerun(ctx: Context, args: argparse.Namespace) -> str:
    """Re-run a finished instance from a history event; return the new instance id."""
    new_id = ctx.client.rerun_workflow(
        ctx.text(args.instance_id, "ID"),
        args.event_id,
        new_instance_id=args.new_id,
        input=ctx.value(args.input),
        overwrite_input=args.input is not None,
    )
    note(f"rerun of {args.instance_id} started as {new_id}")
    return new_id
