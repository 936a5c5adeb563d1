"""What a TopicStream does with each delivery: the ack policy, holding while paused, the ``max_messages`` limit.

Rule: no thread and no reconnect loop here — :class:`~dapr_nb.widgets.live.LiveWidget`'s worker calls
:meth:`StreamPump.step` with the open subscription, and nothing here touches a widget: it writes to the
thread-safe :class:`StreamLog` and calls ``on_change`` (a Batcher request). Messages received while
paused are held *unacked*; after a reconnect held messages stay held: the ones the broker redelivers
replace their old copy, the others are still handed to the policy on resume and marked ``unacked``
because their stream is gone. With a ``limit`` the pump takes that many deliveries, hands them (and any
held ones) to the policy, then reports :attr:`StreamPump.done`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ..core.results import TopicMessage
from .stream_model import OUTCOMES, Record, StreamLog

log = logging.getLogger("dapr_nb")

Policy = str | Callable[[TopicMessage], Any]
POLL = 0.2


class Subscription(Protocol):
    """The part of the client's subscription the pump uses."""

    @property
    def active(self) -> bool: ...

    def next_message(self, timeout: float | None = None) -> TopicMessage | None: ...

    def ack(self, message: TopicMessage | str, status: Any = "success") -> Any: ...


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


class StreamPump:
    """Take deliveries from a subscription one step at a time and apply the ack policy (see the module rule)."""

    def __init__(
        self,
        record_log: StreamLog,
        *,
        policy: Policy = "success",
        limit: int | None = None,
        on_change: Callable[[], None] = lambda: None,
        idle: Callable[[float], object] = lambda seconds: None,
    ) -> None:
        self.log = record_log
        self.policy = check_policy(policy)
        self.limit, self.taken = limit, 0
        self.on_change = on_change
        self._idle = idle  # the worker's interruptible sleep
        self._paused = False
        self._held: deque[tuple[Subscription, Record]] = deque()

    @property
    def held(self) -> int:
        """Return how many received messages wait (unacked) for resume."""
        return len(self._held)

    @property
    def paused(self) -> bool:
        """Return whether new messages are held."""
        return self._paused

    @property
    def done(self) -> bool:
        """Return whether the limit was reached and every delivery taken was handed to the policy."""
        return self.limit is not None and self.taken >= self.limit and not self._held

    def pause(self) -> None:
        """Hold new messages unacked until :meth:`resume`."""
        self._paused = True
        self.log.notify()
        self.on_change()

    def resume(self) -> None:
        """Hand held messages to the policy (on the worker thread, at its next step) and continue."""
        self._paused = False
        self.on_change()

    def step(self, sub: Subscription) -> bool:
        """Hand held messages on (unless paused), then wait ≤ 0.2 s for one delivery; False once ``sub`` ended."""
        if not self._paused:
            while self._held and not self._paused:
                held_sub, record = self._held.popleft()
                self._handle(held_sub, record, sub)
        if self.limit is not None and self.taken >= self.limit:
            self._idle(POLL)  # paused with held messages: wait for resume
            return True
        message = sub.next_message(timeout=POLL)
        if message is None:
            return bool(sub.active)
        self.taken += 1
        record = self.log.add(message)
        self._supersede(sub, message.id)
        if self._paused or self._held:
            self._held.append((sub, record))
            self.on_change()
        else:
            self._handle(sub, record, sub)
        return True

    def _supersede(self, sub: Subscription, message_id: str) -> None:
        for entry in list(self._held):
            old_sub, old = entry
            if old_sub is not sub and old.message.id == message_id:
                self._held.remove(entry)
                self.log.settle(old, "superseded")

    def _handle(self, sub: Subscription, record: Record, current: Subscription) -> None:
        outcome, error = decide(self.policy, record.message)
        if sub is not current or not sub.active:
            self.log.settle(record, "unacked", error)
        else:
            try:
                sub.ack(record.message, outcome)
            except Exception as exc:  # the stream closed under us (stop, sidecar gone): the broker redelivers
                self.log.settle(record, "unacked", error or str(exc))
            else:
                self.log.settle(record, outcome, error)
        self.on_change()
