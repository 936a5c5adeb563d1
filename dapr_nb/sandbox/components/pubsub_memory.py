"""``pubsub.in-memory``: the broker behind the sandbox's pub/sub building block.

Rules, as components-contrib's in-memory component behaves inside daprd:

* every subscription gets its own copy of every message published after it subscribed; nothing is
  kept for a topic nobody subscribes to;
* a subscription topic ending in ``*`` matches every topic that starts with the part before the
  ``*`` (``SUBSCRIBE_WILDCARDS``), but not that prefix itself;
* there is no persistence: messages live in this process only;
* a subscription that closes drops the messages it took but never acknowledged and those it had
  not taken yet: daprd cancels the closed subscription's handler, the component's retries fail
  against the cancelled context and the messages are gone. A later subscription never sees them.

At-least-once for reconnecting subscribers is a sandbox-only opt-in, component metadata
``redeliverOnClose: "true"``: a closing subscription then hands each unsettled message to exactly
one later subscription of the same topic — the oldest open one that subscribed after the message
was published (so it has no copy yet), else the next one to open. Messages waiting for a
subscription are capped at ``ORPHAN_LIMIT`` per topic, oldest dropped first. Beware: a client that
closes its stream before its last answer is flushed (the official SDK's ``close()`` does) gets that
message again on its next subscription.

``maxRetries`` / ``retryInterval`` (sandbox-only metadata) tell the building block how to redeliver
a message a subscriber answered RETRY; see :class:`RedeliveryPolicy`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..durations import metadata_seconds
from ..errors import ComponentError
from ..resources import ComponentSpec
from . import BuildContext, Component

log = logging.getLogger("dapr_nb.sandbox")

ORPHAN_LIMIT = 10_000
"""Unacknowledged messages kept per topic for the next subscription."""



class BrokerClosedError(RuntimeError):
    """The component was closed; it accepts no more messages."""


@dataclass(frozen=True)
class RedeliveryPolicy:
    """How a RETRY answer is handled: ``max_retries`` redeliveries (-1 = forever), exponential backoff.

    The backoff starts at ``interval`` seconds and doubles up to ``max_interval``. daprd without a
    resiliency policy would not retry at all; the sandbox retries like a broker that redelivers
    NACKed messages, then dead-letters (or drops) the message.
    """

    max_retries: int = 3
    interval: float = 0.1
    max_interval: float = 2.0

    def backoff(self, retry: int) -> float:
        """Return the delay before redelivery number ``retry`` (1-based)."""
        return float(min(self.max_interval, self.interval * 2 ** max(0, retry - 1)))

    def exhausted(self, retries_done: int) -> bool:
        """Tell whether no redelivery is left after ``retries_done`` redeliveries."""
        return self.max_retries >= 0 and retries_done >= self.max_retries


@dataclass(frozen=True)
class BrokerMessage:
    """A message as the broker stores it: raw bytes (usually a CloudEvent JSON) plus metadata."""

    topic: str
    data: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)
    seq: int = 0
    """Publication order within the broker."""


def topic_matches(pattern: str, topic: str) -> bool:
    """Tell whether a subscription topic (possibly ``prefix*``) matches a published topic."""
    if pattern == topic:
        return True
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return topic.startswith(prefix) and topic != prefix
    return False


class BrokerSubscription:
    """One subscriber's queue: take() the next message, ack() it, close() to hand back the rest."""

    def __init__(self, broker: InMemoryPubSub, topic: str, backlog: list[BrokerMessage], opened: int) -> None:
        self.topic = topic
        self.opened = opened
        """The broker's publication counter when this subscription opened: it has every later message."""
        self._broker = broker
        self._cond = threading.Condition(broker._lock)
        self._queue: deque[BrokerMessage] = deque(backlog)
        self._taken: list[BrokerMessage] = []
        self._interrupted = False
        self._closed = False
        self.on_ready: Callable[[], None] | None = None
        """Called (under the broker's lock; must not block) whenever take() may have news: a message or the end."""

    @property
    def ended(self) -> bool:
        """Return True once interrupted or closed (take() then always returns None)."""
        return self._interrupted or self._closed

    def _notify(self) -> None:
        # caller holds the broker lock
        self._cond.notify_all()
        if self.on_ready is not None:
            self.on_ready()

    def take(self, timeout: float | None = None) -> BrokerMessage | None:
        """Return the next message (now unacknowledged), or None when interrupted, closed or timed out."""
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._interrupted or self._closed, timeout)
            if self._interrupted or self._closed or not self._queue:
                return None
            message = self._queue.popleft()
            self._taken.append(message)
            return message

    def ack(self, message: BrokerMessage) -> None:
        """Forget a message taken with take(); it will not be handed on when this subscription closes."""
        with self._cond:
            for i, taken in enumerate(self._taken):
                if taken is message:
                    del self._taken[i]
                    return

    def interrupt(self) -> None:
        """Wake a blocked take() and make every later take() return None."""
        with self._cond:
            self._interrupted = True
            self._notify()

    def close(self) -> None:
        """Unsubscribe; unacknowledged and undelivered messages are dropped (or handed on, see the module)."""
        self._broker._unsubscribe(self)

    def _offer(self, message: BrokerMessage) -> None:
        # caller holds the broker lock
        self._queue.append(message)
        self._notify()

    def _adopt(self, messages: list[BrokerMessage]) -> None:
        # caller holds the broker lock; keep publication order
        self._queue = deque(sorted([*self._queue, *messages], key=lambda m: m.seq))
        self._notify()

    def _drain(self) -> list[BrokerMessage]:
        # caller holds the broker lock
        self._closed = True
        self._notify()
        pending = [*self._taken, *self._queue]
        self._taken.clear()
        self._queue.clear()
        return pending


class InMemoryPubSub(Component):
    """An in-process broker: per-subscription queues, wildcard topics, orphans kept for reconnects."""

    def __init__(self, spec: ComponentSpec, redelivery: RedeliveryPolicy | None = None,
                 redeliver_on_close: bool = False) -> None:
        super().__init__(spec)
        self.redelivery = redelivery or RedeliveryPolicy()
        self.redeliver_on_close = redeliver_on_close
        """Hand a closed subscription's unsettled messages to the next one (``redeliverOnClose``)."""
        self._lock = threading.Lock()
        self._subscriptions: list[BrokerSubscription] = []
        self._orphans: dict[str, deque[BrokerMessage]] = {}
        self._seq = 0
        self._closed = False

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> InMemoryPubSub:
        """Build the broker; ``maxRetries``/``retryInterval`` tune RETRY, ``redeliverOnClose`` opts in to hand-over."""
        defaults = RedeliveryPolicy()
        max_retries = _int(spec, "maxRetries", defaults.max_retries)
        interval = _duration(spec, "retryInterval", defaults.interval)
        policy = RedeliveryPolicy(max_retries, interval, max(interval, defaults.max_interval))
        return cls(spec, policy, spec.get_bool("redeliverOnClose"))

    def capabilities(self) -> list[str]:
        """Report the features daprd lists for pubsub.in-memory."""
        return ["SUBSCRIBE_WILDCARDS"]

    def publish(self, topic: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """Give every subscription matching ``topic`` its own copy; raise BrokerClosedError once closed."""
        with self._lock:
            if self._closed:
                raise BrokerClosedError("component is closed")
            self._seq += 1
            message = BrokerMessage(topic, data, dict(metadata), self._seq)
            for subscription in self._subscriptions:
                if topic_matches(subscription.topic, topic):
                    subscription._offer(message)

    def subscribe(self, topic: str) -> BrokerSubscription:
        """Open a subscription; it starts with the messages a closed subscription of ``topic`` left behind."""
        with self._lock:
            if self._closed:
                raise BrokerClosedError("component is closed")
            backlog = list(self._orphans.pop(topic, ()))
            subscription = BrokerSubscription(self, topic, backlog, self._seq)
            self._subscriptions.append(subscription)
        if backlog:
            log.info("pubsub %s: redelivering %d unacknowledged message(s) on %s", self.name, len(backlog),
                     topic)
        return subscription

    def close(self) -> None:
        """Refuse further messages and wake every waiting subscriber."""
        with self._lock:
            self._closed = True
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.interrupt()

    def _unsubscribe(self, subscription: BrokerSubscription) -> None:
        with self._lock:
            if subscription not in self._subscriptions:
                return
            self._subscriptions.remove(subscription)
            pending = subscription._drain()
            if not pending or self._closed:
                return
            if not self.redeliver_on_close:
                log.info("pubsub %s: %d unacknowledged message(s) on %s dropped with their closed subscription",
                         self.name, len(pending), subscription.topic)
                return
            waiting = self._hand_over(subscription.topic, pending)
            orphans = self._orphans.setdefault(subscription.topic, deque())
            orphans.extend(waiting)
            dropped = 0
            while len(orphans) > ORPHAN_LIMIT:
                orphans.popleft()
                dropped += 1
        log.info("pubsub %s: %d unacknowledged message(s) on %s handed on, %d wait for the next subscriber",
                 self.name, len(pending) - len(waiting), subscription.topic, len(waiting))
        if dropped:
            log.warning("pubsub %s: dropped %d unacknowledged message(s) on %s (more than %d waiting)",
                        self.name, dropped, subscription.topic, ORPHAN_LIMIT)

    def _hand_over(self, topic: str, pending: list[BrokerMessage]) -> list[BrokerMessage]:
        """Give each message to the oldest open subscription of ``topic`` without a copy; return the rest."""
        # caller holds the lock
        peers = sorted((s for s in self._subscriptions if s.topic == topic), key=lambda s: s.opened)
        given: dict[int, list[BrokerMessage]] = {}
        rest: list[BrokerMessage] = []
        for message in pending:
            heir = next((i for i, s in enumerate(peers) if s.opened >= message.seq), None)
            if heir is None:
                rest.append(message)
            else:
                given.setdefault(heir, []).append(message)
        for index, messages in given.items():
            peers[index]._adopt(messages)
        return rest


def _int(spec: ComponentSpec, key: str, default: int) -> int:
    raw = spec.get(key).strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ComponentError(f"{_where(spec)}: {key} must be an integer, got {raw!r}") from None
    if value < -1:
        raise ComponentError(f"{_where(spec)}: {key} must be -1 (forever) or more")
    return value


def _duration(spec: ComponentSpec, key: str, default: float) -> float:
    raw = spec.get(key)
    try:
        seconds = metadata_seconds(raw)
    except ValueError:
        problem = f"{key} must be a duration such as 100ms or 2s (or whole seconds), got {raw!r}"
        raise ComponentError(f"{_where(spec)}: {problem}") from None
    return default if seconds is None else seconds


def _where(spec: ComponentSpec) -> str:
    return f"component {spec.name!r} ({spec.source})"
