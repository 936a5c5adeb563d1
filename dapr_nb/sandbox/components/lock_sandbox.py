"""``lock.sandbox``: a sandbox-only lock store with the semantics of components-contrib's ``lock.redis``.

Rules: TryLock is set-if-absent with an expiry, so it fails whenever the key is held, even by the
same owner (not re-entrant); a lock vanishes ``expiryInSeconds`` after it was taken; Unlock
answers SUCCESS, LOCK_DOES_NOT_EXIST or LOCK_BELONGS_TO_OTHERS. Locks live in this process only
(a sandbox restart releases them all). Keys arrive already prefixed by the lock block
(``lock||<app-id>||<resource>``; see :meth:`SandboxLockStore.key_for`).
"""

from __future__ import annotations

import enum
import threading
import time

from ..errors import ComponentError
from ..resources import ComponentSpec
from . import BuildContext, Component

SEPARATOR = "||"


class UnlockStatus(enum.IntEnum):
    """``UnlockResponse.Status`` values."""

    SUCCESS = 0
    LOCK_DOES_NOT_EXIST = 1
    LOCK_BELONGS_TO_OTHERS = 2
    INTERNAL_ERROR = 3


def check_key(key: str) -> None:
    """Raise ValueError with daprd's message when ``key`` contains the reserved ``||``."""
    if SEPARATOR in key:
        raise ValueError(f"input key/keyPrefix '{key}' can't contain '{SEPARATOR}'")


class SandboxLockStore(Component):
    """In-process locks: ``{key: (owner, deadline)}`` behind one mutex; expired entries are dropped lazily."""

    _SWEEP_EVERY = 256

    def __init__(self, spec: ComponentSpec, app_id: str, strategy: str) -> None:
        super().__init__(spec)
        self._app_id = app_id
        self._strategy = strategy
        self._locks: dict[str, tuple[str, float]] = {}
        self._mutex = threading.Lock()
        self._ops = 0

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> SandboxLockStore:
        """Build the store; metadata ``keyPrefix`` (appid | name | none | <literal>) works as in daprd."""
        strategy = (spec.get("keyPrefix") or "appid").lower()
        try:
            check_key(strategy)
        except ValueError as exc:
            raise ComponentError(f"component {spec.name!r} ({spec.source}): {exc}") from exc
        return cls(spec, ctx.app_id, strategy)

    def key_for(self, resource_id: str) -> str:
        """Return daprd's stored key for ``resource_id``; raise ValueError if it contains ``||``."""
        check_key(resource_id)
        if self._strategy == "none" or (self._strategy == "appid" and not self._app_id):
            parts = ["lock", resource_id]
        elif self._strategy == "appid":
            parts = ["lock", self._app_id, resource_id]
        elif self._strategy == "name":
            parts = ["lock", self.name, resource_id]
        else:
            parts = ["lock", self._strategy, resource_id]
        return SEPARATOR.join(parts)

    def try_lock(self, key: str, owner: str, expiry_seconds: int) -> bool:
        """Take ``key`` for ``owner`` unless anyone (``owner`` included) holds it; return whether it was taken."""
        now = time.monotonic()
        with self._mutex:
            self._maybe_sweep(now)
            held = self._locks.get(key)
            if held is not None and held[1] > now:
                return False
            self._locks[key] = (owner, now + expiry_seconds)
            return True

    def unlock(self, key: str, owner: str) -> UnlockStatus:
        """Release ``key`` if ``owner`` holds it."""
        now = time.monotonic()
        with self._mutex:
            held = self._locks.get(key)
            if held is None or held[1] <= now:
                self._locks.pop(key, None)
                return UnlockStatus.LOCK_DOES_NOT_EXIST
            if held[0] != owner:
                return UnlockStatus.LOCK_BELONGS_TO_OTHERS
            del self._locks[key]
            return UnlockStatus.SUCCESS

    def _maybe_sweep(self, now: float) -> None:
        self._ops += 1
        if self._ops % self._SWEEP_EVERY:
            return
        for key in [k for k, (_, deadline) in self._locks.items() if deadline <= now]:
            del self._locks[key]

    def close(self) -> None:
        """Release every lock."""
        with self._mutex:
            self._locks.clear()
