"""``%dapr invoke APP METHOD`` (service invocation) and ``%dapr binding NAME OPERATION`` (output bindings).

Rule: both return the typed result (``InvokeResult`` / ``BindingResult``: ``.data`` decoded, ``.raw`` bytes).
"""

from __future__ import annotations

import argparse

from ..core.results import BindingResult, InvokeResult
from .parsing import parse_pairs
from .registry import Context, command


def _invoke_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("app", metavar="APP")
    p.add_argument("method", metavar="METHOD")
    p.add_argument("--verb", metavar="V", help="HTTP verb (GET without data, POST with data)")
    p.add_argument("--data", metavar="D", help="request body: JSON, text or :name")
    p.add_argument("--header", metavar="k=v", nargs="+", action="extend", help="request headers")


@command(
    "invoke", "call a method on another app", _invoke_args,
    examples=[
        "%dapr invoke checkout orders --verb POST --data '{\"id\": 1}' --header x-trace=1",
        "reply = %dapr invoke checkout orders/1\nreply.data",
    ],
)  # fmt: skip
def invoke(ctx: Context, args: argparse.Namespace) -> InvokeResult:
    """Call METHOD on APP through the sidecar."""
    return ctx.client.invoke_method(
        ctx.text(args.app, "APP"),
        ctx.text(args.method, "METHOD"),
        ctx.value(args.data),
        verb=args.verb,
        headers=parse_pairs(args.header, "--header"),
    )


def _binding_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")
    p.add_argument("operation", metavar="OPERATION")
    p.add_argument("data", metavar="DATA", nargs="?", help="request data: JSON, text or :name")
    p.add_argument("--meta", metavar="k=v", nargs="+", action="extend", help="binding metadata")


@command(
    "binding", "invoke an output binding", _binding_args,
    examples=["%dapr binding localfiles create hello --meta fileName=hello.txt"],
)  # fmt: skip
def binding(ctx: Context, args: argparse.Namespace) -> BindingResult:
    """Invoke OPERATION on the output binding NAME."""
    return ctx.client.invoke_binding(
        ctx.text(args.name, "NAME"),
        ctx.text(args.operation, "OPERATION"),
        ctx.value(args.data),
        metadata=parse_pairs(args.meta),
    )
