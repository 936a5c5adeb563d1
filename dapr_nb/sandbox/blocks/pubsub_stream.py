"""Streaming subscriptions (``SubscribeTopicEventsAlpha1``): a small state machine fed by the app's answers.

Rules (daprd: ``pkg/api/grpc/subscribe.go``, ``pkg/runtime/pubsub/streamer``, ``pkg/runtime/subscription``):

* the initial request is checked in daprd's order: pubsub name, topic, unknown pubsub, subscription
  scopes; the subscription is registered (and shown in metadata as ``STREAMING``) before any event flows;
* delivery is serial per subscription (the in-memory component runs each subscriber's handler one
  message at a time, and daprd's handler waits for the app's answer): SUCCESS acknowledges, DROP
  dead-letters (or drops), RETRY redelivers the same event with backoff per the component's
  :class:`RedeliveryPolicy`, then dead-letters (or drops). A message that is not a CloudEvent (nor a
  raw payload), or has expired, is dead-lettered (or dropped) without reaching the app;
* a stream that ends leaves its unanswered and queued messages to the broker, which drops them as
  daprd's in-memory component does (or, with ``redeliverOnClose``, hands them to the next
  subscription of the topic).

No I/O of its own: the gRPC mixin drives :meth:`StreamSubscription.events` on the server's event loop
and feeds answers; a subscription holds no thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import grpc

from ..components.pubsub_memory import BrokerMessage, RedeliveryPolicy
from ..errors import DaprApiError
from ..runtime import Runtime, SubscriptionInfo
from ..wakeup import Waker
from .cloudevents import TopicEvent, Undeliverable, has_expired, received_cloud_event, topic_event
from .pubsub import Broker, Subscriber, Target, allowed, find, parse_bool, send

log = logging.getLogger("dapr_nb.sandbox")

SUCCESS, RETRY, DROP = 0, 1, 2
"""``TopicEventResponse.TopicEventResponseStatus`` values."""


@dataclass(frozen=True)
class StreamRequest:
    """The initial request of a streaming subscription."""

    pubsub_name: str
    topic: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    dead_letter_topic: str = ""


def stream_error(message: str) -> DaprApiError:
    """Return daprd's plain error for a failed stream (UNKNOWN, no details)."""
    return DaprApiError(grpc.StatusCode.UNKNOWN, message)


def _raw_payload(metadata: Mapping[str, str]) -> bool:
    # daprd reads the subscription's rawPayload for every message; a bad value makes each undeliverable
    try:
        return parse_bool(metadata.get("rawPayload", ""))
    except ValueError as exc:
        raise Undeliverable(f"error deserializing pubsub metadata: {exc}") from None


class StreamSubscription:
    """One streaming subscription: serial delivery, answers matched by event id, dead letters.

    Lives on the gRPC server's event loop: drive it with :meth:`events` (an async generator), feed
    answers with :meth:`acknowledge`, end it with :meth:`stop` and always :meth:`close` it, which
    leaves unanswered messages to the broker (:meth:`events` also closes it when it ends). The
    broker wakes it from its own threads through a :class:`~..wakeup.Waker`; it holds no thread.
    """

    def __init__(self, runtime: Runtime, request: StreamRequest, broker: Broker,
                 subscriber: Subscriber) -> None:
        self.runtime = runtime
        self.request = request
        self._broker = broker
        self._subscriber = subscriber
        self._policy: RedeliveryPolicy = getattr(broker, "redelivery", RedeliveryPolicy())
        self._waker = Waker()
        self._expected: str | None = None
        self._answers: dict[str, int] = {}
        self._stopped = False
        self._closed = False
        self._error = ""
        info = SubscriptionInfo(request.pubsub_name, request.topic, request.dead_letter_topic,
                                dict(request.metadata), "STREAMING")
        self._handle = runtime.add_subscription(info)
        subscriber.on_ready = self._waker.set

    @classmethod
    def open(cls, runtime: Runtime, request: StreamRequest) -> StreamSubscription:
        """Validate the initial request and subscribe at the broker (daprd's errors on failure); on the loop."""
        name, topic = request.pubsub_name, request.topic
        if not name:
            raise stream_error("pubsubName is required")
        if not topic:
            raise stream_error("topic is required")
        broker = find(runtime, name)
        if not allowed(runtime, name, topic, "subscriptionScopes"):
            problem = f"subscription to topic '{topic}' on pubsub '{name}' is not allowed"
            raise stream_error(f"failed to create subscription for {name}: {problem}")
        try:
            subscriber = broker.subscribe(topic)
        except Exception as exc:  # noqa: BLE001 - a closed broker
            raise stream_error(f"failed to create subscription for {name}: {exc}") from None
        log.info("Subscribing to pubsub '%s' topic '%s'", name, topic)
        return cls(runtime, request, broker, subscriber)

    @property
    def error(self) -> str:
        """Return why the stream failed ('' when it ended normally)."""
        return self._error

    def acknowledge(self, event_id: str, status: int) -> None:
        """Record the app's answer for the event in flight; answers for other ids are ignored."""
        if event_id != self._expected:
            log.debug("no event %r in flight on %s; answer ignored", event_id, self.request.topic)
            return
        self._answers[event_id] = status
        self._waker.set()

    def stop(self, error: str = "") -> None:
        """End the stream (client gone, EOF, protocol error); idempotent, on the loop."""
        if self._stopped:
            return
        self._stopped, self._error = True, error
        self._waker.set()

    def close(self) -> None:
        """Unsubscribe and forget the subscription (idempotent)."""
        if self._closed:
            return
        self._closed = self._stopped = True
        self._subscriber.close()
        self.runtime.remove_subscription(self._handle)
        log.info("Unsubscribed from pubsub '%s' topic '%s'", self.request.pubsub_name, self.request.topic)

    async def events(self) -> AsyncIterator[TopicEvent]:
        """Yield events one at a time; after each, wait for its answer (redelivering on RETRY) before the next."""
        try:
            while (message := await self._next_message()) is not None:
                event = self._prepare(message)
                retries = 0
                while event is not None:
                    self._expected = event.id
                    self._answers.pop(event.id, None)
                    if self._stopped:
                        return
                    yield event
                    status = await self._answer(event.id)
                    if status is None:
                        return
                    if self._settled(message, event, status, retries):
                        break
                    retries += 1
                    if not await self._sleep(self._policy.backoff(retries)):
                        return
                self._subscriber.ack(message)
        finally:
            self.close()

    def _prepare(self, message: BrokerMessage) -> TopicEvent | None:
        """Return the event to deliver, or None after dead-lettering an undeliverable or expired message."""
        name, topic = self.request.pubsub_name, self.request.topic
        try:
            cloud = received_cloud_event(message, name, topic, _raw_payload(self.request.metadata))
            if has_expired(cloud):
                log.warning("dropping expired pub/sub event %s", cloud.get("id"))
                self._dead_letter(message)
                return None
            return topic_event(cloud, name, topic)
        except Undeliverable as exc:
            log.error("%s", exc)
            self._dead_letter(message)
            return None

    def _settled(self, message: BrokerMessage, event: TopicEvent, status: int, retries: int) -> bool:
        """Apply the app's answer; return False when the event is to be redelivered."""
        if status == SUCCESS:
            return True
        if status == DROP:
            log.warning("DROP status returned from app while processing pub/sub event %s", event.id)
        elif self._policy.exhausted(retries):
            log.warning("pub/sub event %s still answered RETRY after %d redeliveries", event.id, retries)
        else:
            return False
        self._dead_letter(message)
        return True

    async def _next_message(self) -> BrokerMessage | None:
        while True:
            self._waker.clear()
            if self._stopped:
                return None
            message = self._subscriber.take(0)
            if message is not None:
                return message
            if self._subscriber.ended:
                return None
            await self._waker.wait()

    async def _answer(self, event_id: str) -> int | None:
        while True:
            self._waker.clear()
            if event_id in self._answers:
                self._expected = None
                return self._answers.pop(event_id)
            if self._stopped:
                return None
            await self._waker.wait()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopped first; return False when stopped."""
        deadline = time.monotonic() + seconds
        while not self._stopped:
            self._waker.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            await self._waker.wait(remaining)
        return False

    def _dead_letter(self, message: BrokerMessage) -> None:
        name, dead_letter = self.request.pubsub_name, self.request.dead_letter_topic
        if not dead_letter:
            log.warning("pub/sub message on %s/%s dropped (no dead-letter topic)", name, self.request.topic)
            return
        target = Target(name, dead_letter, self._broker, False)
        try:
            send(self.runtime, target, message.data, {**message.metadata, "pubsubName": name})
        except DaprApiError as exc:
            log.error("error sending message to dead letter, origin topic: %s dead letter topic %s err: %s",
                      self.request.topic, dead_letter, exc)
