"""Protobuf values as the engine uses them: ``pb`` (the Durable Task messages), timestamps, optional strings, a clock.

Rule: ``pb`` comes from the one adapter, :mod:`dapr_nb.core._durabletask`; nothing here imports the
private protos itself. Importing this module loads them (≈0.6 s), so import it lazily.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from google.protobuf import timestamp_pb2, wrappers_pb2

from ...core import _durabletask

pb: Any = _durabletask.protos()
"""Durable Task messages and enums (``HistoryEvent``, ``WorkflowAction``, ``WorkItem`` …)."""

SENTINEL_SECONDS = calendar.timegm((9999, 1, 1, 0, 0, 0))
"""fireAt at or after this instant is an 'optional' timer (wait without timeout): never scheduled."""


def ts(seconds: float) -> Any:
    """Return a protobuf Timestamp for epoch seconds."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(round(seconds * 1e9)))
    return stamp


def seconds_of(stamp: Any) -> float:
    """Return epoch seconds of a protobuf Timestamp."""
    return float(stamp.seconds) + float(stamp.nanos) / 1e9


TIMESTAMP_RANGE = (-62_135_596_800, 253_402_300_799)
"""Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a protobuf Timestamp may hold."""


def readable_seconds(stamp: Any) -> float | None:
    """Return epoch seconds of a Timestamp that can be stored and sent back, or None when it cannot."""
    low, high = TIMESTAMP_RANGE
    if not (low <= stamp.seconds <= high and 0 <= stamp.nanos <= 999_999_999):
        return None
    seconds = seconds_of(stamp)
    try:
        ts(seconds)
    except (ValueError, OverflowError):
        return None
    return seconds


def sv(value: str | None) -> Any:
    """Return a StringValue, or None for None (so the field stays unset)."""
    return None if value is None else wrappers_pb2.StringValue(value=value)


def opt_str(msg: Any, field: str) -> str | None:
    """Return a StringValue field's value, or None when the field is unset."""
    return str(getattr(msg, field).value) if msg.HasField(field) else None


class Clock:
    """Wall clock that never repeats or goes backwards (the stamps it hands out are strictly increasing)."""

    def __init__(self) -> None:
        self._last = 0.0

    def now(self) -> float:
        """Return epoch seconds, at least 1 µs after the previous call."""
        value = max(time.time(), self._last + 1e-6)
        self._last = value
        return value
