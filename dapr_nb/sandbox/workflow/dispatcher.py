"""Work-item queues, worker streams and timers.

Rules: every method runs under the hub's lock (shared with the timer thread's condition) and none
blocks. Streams pull work: each stream's ``waker`` is called when work may be ready, and the first
stream to ``take`` gets the next ready instance turn (orchestrations first) or the next activity.
Nothing here knows workflow semantics; the ``WorkSource`` (the live state) builds items and takes them back.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("dapr_nb.sandbox.workflow")

TaskKey = tuple[str, int, int]
"""(instance id, generation, task id) of an activity."""

MAX_TIMER_WAIT = 30.0
"""The timer thread re-checks at least this often; waits are clamped far below threading.TIMEOUT_MAX."""


@dataclass(eq=False)
class Stream:
    """One GetWorkItems call: what it advertised, what it holds in flight, and warm history lengths."""

    id: int
    stateful: bool
    pings: bool
    closed: bool = False
    turns: set[str] = field(default_factory=set)
    activities: set[TaskKey] = field(default_factory=set)
    warm: dict[str, int] = field(default_factory=dict)
    waker: Callable[[], None] | None = None
    """Called (never blocking) when work may be ready for this stream, or it closed."""


class WorkSource(Protocol):
    """What the dispatcher needs from the engine's live state."""

    def build_turn(self, instance_id: str, stream: Stream) -> Any | None:
        """Return a WorkItem for the instance's next turn, or None if it has nothing to do."""

    def build_activity(self, key: TaskKey, stream: Stream) -> Any | None:
        """Return a WorkItem for a queued activity, or None if it is gone."""

    def abandon(self, stream: Stream) -> None:
        """Take back every item the stream holds (it ended before answering)."""

    def timers_due(self, instance_ids: list[str]) -> None:
        """Re-check instances whose timers (or scheduled starts) became visible."""


class Dispatcher:
    """Ready-instance and activity queues, open streams and the timer heap."""

    _source: WorkSource

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._timer_cv = threading.Condition(lock)
        self._ready: deque[str] = deque()
        self._ready_set: set[str] = set()
        self._activities: deque[TaskKey] = deque()
        self._timers: list[tuple[float, str]] = []
        self._ids = itertools.count(1)
        self.streams: dict[int, Stream] = {}
        self.closed = False
        self._timer_thread = threading.Thread(target=self._timer_loop, name="dapr-nb-wf-timers", daemon=True)

    def start(self, source: WorkSource) -> None:
        """Start taking work items and timers from ``source``."""
        self._source = source
        self._timer_thread.start()

    def open_stream(self, stateful: bool, pings: bool, waker: Callable[[], None] | None = None) -> Stream:
        """Register a new worker stream; ``waker`` is called whenever it may have work."""
        stream = Stream(next(self._ids), stateful, pings, waker=waker)
        self.streams[stream.id] = stream
        log.info("workflow worker connected (stream %d, stateful=%s, pings=%s)", stream.id, stateful, pings)
        return stream

    def close_stream(self, stream: Stream) -> None:
        """Forget a stream and hand its in-flight work back for redelivery (idempotent)."""
        if stream.id not in self.streams:
            stream.closed = True
            return
        del self.streams[stream.id]
        stream.closed = True
        self._source.abandon(stream)
        stream.warm.clear()
        self._notify()
        if stream.waker is not None:
            stream.waker()
        log.info("workflow worker disconnected (stream %d)", stream.id)

    def forget_warm(self, instance_id: str) -> None:
        """Drop every stream's cached-history length for an instance (new generation or new instance)."""
        for stream in self.streams.values():
            stream.warm.pop(instance_id, None)

    def mark_ready(self, instance_id: str) -> None:
        """Queue an instance for a turn (no duplicates)."""
        if instance_id not in self._ready_set:
            self._ready_set.add(instance_id)
            self._ready.append(instance_id)
            self._notify()

    def queue_activity(self, key: TaskKey, front: bool = False) -> None:
        """Queue an activity for dispatch."""
        if front:
            self._activities.appendleft(key)
        else:
            self._activities.append(key)
        self._notify()

    def arm(self, at: float, instance_id: str) -> None:
        """Re-check the instance at ``at`` (epoch seconds)."""
        heapq.heappush(self._timers, (at, instance_id))
        if self._timers[0] == (at, instance_id):
            self._timer_cv.notify()

    def take(self, stream: Stream) -> Any | None:
        """Return the stream's next WorkItem, or None when there is none (or it closed); never blocks."""
        if stream.closed or self.closed:
            return None
        return self._take(stream)

    def _take(self, stream: Stream) -> Any | None:
        while self._ready:
            instance_id = self._ready.popleft()
            self._ready_set.discard(instance_id)
            item = self._source.build_turn(instance_id, stream)
            if item is not None:
                return item
        while self._activities:
            item = self._source.build_activity(self._activities.popleft(), stream)
            if item is not None:
                return item
        return None

    def _notify(self) -> None:
        for stream in self.streams.values():
            if stream.waker is not None:
                stream.waker()

    def close(self) -> None:
        """Stop the timer thread and release every stream."""
        self.closed = True
        self._notify()
        self._timer_cv.notify_all()

    def _timer_loop(self) -> None:
        with self._lock:
            while not self.closed:
                now = time.time()
                due: list[str] = []
                while self._timers and self._timers[0][0] <= now:
                    due.append(heapq.heappop(self._timers)[1])
                if due:
                    try:
                        self._source.timers_due(list(dict.fromkeys(due)))
                    except Exception:  # noqa: BLE001 - the timer thread must survive a bad instance
                        log.exception("workflow timer processing failed")
                wait = MAX_TIMER_WAIT if not self._timers else min(MAX_TIMER_WAIT, max(0.0, self._timers[0][0] - now))
                if wait > 0:
                    self._timer_cv.wait(wait)
