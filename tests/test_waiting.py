"""The shared waits (tests/_waiting.py) can fail: a wait that cannot time out or a blind quiet check is a defect."""

from __future__ import annotations

import itertools
import queue
import threading

import pytest
from _waiting import assert_quiet, wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "ready", interval=0.001) == "ready"


def test_wait_until_fails_with_the_message_it_was_given() -> None:
    with pytest.raises(AssertionError, match=r"never true: 0 \(waited 0.1 s\)"):
        wait_until(lambda: False, 0.1, lambda: f"never true: {0}")


def test_assert_quiet_passes_on_silence_and_fails_on_a_late_arrival() -> None:
    inbox: queue.Queue[str] = queue.Queue()
    assert_quiet(inbox, 0.05)
    late = threading.Timer(0.05, inbox.put, ("late",))
    late.start()
    try:
        with pytest.raises(AssertionError, match="expected nothing within 10 s, got 'late'"):
            assert_quiet(inbox, 10)
    finally:
        late.join()
