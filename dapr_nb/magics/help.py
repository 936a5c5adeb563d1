"""``%dapr``, ``%dapr help`` and ``%dapr help GROUP``: usage with examples, built from the command table."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError

from .registry import REGISTRY, Command, Context
from .views import Text

EXAMPLES: dict[str, list[str]] = {
    "connect": ["%dapr connect localhost:50001 --token-env DAPR_API_TOKEN", "%dapr connect   # follow DAPR_* again"],
    "status": ["%dapr status"],
    "sandbox": ["%dapr sandbox start", "%dapr sandbox status", "%dapr sandbox stop"],
    "state": [
        "df = %dapr state get statestore order-1 order-2",
        "%dapr state set statestore order-1 '{\"total\": 12}' --ttl 60",
        "%dapr state set statestore {{key}} :order",
        "%dapr state delete statestore order-1",
        '%%dapr state query statestore -o rows\n{"filter": {"EQ": {"status": "open"}}}',
        '%%dapr state set statestore\n{"a": 1, "b": {"x": 2}}',
        "%%dapr state transaction statestore\n"
        '[{"operation": "upsert", "request": {"key": "a", "value": 1}},\n'
        ' {"operation": "delete", "request": {"key": "b"}}]',
    ],
    "publish": [
        "%dapr publish pubsub orders '{\"id\": 1}' --meta ttlInSeconds=60",
        '%%dapr publish pubsub orders --bulk\n[{"id": 1}, {"id": 2}]',
    ],
    "subscribe": ["view = %dapr subscribe pubsub orders --max 10", "view.wait(10); view.counts; view.to_frame()"],
    "invoke": ["%dapr invoke checkout orders --verb POST --data '{\"id\": 1}' --header x-trace=1"],
    "binding": ["%dapr binding localfiles create hello --meta fileName=hello.txt"],
    "secret": ["%dapr secret get secretstore db-password", "%dapr secret list secretstore --reveal"],
    "config": [
        "%dapr config get configstore color size",
        "view = %dapr config watch configstore color",
        "view.wait(1); view.history",
    ],
    "lock": ["%dapr lock acquire lockstore invoice-7 --expiry 30", "%dapr lock release lockstore invoice-7"],
    "job": ["%dapr job schedule nightly --schedule '@every 1h' --data '{\"task\": \"report\"}'", "%dapr job list"],
    "metadata": ["%dapr metadata"],
    "workflow": [
        "iid = %dapr workflow start order_flow --input '{\"id\": 1}'",
        "%dapr workflow wait {{iid}} --timeout 30",
        "%dapr workflow list --status RUNNING",
        "%dapr workflow history {{iid}}",
        "%dapr workflow timeline {{iid}}",
        "%dapr workflow list --live",
        "%dapr workflow raise {{iid}} approval true",
    ],
}

INTRO = """\
%dapr — talk to a Dapr sidecar from this notebook.

  %dapr GROUP [VERB] ARGS...        line magic: returns its result (df = %dapr state get ...)
  %%dapr GROUP [VERB] ARGS... [-o NAME]   cell magic: the cell body is JSON or YAML; -o stores the result
  {{name}} inserts a variable's text; :name passes a variable's value as data.
  Settings: %config Dapr.endpoint / timeout / wait_timeout / max_rows / reveal / token_env.
"""


def _usage(command: Command) -> str:
    prefix = "" if command.usage.startswith("%%") else "%dapr "
    return f"  {prefix + command.usage:<72} {command.summary}"


def group_help(group: str) -> str:
    """Return the usage lines and examples of one group."""
    lines = [_usage(c) for c in REGISTRY.in_group(group)]
    examples = [f"    {line}" for example in EXAMPLES.get(group, []) for line in example.splitlines()]
    return "\n".join([*lines, "  examples:", *examples] if examples else lines)


def overview() -> Text:
    """Return the help for every group."""
    sections = [f"{group}:\n{group_help(group)}" for group in REGISTRY.groups()]
    return Text(INTRO + "\n" + "\n\n".join(sections) + "\n\n  More: %dapr help GROUP")


def _help_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("group", metavar="GROUP", nargs="?")


def show(ctx: Context, args: argparse.Namespace) -> Text:
    """Return help for all groups or one."""
    if args.group is None:
        return overview()
    if args.group not in REGISTRY.groups():
        raise UsageError(f"no help for {args.group!r}; groups: {', '.join(REGISTRY.groups())}")
    return Text(f"{args.group}:\n{group_help(args.group)}")


REGISTRY.add(Command("help", "", "help [GROUP]", "this help", _help_args, show))
