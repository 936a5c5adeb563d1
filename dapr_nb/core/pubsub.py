"""Pub/sub: publish, bulk publish (stable, falling back to Alpha1), and the streaming-subscription state machine.

Rule: :class:`TopicSubscription` is the whole SubscribeTopicEventsAlpha1 protocol without I/O (h11-style):
it builds the initial request, digests each response into a typed event (Started / Message / Unknown),
and turns an explicit ack (success / retry / drop) into an :class:`Ack` to send — once per message, and
only while the stream is open. Its lifecycle is :mod:`dapr_nb.core.streams`; drivers only move the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dapr.proto.runtime.v1 import appcallback_pb2, pubsub_pb2

from .ops import Call, Op, fallback
from .results import BulkPublishResult, FailedEntry, TopicMessage
from .streams import Closing, Event, Message, Started, State, StreamProtocol, Unknown
from .values import decode, encode, str_map

AckStatus = Literal["success", "retry", "drop"]
_STATUS: dict[str, appcallback_pb2.TopicEventResponse.TopicEventResponseStatus.ValueType] = {
    "success": appcallback_pb2.TopicEventResponse.SUCCESS,
    "retry": appcallback_pb2.TopicEventResponse.RETRY,
    "drop": appcallback_pb2.TopicEventResponse.DROP,
}


def publish(
    pubsub: str,
    topic: str,
    data: Any,
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Op[None]:
    """Publish one event; ``data`` is encoded by the value rule unless it is bytes with your ``content_type``."""
    payload, detected = encode(data)
    request = pubsub_pb2.PublishEventRequest(
        pubsub_name=pubsub,
        topic=topic,
        data=payload,
        data_content_type=content_type or detected,
        metadata=str_map(metadata),
    )
    yield Call("PublishEvent", request)


def bulk_request(
    pubsub: str,
    topic: str,
    events: Iterable[Any],
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    first_id: int = 0,
) -> pubsub_pb2.BulkPublishRequest:
    """Build a BulkPublishRequest; entry ids are the events' positions (``first_id`` onwards)."""
    entries = []
    for index, event in enumerate(events, first_id):
        payload, detected = encode(event)
        entry = pubsub_pb2.BulkPublishRequestEntry(entry_id=str(index), event=payload)
        entry.content_type = content_type or detected
        entries.append(entry)
    return pubsub_pb2.BulkPublishRequest(pubsub_name=pubsub, topic=topic, entries=entries, metadata=str_map(metadata))


def publish_bulk(
    pubsub: str,
    topic: str,
    events: Iterable[Any],
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Op[BulkPublishResult]:
    """Publish many events in one call; the result lists entries the broker refused (ids = positions)."""
    request = bulk_request(pubsub, topic, events, content_type, metadata)
    return (yield from send_bulk(request))


def send_bulk(request: pubsub_pb2.BulkPublishRequest) -> Op[BulkPublishResult]:
    """Send a prepared bulk request: BulkPublishEvent, or BulkPublishEventAlpha1 on older sidecars."""
    if not request.entries:
        return BulkPublishResult(0)
    reply: pubsub_pb2.BulkPublishResponse = yield from fallback(
        Call("BulkPublishEvent", request), lambda: Call("BulkPublishEventAlpha1", request)
    )
    failed = tuple(FailedEntry(f.entry_id, f.error) for f in reply.failedEntries)
    return BulkPublishResult(len(request.entries) - len(failed), failed)


@dataclass(frozen=True)
class Ack:
    """An ack the protocol accepted: send ``request`` on the stream (the message no longer awaits an ack)."""

    message_id: str
    status: AckStatus
    request: pubsub_pb2.SubscribeTopicEventsRequestAlpha1


class TopicSubscription(StreamProtocol):
    """The streaming-subscription protocol for one connection (no I/O); see :mod:`dapr_nb.core.streams`."""

    method = "SubscribeTopicEventsAlpha1"
    bidi = True
    advice = "Messages not acked will be redelivered; subscribe again to go on."

    def __init__(
        self,
        pubsub: str,
        topic: str,
        *,
        metadata: Mapping[str, str] | None = None,
        dead_letter_topic: str | None = None,
    ) -> None:
        super().__init__()
        self.pubsub = pubsub
        self.topic = topic
        self.metadata = str_map(metadata)
        self.dead_letter_topic = dead_letter_topic
        self.pending: set[str] = set()

    def describe(self) -> str:
        """Return "the subscription to pubsub/topic"."""
        return f"the subscription to {self.pubsub}/{self.topic}"

    def initial_request(self) -> pubsub_pb2.SubscribeTopicEventsRequestAlpha1:
        """Return the first message to send on the stream."""
        initial = pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(
            pubsub_name=self.pubsub, topic=self.topic, metadata=self.metadata
        )
        if self.dead_letter_topic is not None:
            initial.dead_letter_topic = self.dead_letter_topic
        return pubsub_pb2.SubscribeTopicEventsRequestAlpha1(initial_request=initial)

    _first_request = initial_request

    def _digest(self, response: pubsub_pb2.SubscribeTopicEventsResponseAlpha1) -> Event:
        kind = response.WhichOneof("subscribe_topic_events_response_type")
        if kind == "initial_response":
            return Started()
        if kind != "event_message":
            return Unknown(kind or "empty response")
        event = response.event_message
        self.pending.add(event.id)
        return Message(to_message(event))

    def ack(self, message_id: str, status: AckStatus = "success") -> Ack:
        """Accept an ack for a received message (each message once) and return it; refuse it unless OPEN.

        Raises ValueError for a bad status or an id not awaiting an ack, StreamClosed once closing or
        closed, StreamFailed once the stream failed: an ack that cannot be delivered never looks delivered.
        """
        if status not in _STATUS:
            raise ValueError(f"ack status must be 'success', 'retry' or 'drop', not {status!r}")
        if self.state is not State.OPEN:
            raise self.refusal()
        if message_id not in self.pending:
            raise ValueError(f"message {message_id!r} is not awaiting an ack on this subscription")
        self.pending.discard(message_id)
        processed = pubsub_pb2.SubscribeTopicEventsRequestProcessedAlpha1(
            id=message_id, status=appcallback_pb2.TopicEventResponse(status=_STATUS[status])
        )
        return Ack(message_id, status, pubsub_pb2.SubscribeTopicEventsRequestAlpha1(event_processed=processed))

    def _closing(self) -> Closing:
        return Closing(flush=True)


def to_message(event: appcallback_pb2.TopicEventRequest) -> TopicMessage:
    """Build a TopicMessage from a ``TopicEventRequest``."""
    from google.protobuf.json_format import MessageToDict

    extensions = MessageToDict(event.extensions) if event.HasField("extensions") else {}
    return TopicMessage(
        id=event.id,
        pubsub=event.pubsub_name,
        topic=event.topic,
        data=decode(event.data, event.data_content_type),
        raw=event.data,
        content_type=event.data_content_type,
        type=event.type,
        source=event.source,
        spec_version=event.spec_version,
        path=event.path,
        extensions=extensions,
    )
