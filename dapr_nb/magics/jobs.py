"""``%dapr job schedule|get|delete|list``: jobs on the scheduler."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.results import Job
from .registry import Context, command
from .render import note


def _schedule_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--schedule", metavar="S", help="cron expression or @every 10s")
    when.add_argument("--due-time", metavar="T", help="RFC 3339 time or a duration such as 10s")
    p.add_argument("--data", metavar="D", help="job data: JSON, text or :name")
    p.add_argument("--repeats", type=int, metavar="N", help="run at most N times")
    p.add_argument("--ttl", metavar="T", help="expire the job after this (a duration such as 1h, or an RFC 3339 time)")
    p.add_argument("--overwrite", action="store_true", help="replace a job with the same name")


@command(
    "job schedule", "schedule a job", _schedule_args,
    examples=[
        "%dapr job schedule nightly --schedule '@every 1h' --data '{\"task\": \"report\"}'",
        "%dapr job schedule once --due-time 10s --ttl 1h --overwrite",
    ],
)  # fmt: skip
def schedule(ctx: Context, args: argparse.Namespace) -> None:
    """Schedule a job."""
    name = ctx.text(args.name, "NAME")
    ctx.client.schedule_job(
        name,
        schedule=args.schedule,
        due_time=args.due_time,
        data=ctx.value(args.data),
        repeats=args.repeats,
        ttl=args.ttl,
        overwrite=args.overwrite,
    )
    note(f"scheduled job {name!r}")


def _name_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")


@command("job get", "show a job", _name_arg, examples=["%dapr job get nightly"])
def get(ctx: Context, args: argparse.Namespace) -> Job:
    """Return a job."""
    return ctx.client.get_job(ctx.text(args.name, "NAME"))


@command("job delete", "delete a job", _name_arg, examples=["%dapr job delete nightly"])
def delete(ctx: Context, args: argparse.Namespace) -> None:
    """Delete a job."""
    name = ctx.text(args.name, "NAME")
    ctx.client.delete_job(name)
    note(f"deleted job {name!r}")


def _no_args(p: argparse.ArgumentParser) -> None:
    return None


@command("job list", "list jobs as a DataFrame", _no_args, examples=["%dapr job list"])
def list_(ctx: Context, args: argparse.Namespace) -> Any:
    """Return every job as a DataFrame: name, schedule, repeats, due_time, ttl, data."""
    import pandas

    jobs = ctx.client.list_jobs()
    rows = [(j.name, j.schedule, j.repeats, j.due_time, j.ttl, j.data) for j in sorted(jobs, key=lambda j: j.name)]
    return pandas.DataFrame(rows, columns=["name", "schedule", "repeats", "due_time", "ttl", "data"])
