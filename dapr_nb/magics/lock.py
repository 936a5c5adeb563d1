"""``%dapr lock acquire|release STORE RESOURCE [--owner O] [--expiry S]``.

Rule: the owner defaults to one id per kernel session, so acquire and release pair up without ``--owner``.
"""

from __future__ import annotations

import argparse

from ..core.results import LockResult
from .registry import REGISTRY, Command, Context
from .render import note


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE")
    p.add_argument("resource", metavar="RESOURCE")
    p.add_argument("--owner", metavar="O", help="lock owner (default: this kernel's id)")
    p.add_argument("--expiry", type=int, default=60, metavar="S", help="seconds until the lock expires (acquire)")


def acquire(ctx: Context, args: argparse.Namespace) -> LockResult:
    """Try once to take the lock; the result is truthy when acquired."""
    owner = args.owner or ctx.session.owner
    result = ctx.client.try_lock(ctx.text(args.store, "STORE"), ctx.text(args.resource, "RESOURCE"), owner, args.expiry)
    note(f"lock {args.resource!r} " + ("acquired by " + owner if result else "is held by someone else"))
    return result


def release(ctx: Context, args: argparse.Namespace) -> str:
    """Release the lock; return ``success``, ``lock_does_not_exist`` or ``lock_belongs_to_others``."""
    owner = args.owner or ctx.session.owner
    return ctx.client.unlock(ctx.text(args.store, "STORE"), ctx.text(args.resource, "RESOURCE"), owner)


REGISTRY.add(
    Command("lock", "acquire", "lock acquire STORE RESOURCE [--owner O] [--expiry S]", "take a lock", _args, acquire),
    Command("lock", "release", "lock release STORE RESOURCE [--owner O]", "release a lock", _args, release),
)
