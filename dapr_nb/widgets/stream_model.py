"""What a topic stream has seen: counts, the newest rows, a bounded record for ``to_frame``, the rate.

Rule: pure bookkeeping, no I/O and no widgets; every method is thread-safe (the reader thread writes,
the event loop reads snapshots). Memory is bounded: ``max_rows`` rows for display, ``max_records``
records for export, a 10 s window for the rate.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.results import TopicMessage

OUTCOMES = ("success", "retry", "drop")
_COUNTER = {"success": "acked", "retry": "retried", "drop": "dropped"}
RATE_WINDOW = 10.0


def preview(value: Any, limit: int = 80) -> str:
    """Return a one-line preview of a message payload (JSON for structures), cut at ``limit`` characters."""
    if isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value))
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class StreamCounts:
    """What a stream has counted since it started (or was cleared); ``held`` waits unacked for resume."""

    received: int = 0
    acked: int = 0
    retried: int = 0
    dropped: int = 0
    redelivered: int = 0
    unacked: int = 0
    failed: int = 0
    held: int = 0


@dataclass
class Record:
    """One delivery of a message and what became of it (``outcome`` is empty until acked)."""

    seq: int
    message: TopicMessage
    received_at: _dt.datetime
    delivery: int = 1
    outcome: str = ""
    error: str = ""

    def row(self) -> dict[str, Any]:
        """Return the display row: id, time, type, data preview, delivery number, outcome."""
        return {
            "seq": self.seq,
            "id": self.message.id,
            "time": self.received_at.strftime("%H:%M:%S.%f")[:-3],
            "type": self.message.type,
            "data": preview(self.message.data if self.message.data is not None else self.message.raw),
            "delivery": self.delivery,
            "outcome": self.outcome or "pending",
        }


@dataclass
class StreamLog:
    """Counts, newest rows and exportable records of one stream."""

    max_rows: int = 20
    max_records: int = 10_000
    clock: Callable[[], float] = time.monotonic
    counts: dict[str, int] = field(default_factory=dict)
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=20))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._rows: deque[Record] = deque(maxlen=max(self.max_rows, 1))
        self._records: deque[Record] = deque(maxlen=max(self.max_records, 1))
        self._seen: dict[str, int] = {}
        self._arrivals: deque[float] = deque()
        self._seq = 0
        names = ("received", "acked", "retried", "dropped", "redelivered", "failed", "unacked", "settled")
        self.counts = dict.fromkeys(names, 0)

    def add(self, message: TopicMessage) -> Record:
        """Record a delivery; a message id seen before counts as redelivered."""
        now = self.clock()
        with self._lock:
            self._seq += 1
            delivery = self._seen.get(message.id, 0) + 1
            if len(self._seen) >= 4 * self.max_records:  # keep the id memory bounded too
                self._seen.clear()
            self._seen[message.id] = delivery
            record = Record(self._seq, message, _dt.datetime.now(_dt.timezone.utc), delivery)
            self.counts["received"] += 1
            if delivery > 1:
                self.counts["redelivered"] += 1
            self._rows.append(record)
            self._records.append(record)
            self._arrivals.append(now)
            self._changed.notify_all()
            return record

    def settle(self, record: Record, outcome: str, error: str = "") -> None:
        """Record what became of a delivery: an ack outcome, ``unacked`` (stream lost) or ``superseded``.

        Each delivery is settled once; ``counts["settled"]`` counts them (``wait_for`` uses it).
        """
        with self._lock:
            record.outcome, record.error = outcome, error
            counter = _COUNTER.get(outcome, outcome)
            self.counts[counter] = self.counts.get(counter, 0) + 1
            if error:
                self.counts["failed"] += 1
                self.errors.append(f"{record.message.id}: {error}")
            self.counts["settled"] += 1
            self._changed.notify_all()

    def notify(self) -> None:
        """Wake :meth:`wait_for` callers (the reader thread calls it when it stops or pauses)."""
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, int]], bool], timeout: float) -> bool:
        """Block (≤ ``timeout`` s) until ``predicate(counts)`` holds; return whether it does.

        The predicate runs under the log's lock: it must be quick and must not call back into the log.
        """
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.counts), max(timeout, 0.0))

    def note_error(self, text: str) -> None:
        """Keep an error line for display (handler failures, connection errors)."""
        with self._lock:
            self.errors.append(text)

    def rate(self) -> float:
        """Return messages per second over the last 10 s."""
        now = self.clock()
        with self._lock:
            while self._arrivals and now - self._arrivals[0] > RATE_WINDOW:
                self._arrivals.popleft()
            return len(self._arrivals) / RATE_WINDOW

    def rows(self) -> list[dict[str, Any]]:
        """Return the newest rows, newest first."""
        with self._lock:
            return [r.row() for r in reversed(self._rows)]

    def records(self) -> list[Record]:
        """Return the kept records, oldest first."""
        with self._lock:
            return list(self._records)

    def snapshot(self) -> tuple[dict[str, int], list[dict[str, Any]], list[str]]:
        """Return counts, rows and errors as one consistent copy."""
        with self._lock:
            counts, errors = dict(self.counts), list(self.errors)
        return counts, self.rows(), errors

    def clear(self) -> None:
        """Forget rows, records, counts and errors (ids seen stay known, for redelivery counts)."""
        with self._lock:
            self._rows.clear()
            self._records.clear()
            self._arrivals.clear()
            self.errors.clear()
            for key in self.counts:
                self.counts[key] = 0

    def frame(self) -> Any:
        """Return the kept records as a pandas DataFrame (pandas imported here)."""
        import pandas as pd

        columns = ["seq", "id", "received_at", "topic", "type", "content_type", "data", "delivery", "outcome", "error"]
        rows = [
            (r.seq, r.message.id, r.received_at, r.message.topic, r.message.type, r.message.content_type,
             r.message.data, r.delivery, r.outcome or "pending", r.error)
            for r in self.records()
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)
