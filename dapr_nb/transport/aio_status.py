"""The status a grpc.aio stream call really ended with, even when a write raced the sidecar's answer.

Rule: an aio stream wraps its call in :class:`CallEnding` before the first write, and every error it
reports goes through :meth:`CallEnding.error`. When the sidecar ends a call from its headers alone
(UNAUTHENTICATED for a wrong token, UNIMPLEMENTED, RESOURCE_EXHAUSTED) while the client's write is in
flight, grpc.aio fails that write and then *overwrites* the call's status with a local INTERNAL
("Internal error from Core"), so ``call.code()`` read afterwards hides the sidecar's answer. The call's
done callback runs the moment a status is set, before any overwrite: that is where the real one is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import grpc

LOCAL_INTERNAL = "Internal error from Core"  # grpc.aio's own status for a failed operation in its core


def _now(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Return the result of a coroutine that finishes without waiting (a finished call's accessors), else None."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    return None


def is_local(exc: BaseException) -> bool:
    """Return whether ``exc`` is grpc.aio's own report of a failed write, not a status the sidecar sent."""
    if isinstance(exc, asyncio.InvalidStateError):
        return True
    return isinstance(exc, grpc.aio.AioRpcError) and exc.details() == LOCAL_INTERNAL


class CallEnding:
    """Keep the first status the sidecar ends ``call`` with (see the module rule); ``wait`` bounds the wait for it."""

    def __init__(self, call: Any, wait: float = 2.0) -> None:
        self.sent: grpc.aio.AioRpcError | None = None
        self._known = asyncio.Event()  # a status from the sidecar (OK or not) was seen
        self._wait = wait
        call.add_done_callback(self._done)

    def _done(self, call: Any) -> None:
        """Record the status just set on ``call`` unless it is grpc's local INTERNAL (grpc calls this, maybe twice)."""
        if self._known.is_set():
            return
        code, details = _now(call.code()), _now(call.details())
        if code is None or (code is grpc.StatusCode.INTERNAL and details == LOCAL_INTERNAL):
            return
        if code is not grpc.StatusCode.OK:
            initial, trailing = _now(call.initial_metadata()), _now(call.trailing_metadata())
            self.sent = grpc.aio.AioRpcError(code, initial, trailing, details, _now(call.debug_error_string()))
        self._known.set()

    async def error(self, exc: BaseException) -> grpc.RpcError:
        """Return the error to report for ``exc`` (a failed write or read): the sidecar's status when it sent one.

        For grpc's local INTERNAL it waits (≤ ``wait`` s) for the sidecar's status when none was seen yet.
        """
        if not self._known.is_set() and is_local(exc):
            try:
                await asyncio.wait_for(self._known.wait(), self._wait)
            except asyncio.TimeoutError:
                pass
        if self.sent is not None:
            return self.sent
        if isinstance(exc, grpc.RpcError):
            return exc
        return grpc.aio.AioRpcError(grpc.StatusCode.UNKNOWN, grpc.aio.Metadata(), grpc.aio.Metadata(), str(exc))
