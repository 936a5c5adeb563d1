"""The one adapter over the private ``dapr.ext.workflow._durabletask`` protos (pinned to dapr 1.19).

Rule: no other module imports ``_durabletask``; everything proto-shaped goes through ``pb`` here.
Importing this module executes ``dapr.ext.workflow/__init__`` (≈0.6 s), so import it lazily.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as _grpc
from dapr.ext.workflow._durabletask.internal import protos as _protos
from google.protobuf import timestamp_pb2, wrappers_pb2

pb: Any = _protos
"""Durable Task messages and enums (``HistoryEvent``, ``WorkflowAction``, ``WorkItem`` …)."""

ServicerBase: Any = _grpc.TaskHubSidecarServiceServicer
add_servicer: Any = _grpc.add_TaskHubSidecarServiceServicer_to_server
SERVICE_NAME = "TaskHubSidecarService"
"""The proto package is empty, so the full service name is bare."""

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


def sv(value: str | None) -> Any:
    """Return a StringValue, or None for None (so the field stays unset)."""
    return None if value is None else wrappers_pb2.StringValue(value=value)


def opt_str(msg: Any, field: str) -> str | None:
    """Return a StringValue field's value, or None when the field is unset."""
    return str(getattr(msg, field).value) if msg.HasField(field) else None


class Clock:
    """Wall clock that never repeats or goes backwards (history timestamps stay strictly increasing)."""

    def __init__(self) -> None:
        self._last = 0.0

    def now(self) -> float:
        """Return epoch seconds, at least 1 µs after the previous call."""
        value = max(time.time(), self._last + 1e-6)
        self._last = value
        return value
