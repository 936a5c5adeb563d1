"""``Waker``: the one bridge from the sandbox's threads into the gRPC server's event loop.

Rule: long-lived calls (streams, blocking waits) run as coroutines on the server's loop and hold no
thread; the components and engines that feed them stay thread-based and only call
:meth:`Waker.set`, from any thread, never blocking. A waiter clears the waker, re-checks its
condition under the owner's lock, and only then waits, so no wake-up is ever lost.
"""

from __future__ import annotations

import asyncio


class Waker:
    """An ``asyncio.Event`` of the running loop that any thread may set."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def set(self) -> None:
        """Wake the waiter (safe from any thread, even after the loop closed)."""
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def clear(self) -> None:
        """Forget earlier wake-ups; call before re-checking the condition (loop thread only)."""
        self._event.clear()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for a wake-up; return False when ``timeout`` seconds passed first."""
        if timeout is None:
            await self._event.wait()
            return True
        try:
            await asyncio.wait_for(self._event.wait(), max(0.0, timeout))
        except (TimeoutError, asyncio.TimeoutError):  # distinct classes before Python 3.11
            return False
        return True
