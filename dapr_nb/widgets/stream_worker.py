"""The reader thread behind a TopicStream: subscribe, apply the ack policy, hold while paused, reconnect.

Rule: one daemon thread per stream owns the subscription; it never touches a widget — it writes to the
thread-safe :class:`StreamLog` and calls ``on_change`` (a Batcher request). Messages received while
paused are held *unacked*; a stream that breaks (sidecar restart) is reopened with jittered back-off,
and held messages stay held: the ones the broker redelivers replace their old copy, the others are
still handed to the policy on resume and marked ``unacked`` because their stream is gone.
With a ``limit`` the worker takes that many deliveries, hands them (and any held ones) to the policy,
then closes the subscription and ends in state ``done``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..core.results import TopicMessage
from .stream_model import OUTCOMES, Record, StreamLog

log = logging.getLogger("dapr_nb")

Policy = str | Callable[[TopicMessage], Any]
POLL = 0.2
MAX_BACKOFF = 5.0


class _Subscription(Protocol):
    @property
    def active(self) -> bool: ...

    def next_message(self, timeout: float | None = None) -> TopicMessage | None: ...

    def ack(self, message: TopicMessage | str, status: Any = "success") -> None: ...

    def close(self) -> None: ...


def decide(policy: Policy, message: TopicMessage) -> tuple[str, str]:
    """Return ``(outcome, error)`` for a message: a fixed status, or what a handler returns.

    A handler returning None or True means success, False means retry, a status string is used as is;
    a handler that raises (or returns anything else) retries the message and reports the error.
    """
    if not callable(policy):
        return policy, ""
    try:
        answer = policy(message)
    except Exception as exc:
        return "retry", f"{type(exc).__name__}: {exc}"
    if answer is None or answer is True:
        return "success", ""
    if answer is False:
        return "retry", ""
    if isinstance(answer, str) and answer.lower() in OUTCOMES:
        return answer.lower(), ""
    return "retry", f"handler returned {answer!r}; expected 'success', 'retry', 'drop', True, False or None"


def check_policy(policy: Policy) -> Policy:
    """Return ``policy`` if it is a status or a callable, else raise ValueError."""
    if callable(policy) or policy in OUTCOMES:
        return policy
    raise ValueError(f"ack policy must be 'success', 'retry', 'drop' or a handler, not {policy!r}")


class StreamWorker:
    """Own one topic subscription on a daemon thread (reconnecting) and apply the ack policy."""

    def __init__(
        self,
        client: Any,
        pubsub: str,
        topic: str,
        record_log: StreamLog,
        *,
        policy: Policy = "success",
        dead_letter_topic: str | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.client, self.pubsub, self.topic = client, pubsub, topic
        self.log = record_log
        self.policy = check_policy(policy)
        self.dead_letter_topic, self.metadata = dead_letter_topic, dict(metadata or {})
        self.on_change = on_change
        self.limit, self.taken = limit, 0
        self.state = "connecting"
        self.reconnects = 0
        self._stop = threading.Event()
        self._paused = False
        self._held: deque[tuple[_Subscription, Record]] = deque()
        self._sub: _Subscription | None = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._tried = threading.Event()  # the first subscribe attempt is over (whatever its outcome)
        self._thread = threading.Thread(target=self._run, name=f"dapr-nb-stream-{pubsub}/{topic}", daemon=True)

    @property
    def held(self) -> int:
        """Return how many received messages wait (unacked) for resume."""
        return len(self._held)

    @property
    def paused(self) -> bool:
        """Return whether new messages are held."""
        return self._paused

    @property
    def alive(self) -> bool:
        """Return whether the reader thread runs."""
        return self._thread.is_alive()

    def start(self) -> StreamWorker:
        """Start the reader thread."""
        self._thread.start()
        return self

    def wait_connected(self, timeout: float, *, retry: bool = True) -> bool:
        """Wait (≤ ``timeout`` s) until the first subscription is open; ``retry=False``: only the first attempt."""
        (self._connected if retry else self._tried).wait(timeout)
        return self._connected.is_set()

    def pause(self) -> None:
        """Hold new messages unacked until :meth:`resume`."""
        self._paused = True
        self.log.notify()
        self.on_change()

    def resume(self) -> None:
        """Hand held messages to the policy (on the reader thread) and continue."""
        self._paused = False
        self.on_change()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the subscription (flushing acks given) and join the thread; held messages stay unacked."""
        self._stop.set()
        with self._lock:
            sub = self._sub
        if sub is not None:
            sub.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.state != "done":
            self._set_state("closed")

    def _set_state(self, state: str) -> None:
        if self.state != state:
            self.state = state
            self.log.notify()
            self.on_change()

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                sub = self.client.subscribe(
                    self.pubsub, self.topic, metadata=self.metadata or None, dead_letter_topic=self.dead_letter_topic
                )
            except Exception as exc:  # DaprError (sidecar down) or a client bug: show it and retry
                self.log.note_error(f"subscribe failed: {exc}")
                self._tried.set()
                self._set_state("reconnecting" if self._connected.is_set() else "connecting")
                self._stop.wait(delay * (0.5 + random.random()))
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if self._connected.is_set():
                self.reconnects += 1
            delay = 0.2
            with self._lock:
                self._sub = sub
            if self._stop.is_set():  # stop() ran while we were subscribing
                sub.close()
                break
            self._connected.set()
            self._tried.set()
            self._set_state("connected")
            try:
                self._pump(sub)
            except Exception as exc:
                self.log.note_error(f"stream lost: {exc}")
            finally:
                sub.close()
            if not self._stop.is_set():
                self._set_state("reconnecting")
        self.log.notify()

    def _pump(self, sub: _Subscription) -> None:
        while not self._stop.is_set():
            if not self._paused:
                self._drain_held(sub)
            if self.limit is not None and self.taken >= self.limit:
                if not self._held:
                    self._stop.set()
                    self._set_state("done")
                    return
                self._stop.wait(POLL)  # paused with held messages: wait for resume
                continue
            message = sub.next_message(timeout=POLL)
            if message is None:
                if not sub.active:
                    return
                continue
            self.taken += 1
            record = self.log.add(message)
            self._supersede(sub, message.id)
            if self._paused or self._held:
                self._held.append((sub, record))
                self.on_change()
            else:
                self._handle(sub, record, sub)

    def _supersede(self, sub: _Subscription, message_id: str) -> None:
        for entry in list(self._held):
            old_sub, old = entry
            if old_sub is not sub and old.message.id == message_id:
                self._held.remove(entry)
                self.log.settle(old, "superseded")

    def _drain_held(self, current: _Subscription) -> None:
        while self._held and not self._paused and not self._stop.is_set():
            sub, record = self._held.popleft()
            self._handle(sub, record, current)

    def _handle(self, sub: _Subscription, record: Record, current: _Subscription) -> None:
        outcome, error = decide(self.policy, record.message)
        if sub is not current or not sub.active:
            self.log.settle(record, "unacked", error)
        else:
            try:
                sub.ack(record.message, outcome)
            except (RuntimeError, ValueError) as exc:
                self.log.settle(record, "unacked", error or str(exc))
            else:
                self.log.settle(record, outcome, error)
        self.on_change()
