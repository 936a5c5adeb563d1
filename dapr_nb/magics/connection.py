"""``%dapr connect``, ``%dapr status``, ``%dapr metadata`` and ``%dapr sandbox start|stop|status``.

Rule: ``connect`` probes the sidecar before switching to it, so a bad endpoint or token leaves the old
connection in place and fails the cell with one line.
"""

from __future__ import annotations

import argparse
import html
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from ..core.results import Metadata
from .registry import Context, command
from .render import note


@dataclass(frozen=True)
class Status:
    """What ``%dapr status`` reports: endpoint, health, app id, runtime version, components, subscriptions."""

    grpc_endpoint: str
    http_endpoint: str
    healthy: bool
    app_id: str
    runtime_version: str
    components: Any
    subscriptions: Any
    sandbox: str = ""

    def __repr__(self) -> str:
        health = "healthy" if self.healthy else "unreachable"
        lines = [
            f"sidecar {self.grpc_endpoint} (http {self.http_endpoint}): {health}",
            f"app id {self.app_id!r}, runtime {self.runtime_version}" + (f", {self.sandbox}" if self.sandbox else ""),
            f"components ({len(self.components)}):",
            self.components.to_string(index=False) if len(self.components) else "  (none)",
            f"subscriptions ({len(self.subscriptions)}):",
            self.subscriptions.to_string(index=False) if len(self.subscriptions) else "  (none)",
        ]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        head = html.escape(repr(self).splitlines()[0]) + "<br>" + html.escape(repr(self).splitlines()[1])
        return (
            f"<p>{head}</p><p>components</p>{self.components.to_html(index=False)}"
            f"<p>subscriptions</p>{self.subscriptions.to_html(index=False)}"
        )


def status_of(ctx: Context, metadata: Metadata) -> Status:
    """Build the status report from the sidecar's metadata."""
    import pandas

    components = pandas.DataFrame(
        [(c.name, c.type, c.version, ", ".join(c.capabilities)) for c in metadata.components],
        columns=["name", "type", "version", "capabilities"],
    ).sort_values("name", ignore_index=True)
    subscriptions = pandas.DataFrame(
        [(s.pubsub, s.topic, s.type, s.dead_letter_topic) for s in metadata.subscriptions],
        columns=["pubsub", "topic", "type", "dead_letter_topic"],
    )
    settings = ctx.client.settings
    sandbox = ctx.session.sandbox
    return Status(
        str(settings.grpc), str(settings.http), True, metadata.app_id, metadata.runtime_version,
        components, subscriptions, f"kernel sandbox pid {sandbox.pid}" if sandbox else "",
    )  # fmt: skip


def _no_args(p: argparse.ArgumentParser) -> None:
    return None


@command("status", "health, app id, version, components, subscriptions", _no_args, examples=["%dapr status"])
def status(ctx: Context, args: argparse.Namespace) -> Status:
    """Report the sidecar's health, identity, components and subscriptions."""
    return status_of(ctx, ctx.client.get_metadata())


@command("metadata", "the sidecar's metadata", _no_args, examples=["md = %dapr metadata\nmd.components"])
def metadata(ctx: Context, args: argparse.Namespace) -> Metadata:
    """Return the sidecar's metadata."""
    return ctx.client.get_metadata()


def _connect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="ENDPOINT", nargs="?", help="gRPC endpoint (default: follow DAPR_*)")
    p.add_argument("--token-env", metavar="VAR", help="environment variable holding the API token")
    p.add_argument("--http", metavar="URL", help="HTTP endpoint (for service invocation)")


@command(
    "connect", "choose the sidecar", _connect_args,
    examples=["%dapr connect localhost:50001 --token-env DAPR_API_TOKEN", "%dapr connect   # follow DAPR_* again"],
)  # fmt: skip
def connect(ctx: Context, args: argparse.Namespace) -> Status:
    """Point ``%dapr`` at a sidecar (or back at the DAPR_* variables) after checking it answers."""
    session = ctx.session
    before = (session.endpoint, session.http_endpoint, session.token_env)
    session.endpoint = ctx.text(args.endpoint, "ENDPOINT") if args.endpoint else None
    session.http_endpoint = args.http
    session.token_env = args.token_env
    try:
        return status_of(ctx, ctx.client.get_metadata())
    except BaseException:
        session.endpoint, session.http_endpoint, session.token_env = before
        raise


def _sandbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resources", metavar="PATH", help="component YAML folder (default: built-in components)")
    p.add_argument("--app-id", default="sandbox", metavar="ID", help="the sandbox's app id")


@command(
    "sandbox start", "start a kernel-owned sandbox", _sandbox_args,
    examples=["%dapr sandbox start", "%dapr sandbox start --resources ./components --app-id orders"],
)  # fmt: skip
def sandbox_start(ctx: Context, args: argparse.Namespace) -> Status:
    """Start a sandbox owned by this kernel and connect to it (DAPR_* variables exported)."""
    from ..sandbox import SandboxStartError

    if ctx.session.sandbox is not None:
        note(f"the kernel's sandbox is already running (pid {ctx.session.sandbox.pid})")
    try:
        ctx.session.start_sandbox(resources_path=args.resources, app_id=args.app_id)
    except SandboxStartError as error:
        raise UsageError(f"the sandbox did not start: {str(error).splitlines()[0]}") from None
    return status_of(ctx, ctx.client.wait_ready(timeout=ctx.config.timeout))


@command("sandbox stop", "stop the kernel's sandbox", _no_args, examples=["%dapr sandbox stop"])
def sandbox_stop(ctx: Context, args: argparse.Namespace) -> None:
    """Stop the kernel's sandbox and restore the DAPR_* variables."""
    note("sandbox stopped" if ctx.session.stop_sandbox() else "no sandbox was started in this kernel")


@command("sandbox status", "the kernel's sandbox", _no_args, examples=["%dapr sandbox status"])
def sandbox_status(ctx: Context, args: argparse.Namespace) -> Status:
    """Report the kernel's sandbox (UsageError when none is running)."""
    if ctx.session.sandbox is None:
        raise UsageError("no sandbox was started in this kernel; use %dapr sandbox start")
    return status(ctx, args)
