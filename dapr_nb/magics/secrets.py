"""``%dapr secret get STORE KEY`` and ``%dapr secret list STORE``: values masked unless ``--reveal``.

Rule: a secret value never reaches the cell's output or a repr unless ``--reveal`` (or
``%config Dapr.reveal = True``) was asked for; indexing the returned object gives the real value.
"""

from __future__ import annotations

import argparse

from .registry import Context, command
from .views import Secrets


def _get_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("key", metavar="KEY")
    p.add_argument("--reveal", action="store_true", help="show the values")


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("--reveal", action="store_true", help="show the values")


@command(
    "secret get", "read a secret (masked)", _get_args,
    examples=["%dapr secret get secretstore db-password", "s = %dapr secret get secretstore db\ns['db']['password']"],
)  # fmt: skip
def get(ctx: Context, args: argparse.Namespace) -> Secrets:
    """Read one secret (masked unless --reveal)."""
    store, key = ctx.text(args.store, "STORE"), ctx.text(args.key, "KEY")
    values = ctx.client.get_secret(store, key)
    return Secrets(store, {key: values}, revealed=args.reveal or ctx.config.reveal)


@command("secret list", "read all secrets (masked)", _list_args, examples=["%dapr secret list secretstore --reveal"])
def list_(ctx: Context, args: argparse.Namespace) -> Secrets:
    """Read every secret the store allows (masked unless --reveal)."""
    store = ctx.text(args.store, "STORE")
    return Secrets(store, ctx.client.get_bulk_secret(store), revealed=args.reveal or ctx.config.reveal)
