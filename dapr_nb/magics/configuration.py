"""``%dapr config get STORE KEY ...`` (a DataFrame) and ``%dapr config watch STORE KEY ...`` (a live view)."""

from __future__ import annotations

import argparse
from typing import Any

from .registry import REGISTRY, Command, Context
from .streams import ConfigView


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("keys", metavar="KEY", nargs="*", help="keys (all keys when none)")


def get(ctx: Context, args: argparse.Namespace) -> Any:
    """Read configuration items into a DataFrame: ``key``, ``value``, ``version``, ``metadata``."""
    import pandas

    items = ctx.client.get_configuration(ctx.text(args.store, "STORE"), [ctx.text(k, "KEY") for k in args.keys])
    rows = [(i.key, i.value, i.version, dict(i.metadata)) for i in items]
    return pandas.DataFrame(rows, columns=["key", "value", "version", "metadata"])


def watch(ctx: Context, args: argparse.Namespace) -> ConfigView:
    """Read the items, then subscribe to their changes; return the live view."""
    store, keys = ctx.text(args.store, "STORE"), [ctx.text(k, "KEY") for k in args.keys]
    client = ctx.client
    initial = tuple(client.get_configuration(store, keys))
    view = ConfigView(
        client.subscribe_configuration(store, keys, timeout=ctx.config.timeout), initial, max_rows=ctx.config.max_rows
    )
    ctx.session.track(view)
    return view


REGISTRY.add(
    Command("config", "get", "config get STORE KEY ...", "read configuration items", _args, get),
    Command("config", "watch", "config watch STORE KEY ...", "live view of configuration items", _args, watch),
)
