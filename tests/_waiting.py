"""Bounded waits on conditions for the tests: an outcome is never decided by a fixed sleep.

``wait_until`` polls until something must have happened; ``assert_quiet`` waits out a window in which
nothing may happen. Both fail with an ``AssertionError`` that says what was awaited, so a slow machine
only makes a test slower, never wrong (the timeouts are generous bounds, not expectations).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

WAIT = 10.0
QUIET = 0.5


def wait_until(
    predicate: Callable[[], T],
    timeout: float = WAIT,
    message: str | Callable[[], str] = "condition not reached",
    *,
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail after ``timeout`` seconds.

    ``message`` may be a function, called only on failure (to show the state that was waited on).
    """
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (waited {timeout:g} s)")
        time.sleep(interval)
    return value


def wait_threads_end(before: set[threading.Thread], what: str, timeout: float = WAIT) -> None:
    """Wait until every thread started since ``before`` (a ``set(threading.enumerate())``) has ended."""

    def new() -> list[str]:
        return sorted(t.name for t in set(threading.enumerate()) - before)

    wait_until(lambda: not new(), timeout, lambda: f"{what}: threads still running: {new()}")


def assert_quiet(inbox: queue.Queue[Any], window: float = QUIET, what: str = "nothing") -> None:
    """Fail if anything arrives in ``inbox`` within ``window`` seconds (or is already there)."""
    try:
        item = inbox.get(timeout=window)
    except queue.Empty:
        return
    raise AssertionError(f"expected {what} within {window:g} s, got {item!r}")
