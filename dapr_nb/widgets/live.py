"""LiveWidget: the one base of every live view — worker thread, reconnect loop, stop, registry, client, Batcher.

Rule: a widget supplies blocking I/O as ``connect`` / ``ready`` / ``fetch`` (run on the worker thread only; they
touch no trait and no child widget) and its state changes as ``apply`` (run on the kernel's loop by the
:class:`~dapr_nb.widgets.batch.Batcher`, inside ``hold_sync``). Constructors do no I/O and start no thread;
:meth:`LiveWidget.start` registers the widget under its key (closing the widget the same cell made before) and
starts the worker; the factories in :mod:`dapr_nb.widgets.api` construct, then start. The worker opens,
readies, then fetches until the handle ends (re-opened with jittered back-off) or the widget is finished;
every handle ``connect`` returned is closed by the base exactly once, whatever fails after it. ``state`` and
``error`` show where the loop is and why it is not connected.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Int, List, TraitError, Unicode

from . import registry
from .batch import Batcher
from .connection import Source, open_client
from .snapshot import Snapshot

log = logging.getLogger("dapr_nb")
L = TypeVar("L", bound="LiveWidget")
JOIN_TIMEOUT = 5.0
RUNNING = frozenset({"connecting", "connected", "reconnecting"})


class SettingError(TraitError, ValueError):
    """A widget setting is out of range (a ValueError too, for callers that do not know traitlets)."""


def at_least(proposal: Any, low: float) -> Any:
    """Return ``proposal.value`` (a traitlets ``@validate`` proposal) if it is ≥ ``low``, else raise SettingError."""
    value = proposal["value"]
    if value is not None and value < low:
        shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
        raise SettingError(f"{proposal['trait'].name} must be at least {low:g}, not {shown}")
    return value


class Backoff:
    """Jittered exponential back-off: ``first`` s doubling up to ``most`` s; :meth:`reset` after a success."""

    def __init__(self, first: float = 0.2, most: float = 5.0, rand: Callable[[], float] = random.random) -> None:
        self.first, self.most, self._rand = first, most, rand
        self._delay = first

    def next(self) -> float:
        """Return the next wait (0.5–1.5 × the current delay) and double the delay."""
        wait = self._delay * (0.5 + self._rand())
        self._delay = min(self._delay * 2, self.most)
        return wait

    def reset(self) -> None:
        """Start again from ``first``."""
        self._delay = self.first


class LiveWidget(Snapshot, w.VBox):  # type: ignore[misc]
    """Base of the live views: a worker thread fetching from Dapr, its state and errors, stop and close.

    Subclasses define ``connect`` (acquire a stream, or nothing), ``ready`` (I/O after opening), ``fetch`` (one
    step; False when the stream ended), ``finished`` (done for good), ``apply`` and ``snapshot_html``.
    """

    state = Unicode("idle", help="idle, connecting, connected, reconnecting, done (finished) or closed").tag(sync=True)
    error = Unicode("", help="why the widget is not connected (the last attempt's error), '' once it is").tag(sync=True)
    errors: List[str] = List(Unicode(), help="recent error lines, oldest first").tag(sync=True)
    reconnects = Int(0, help="how often the connection was opened again after it was lost").tag(sync=True)

    OPEN_FAILED = "connect failed"
    LOST = "connection lost"

    def __init__(self, children: list[Any], *, client: Source, key: Hashable, interval: float, **traits: Any) -> None:
        super().__init__(children, **traits)
        self.client, self._owns_client = open_client(client)
        self._key = key
        self._phase = "idle"
        self._fetching = False  # the error prefix: LOST while fetching, else OPEN_FAILED
        self._failure = ""
        self._reconnect_count = 0
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._tried = threading.Event()  # the first attempt is over, whatever its outcome
        self._handle: Any = None
        self._handle_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error_lines: deque[str] = deque(maxlen=20)
        self._errors_lock = threading.Lock()
        self._batcher = Batcher(self._apply_all, interval=interval, on_error=self._report)
        self._stopped = False  # last: a half-built widget (a bad argument) counts as stopped

    # -- what a widget supplies -------------------------------------------------------------------------------

    def connect(self) -> Any:
        """Acquire what the worker reads from (a subscription), or None for pollers (worker thread)."""
        return None

    def ready(self, handle: Any) -> None:
        """Do the I/O that follows opening (first values, first poll); a failure closes ``handle`` (worker thread)."""

    def fetch(self, handle: Any) -> bool:  # pragma: no cover - every widget overrides it
        """Do one step of blocking I/O; return False when ``handle`` ended and must be re-opened (worker thread)."""
        raise NotImplementedError

    @property
    def pace(self) -> float:
        """Return the seconds the worker waits between fetches: 0 for streams (their fetch waits), else ``poll``."""
        return 0.0

    def finished(self) -> bool:
        """Return whether there is nothing more to fetch (then the widget stops by itself)."""
        return False

    def apply(self) -> None:  # pragma: no cover - every widget overrides it
        """Copy the fetched state into the traits and child widgets (kernel loop, inside ``hold_sync``)."""
        raise NotImplementedError

    def wake(self) -> None:
        """Wake whoever waits on the widget's model (called when the state changes or the widget stops)."""

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self: L) -> L:
        """Register under the widget's key (closing the previous holder) and start the worker; returns self."""
        if self._stopped:
            raise RuntimeError(f"{type(self).__name__} is stopped; make a new one")
        if self._thread is None:
            registry.register(self._key, self)
            self._set_phase("connecting")
            self._thread = threading.Thread(target=self._run, name=f"dapr-nb-{type(self).__name__}", daemon=True)
            self._thread.start()
        return self

    def wait_connected(self, timeout: float = 10.0, *, retry: bool = True) -> bool:
        """Wait (≤ ``timeout`` s) until the widget is connected (first values read); return whether it is.

        With ``retry=False`` it returns after the first attempt: False at once when the sidecar refuses
        (the reason is the last of ``errors``); the widget itself keeps retrying until stopped.
        """
        (self._connected if retry else self._tried).wait(timeout)
        self.flush()
        return self._connected.is_set()

    @property
    def active(self) -> bool:
        """Return whether the worker is fetching (False before start, once finished, stopped or closed)."""
        return self._thread is not None and self._phase in RUNNING and not self._stopping.is_set()

    def stop(self) -> None:
        """Stop the worker (closing what it opened), release an owned client; the view keeps its last picture."""
        if getattr(self, "_stopped", True):
            return
        self._stopped = True
        self._stopping.set()
        self.wake()
        self._release()  # wakes a worker blocked on the stream; the worker releases what it opens later
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT)
        if self._phase != "done":
            self._set_phase("closed")
        registry.unregister(self._key, self)
        if self._owns_client:
            self.client.close()
        self.flush()
        self._batcher.close()
        self.publish_final()

    def close(self) -> None:
        """Stop and close the widget (its views disappear; the saved output keeps the last picture)."""
        self._view_closing = True
        self.stop()
        super().close()

    def flush(self) -> None:
        """Apply pending updates now (call it from the kernel thread; tests use it instead of the loop)."""
        self._batcher.request()
        self._batcher.flush()

    # -- errors ---------------------------------------------------------------------------------------------------

    def note_error(self, text: str) -> None:
        """Keep an error line for display (thread-safe; a repeat of the newest line is kept once)."""
        with self._errors_lock:
            if not self._error_lines or self._error_lines[-1] != text:
                self._error_lines.append(text)
        self._batcher.request()

    def error_lines(self) -> list[str]:
        """Return the kept error lines, oldest first."""
        with self._errors_lock:
            return list(self._error_lines)

    def _report(self, exc: BaseException) -> None:
        self.note_error(f"display update failed: {exc}")

    # -- the worker ----------------------------------------------------------------------------------------------

    def _set_phase(self, phase: str) -> None:
        if self._phase != phase:
            self._phase = phase
            self.wake()
            self._batcher.request()

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set() and self._phase != "done":
            try:
                self._serve(backoff)
            except Exception as exc:  # DaprError (sidecar down) or a bug: show it, then retry
                self._failure = f"{self.LOST if self._fetching else self.OPEN_FAILED}: {exc}"
                self.note_error(self._failure)
            finally:
                self._release()
                self._tried.set()
            if self._stopping.is_set() or self._phase == "done":
                break
            self._set_phase("reconnecting" if self._connected.is_set() else "connecting")
            self._stopping.wait(backoff.next())
        self.wake()
        self._batcher.request()

    def _serve(self, backoff: Backoff) -> None:
        """Open, ready, then fetch until the handle ends, the widget is finished or stopped."""
        self._fetching = False
        handle = self.connect()
        with self._handle_lock:
            self._handle = handle
        if self._stopping.is_set():  # stop() ran while we were connecting: the caller's finally releases it
            return
        self.ready(handle)
        if self._connected.is_set():
            self._reconnect_count += 1
        backoff.reset()
        self._fetching, self._failure = True, ""
        self._set_phase("done" if self.finished() else "connected")
        self._connected.set()
        self._tried.set()
        while self._phase != "done" and not self._stopping.is_set():
            if self.pace and self._stopping.wait(self.pace):
                return
            if not self.fetch(handle):
                return  # the stream ended: re-open it
            if self.finished():
                self._set_phase("done")

    def _release(self) -> None:
        """Close the open handle, once (stop() and the worker both call it)."""
        with self._handle_lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except Exception:
                log.exception("dapr_nb: closing %r failed", handle)

    def _apply_all(self) -> None:
        errors = self.error_lines()
        with self.hold_sync():
            self.state, self.reconnects = self._phase, self._reconnect_count
            self.errors, self.error = errors, self._failure
            self.apply()
        if self._phase == "done" and not self._stopped:
            self.stop()  # finished by itself: join the worker, release the client, leave the final picture
