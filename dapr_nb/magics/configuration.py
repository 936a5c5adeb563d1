"""``%dapr config get STORE KEY ...`` (a DataFrame) and ``%dapr config watch STORE KEY ...`` (a live ConfigWatch)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .registry import Context, command
from .widgets import open_widget

if TYPE_CHECKING:
    from ..widgets.config_watch import ConfigWatch


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("keys", metavar="KEY", nargs="*", help="keys (all keys when none)")


@command("config get", "read configuration items", _args, examples=["%dapr config get configstore color size"])
def get(ctx: Context, args: argparse.Namespace) -> Any:
    """Read configuration items into a DataFrame: ``key``, ``value``, ``version``, ``metadata``."""
    import pandas

    items = ctx.client.get_configuration(ctx.text(args.store, "STORE"), [ctx.text(k, "KEY") for k in args.keys])
    rows = [(i.key, i.value, i.version, dict(i.metadata)) for i in items]
    return pandas.DataFrame(rows, columns=["key", "value", "version", "metadata"])


@command(
    "config watch", "live view of configuration items", _args,
    examples=["view = %dapr config watch configstore color\nview.wait(1); view.history"],
)  # fmt: skip
def watch(ctx: Context, args: argparse.Namespace) -> ConfigWatch:
    """Subscribe to the items' changes and read their values; return the live ConfigWatch."""
    from ..widgets.api import watch_config

    store, keys = ctx.text(args.store, "STORE"), [ctx.text(k, "KEY") for k in args.keys]
    return open_widget(
        ctx,
        f"config watch {store}",
        lambda settings, timeout: watch_config(store, keys, client=settings, connect_timeout=timeout),
    )
