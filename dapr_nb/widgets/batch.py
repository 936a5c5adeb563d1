"""Move updates from background threads onto the kernel's event loop, batched.

Rule: background threads only call :meth:`Batcher.request`; the widget's ``apply`` runs on the loop's
thread at most once per ``interval`` (100–250 ms), never on the calling thread. Without a running
loop (plain scripts, tests) nothing is scheduled and :meth:`Batcher.flush` applies synchronously.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

log = logging.getLogger("dapr_nb")

MIN_INTERVAL = 0.1
MAX_INTERVAL = 0.25


def kernel_loop() -> asyncio.AbstractEventLoop | None:
    """Return the kernel's asyncio loop (the running one, else the IPython kernel's), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return None
    shell = get_ipython()
    io_loop = getattr(getattr(shell, "kernel", None), "io_loop", None)
    loop = getattr(io_loop, "asyncio_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


class Batcher:
    """Coalesce update requests from any thread into one ``apply()`` call on the event loop."""

    def __init__(
        self,
        apply: Callable[[], None],
        *,
        interval: float = 0.15,
        loop: asyncio.AbstractEventLoop | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.interval = min(max(interval, MIN_INTERVAL), MAX_INTERVAL)
        self._apply = apply
        self._on_error = on_error
        self._loop = loop if loop is not None else kernel_loop()
        self._lock = threading.Lock()
        self._dirty = False
        self._scheduled = False
        self._closed = False
        self.flushes = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """Return the loop updates are scheduled on (None: only :meth:`flush` applies them)."""
        return self._loop

    @property
    def pending(self) -> bool:
        """Return whether an update was requested and not applied yet."""
        return self._dirty

    def request(self) -> None:
        """Ask for an update (thread-safe); it is applied within ``interval`` on the loop."""
        with self._lock:
            self._dirty = True
            if self._scheduled or self._closed or self._loop is None or self._loop.is_closed():
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._arm)
        except RuntimeError:  # the loop closed between the check and the call
            with self._lock:
                self._scheduled = False

    def _arm(self) -> None:
        assert self._loop is not None
        self._loop.call_later(self.interval, self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Apply a pending update now, on the calling thread (the loop's thread, or a test's)."""
        with self._lock:
            if not self._dirty or self._closed:
                return
            self._dirty = False
        self.flushes += 1
        try:
            self._apply()
        except Exception as exc:
            log.exception("dapr_nb: widget update failed")
            if self._on_error is not None:
                self._on_error(exc)

    def close(self) -> None:
        """Stop scheduling; a final :meth:`flush` before closing keeps the last picture."""
        with self._lock:
            self._closed = True
