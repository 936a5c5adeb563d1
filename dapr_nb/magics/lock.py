"""``%dapr lock acquire`` and ``%dapr lock release``: a distributed lock on a resource (only acquire takes an expiry).

Rule: the owner defaults to one id per kernel session, so acquire and release pair up without ``--owner``.
"""

from __future__ import annotations

import argparse

from ..core.results import LockResult
from .registry import Context, command
from .render import note


def _release_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("resource", metavar="RESOURCE")
    p.add_argument("--owner", metavar="O", help="lock owner (default: this kernel's id)")


def _acquire_args(p: argparse.ArgumentParser) -> None:
    _release_args(p)
    p.add_argument("--expiry", type=int, default=60, metavar="S", help="seconds until the lock expires")


@command(
    "lock acquire", "take a lock", _acquire_args,
    examples=["%dapr lock acquire lockstore invoice-7 --expiry 30"],
)  # fmt: skip
def acquire(ctx: Context, args: argparse.Namespace) -> LockResult:
    """Try once to take the lock; the result is truthy when acquired."""
    owner = args.owner or ctx.session.owner
    result = ctx.client.try_lock(ctx.text(args.store, "STORE"), ctx.text(args.resource, "RESOURCE"), owner, args.expiry)
    note(f"lock {args.resource!r} " + ("acquired by " + owner if result else "is held by someone else"))
    return result


@command(
    "lock release", "release a lock", _release_args,
    examples=["%dapr lock release lockstore invoice-7", "%dapr lock release lockstore invoice-7 --owner ada"],
)  # fmt: skip
def release(ctx: Context, args: argparse.Namespace) -> str:
    """Release the lock; return ``success``, ``lock_does_not_exist`` or ``lock_belongs_to_others``."""
    owner = args.owner or ctx.session.owner
    return ctx.client.unlock(ctx.text(args.store, "STORE"), ctx.text(args.resource, "RESOURCE"), owner)
