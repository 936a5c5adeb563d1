"""Pub/sub as daprd does it, for both API surfaces: validation, CloudEvents, publish, streaming delivery.

Rules (daprd: ``pkg/api/{grpc,http}``, ``pkg/runtime/pubsub``, ``pkg/runtime/subscription``;
components-contrib: ``pubsub/envelope.go``):

* validation order: empty pubsub name, unknown pubsub, empty topic, bad ``rawPayload``. daprd always
  has a publisher, so a sidecar without pubsub components answers "not found", never "not configured";
* publish wraps the data in a CloudEvent 1.0 unless ``rawPayload=true``; data that already is a
  CloudEvent (``application/cloudevents+json``) keeps its fields and only gets the missing ones;
  ``cloudevent.*`` metadata overrides id, source, type, subject and trace fields of a new envelope;
  ``ttl``/``ttlInSeconds`` become an ``expiration`` attribute and expired events are never delivered;
* a subscription turns each stored message back into an event: raw payloads (``rawPayload`` on the
  subscription) get a fresh envelope with ``application/octet-stream`` data, everything else must be a
  CloudEvent JSON; a message that is neither goes to the dead-letter topic or is dropped. ``data``
  reaches the app only for text and JSON content types or as ``data_base64`` (octet-stream): any other
  content type arrives with empty data, exactly as daprd's gRPC envelope does;
* delivery is serial per subscription (the in-memory component runs each subscriber's handler one
  message at a time, and daprd's handler waits for the app's answer): SUCCESS acknowledges, DROP
  dead-letters (or drops), RETRY redelivers the same event with backoff per the component's
  :class:`RedeliveryPolicy`, then dead-letters (or drops). A stream that ends leaves its unanswered
  and queued messages to the broker, which hands them to the next subscription of the topic.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, cast

import grpc

from ..components.pubsub_memory import BrokerMessage, RedeliveryPolicy, parse_duration
from ..errors import DaprApiError
from ..runtime import Runtime, SubscriptionInfo

log = logging.getLogger("dapr_nb.sandbox")

SUCCESS, RETRY, DROP = 0, 1, 2
"""``TopicEventResponse.TopicEventResponseStatus`` values."""

DEFAULT_TYPE = "com.dapr.event.sent"
DEFAULT_SOURCE = "Dapr"
CLOUDEVENTS_JSON = "application/cloudevents+json"
_NOT_EXTENSIONS = frozenset({"id", "source", "datacontenttype", "type", "specversion", "data", "data_base64"})
_OVERRIDES = ("id", "source", "type", "subject", "traceid", "traceparent", "tracestate")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$")
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class Subscriber(Protocol):
    """What a broker subscription offers the building block (see ``pubsub_memory.BrokerSubscription``)."""

    def take(self, timeout: float | None = None) -> BrokerMessage | None:
        """Block for the next message; None once interrupted or closed."""

    def ack(self, message: BrokerMessage) -> None:
        """Settle a taken message."""

    def interrupt(self) -> None:
        """Wake take() for good."""

    def close(self) -> None:
        """Unsubscribe, handing unsettled messages back to the broker."""


class Broker(Protocol):
    """What a pubsub component offers the building block (see ``pubsub_memory.InMemoryPubSub``)."""

    redelivery: RedeliveryPolicy

    def publish(self, topic: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """Store a message for every matching subscription; raise on failure."""

    def subscribe(self, topic: str) -> Subscriber:
        """Open a subscription."""


# ---------------------------------------------------------------- errors (dapr/dapr pkg/api/errors/pubsub.go)


_INVALID, _DENIED, _INTERNAL = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                                grpc.StatusCode.INTERNAL)
_KIT = {  # ErrorInfo reason: (gRPC code, HTTP status, HTTP errorCode), from pkg/messages/errorcodes
    "DAPR_PUBSUB_NOT_FOUND": (_INVALID, 404, "ERR_PUBSUB_NOT_FOUND"),
    "DAPR_PUBSUB_NAME_EMPTY": (_INVALID, 404, "ERR_PUBSUB_EMPTY"),
    "DAPR_PUBSUB_TOPIC_NAME_EMPTY": (_INVALID, 404, "ERR_TOPIC_NAME_EMPTY"),
    "DAPR_PUBSUB_METADATA_DESERIALIZATION": (_INVALID, 400, "ERR_PUBSUB_REQUEST_METADATA"),
    "DAPR_PUBSUB_CLOUD_EVENT_CREATION": (_INVALID, 500, "ERR_PUBSUB_CLOUD_EVENTS_SER"),
    "DAPR_PUBSUB_FORBIDDEN": (_DENIED, 403, "ERR_PUBSUB_FORBIDDEN"),
    "DAPR_PUBSUB_PUBLISH_MESSAGE": (_INTERNAL, 500, "ERR_PUBSUB_PUBLISH_MESSAGE"),
    "DAPR_PUBSUB_MARSHAL_EVENTS": (_INVALID, 400, "ERR_PUBSUB_EVENTS_SER"),
    "DAPR_PUBSUB_MARSHAL_ENVELOPE": (_INVALID, 400, "ERR_PUBSUB_EVENTS_SER"),
    "DAPR_PUBSUB_UNMARSHAL_EVENTS": (_INVALID, 400, "ERR_PUBSUB_EVENTS_SER"),
}


def _kit(reason: str, message: str, name: str, metadata: Mapping[str, str] | None = None,
         resource: bool = True) -> DaprApiError:
    code, http, error_code = _KIT[reason]
    return DaprApiError(code, message, reason, error_code=error_code, http_status=http,
                        resource=("pubsub", name) if resource else None, metadata=dict(metadata or {}))


def not_found(name: str) -> DaprApiError:
    """Return daprd's error for an unknown pubsub (no ResourceInfo)."""
    return _kit("DAPR_PUBSUB_NOT_FOUND", f"pubsub {name} is not found", name, resource=False)


def _name_empty(metadata: Mapping[str, str]) -> DaprApiError:
    return _kit("DAPR_PUBSUB_NAME_EMPTY", "pubsub name is empty", "", metadata)


def _topic_empty(name: str, metadata: Mapping[str, str]) -> DaprApiError:
    return _kit("DAPR_PUBSUB_TOPIC_NAME_EMPTY", f"topic is empty in pubsub {name}", name, metadata)


def _bad_metadata(name: str, metadata: Mapping[str, str], problem: str) -> DaprApiError:
    message = f"failed deserializing metadata. Error: {problem}"
    return _kit("DAPR_PUBSUB_METADATA_DESERIALIZATION", message, name, metadata)


def _cloud_event_creation(name: str, app_id: str, problem: str) -> DaprApiError:
    meta = {"appID": app_id, "error": problem}
    return _kit("DAPR_PUBSUB_CLOUD_EVENT_CREATION", "cannot create cloudevent", name, meta)


def _forbidden(name: str, topic: str, app_id: str) -> DaprApiError:
    message = f"topic {topic} is not allowed for app id {app_id}"
    return _kit("DAPR_PUBSUB_FORBIDDEN", message, name, {"topic": topic, "error": message})


def publish_failed(name: str, topic: str, problem: str) -> DaprApiError:
    """Return daprd's error for a broker that failed to take a message."""
    message = f"error when publishing to topic {topic} in pubsub {name}: {problem}"
    return _kit("DAPR_PUBSUB_PUBLISH_MESSAGE", message, name, {"topic": topic, "error": problem})


def bad_entries(name: str, topic: str, app_id: str, problem: str) -> DaprApiError:
    """Return daprd's error for bulk entries without a unique entry id."""
    message = f"error marshaling events to bytes for topic {topic} pubsub {name}. error: {problem}"
    return _kit("DAPR_PUBSUB_MARSHAL_EVENTS", message, name, {"appID": app_id, "error": problem})


def bad_envelope(name: str, topic: str, app_id: str, problem: str) -> DaprApiError:
    """Return daprd's error for an HTTP bulk event that does not match its content type."""
    message = f"error when marshalling cloud event envelope for topic {topic} pubsub {name}: {problem}"
    return _kit("DAPR_PUBSUB_MARSHAL_ENVELOPE", message, name, {"appID": app_id, "error": problem})


def bad_bulk_body(name: str, topic: str, app_id: str, problem: str) -> DaprApiError:
    """Return daprd's error for an HTTP bulk body that is not a list of entries."""
    message = f"error when unmarshaling the request for topic {topic} pubsub {name}: {problem}"
    return _kit("DAPR_PUBSUB_UNMARSHAL_EVENTS", message, name, {"appID": app_id})


# ---------------------------------------------------------------- lookup, scopes, metadata


@dataclass(frozen=True)
class Target:
    """A validated publish target."""

    name: str
    topic: str
    broker: Broker
    raw_payload: bool


def resolve(runtime: Runtime, name: str, topic: str, metadata: Mapping[str, str]) -> Target:
    """Validate pubsub name, topic and ``rawPayload`` in daprd's order; return the target."""
    if not name:
        raise _name_empty(metadata)
    component = runtime.components("pubsub").get(name)
    if component is None:
        raise not_found(name)
    if not topic:
        raise _topic_empty(name, metadata)
    try:
        raw = parse_bool(metadata.get("rawPayload", ""))
    except ValueError as exc:
        raise _bad_metadata(name, metadata, str(exc)) from None
    return Target(name, topic, cast(Broker, component), raw)


def parse_bool(value: str, key: str = "rawPayload") -> bool:
    """Parse a boolean as Go's strconv.ParseBool does; empty means false."""
    if value == "" or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise ValueError(f"{key} value must be a valid boolean: actual is '{value}'")


def allowed(runtime: Runtime, name: str, topic: str, scope: str) -> bool:
    """Apply the component's allowedTopics / protectedTopics / ``scope`` (publishingScopes …) to this app."""
    spec = runtime.components("pubsub")[name].spec
    allowed_topics = _topic_list(spec.get("allowedTopics"))
    if allowed_topics and topic not in allowed_topics:
        return False
    scoped: list[str] = []
    for app_topics in spec.get(scope).replace(" ", "").split(";"):
        app, sep, topics = app_topics.partition("=")
        if sep and app == runtime.app_id:
            scoped += topics.split(",")
    if topic not in _topic_list(spec.get("protectedTopics")) and not scoped:
        return True
    return topic in scoped


def _topic_list(value: str) -> list[str]:
    value = value.replace(" ", "")
    return value.split(",") if value else []


# ---------------------------------------------------------------- CloudEvents


@dataclass(frozen=True)
class Trace:
    """W3C trace context of the caller (``traceparent``/``tracestate`` headers), possibly empty."""

    traceparent: str = ""
    tracestate: str = ""

    def child(self) -> Trace:
        """Return a new span in the caller's trace, or a new sampled trace (daprd with tracing on)."""
        found = _TRACEPARENT.match(self.traceparent.strip().lower())
        trace_id, flags = (found.group(1), found.group(2)) if found else (secrets.token_hex(16), "01")
        return Trace(f"00-{trace_id}-{secrets.token_hex(8)}-{flags}", self.tracestate if found else "")


def _now() -> str:
    text = datetime.now(timezone.utc).astimezone().replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


def is_content_type(content_type: str, expected: str) -> bool:
    """Compare a media type ignoring case and parameters (components-contrib's isContentType)."""
    return content_type.lower().split(";", 1)[0] == expected


def is_json(content_type: str) -> bool:
    """Tell whether daprd treats the content type as JSON."""
    return is_content_type(content_type, "application/json")


def is_text(content_type: str) -> bool:
    """Tell whether daprd treats the content type as a string."""
    return content_type.lower().startswith("text/") or is_content_type(content_type, "application/xml")


def _decode_json(data: bytes) -> Any:
    # Go's json.Decoder.Decode: the first JSON value counts, trailing bytes are ignored.
    text = data.decode("utf-8", "replace").lstrip(" \t\r\n")
    return json.JSONDecoder().raw_decode(text)[0]


def cloud_event(app_id: str, name: str, topic: str, data: bytes, content_type: str,
                metadata: Mapping[str, str], trace: Trace) -> dict[str, Any]:
    """Build the envelope daprd publishes; raise ValueError when the data claims to be a bad CloudEvent."""
    if is_content_type(content_type, CLOUDEVENTS_JSON):
        return _complete_cloud_event(data, topic, name, trace)
    lowered = {k.lower(): v for k, v in metadata.items()}
    fields = {"source": app_id, "traceid": trace.traceparent, "tracestate": trace.tracestate}
    fields.update({f: lowered[f"cloudevent.{f}"] for f in _OVERRIDES if f"cloudevent.{f}" in lowered})
    trace_id = fields.get("traceparent") or fields.get("traceid", "")
    content_type = content_type or "text/plain"
    event: dict[str, Any] = {
        "id": fields.get("id") or str(uuid.uuid4()),
        "specversion": "1.0",
        "datacontenttype": content_type,
        "source": fields.get("source") or DEFAULT_SOURCE,
        "type": fields.get("type") or DEFAULT_TYPE,
        "topic": topic,
        "pubsubname": name,
        "traceid": trace_id,
        "traceparent": trace_id,
        "tracestate": fields.get("tracestate", ""),
        "time": _now(),
    }
    if is_json(content_type):
        try:
            event["data"] = _decode_json(data)
        except ValueError:
            event["data"] = data.decode("utf-8", "replace")
    elif is_content_type(content_type, "application/octet-stream") or is_content_type(
        content_type, "application/cloudevents+protobuf"
    ):
        event["data_base64"] = base64.b64encode(data).decode()
    else:
        event["data"] = data.decode("utf-8", "replace")
    if fields.get("subject"):
        event["subject"] = fields["subject"]
    return event


def _complete_cloud_event(data: bytes, topic: str, name: str, trace: Trace) -> dict[str, Any]:
    event = _decode_json(data)
    if not isinstance(event, dict):
        kind = type(event).__name__
        raise ValueError(f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    event.setdefault("time", _now())
    if "traceid" not in event:
        event["traceid"] = event["traceparent"] = trace.traceparent
    event.setdefault("tracestate", trace.tracestate)
    event["topic"], event["pubsubname"] = topic, name
    for key, default in (("source", DEFAULT_SOURCE), ("type", DEFAULT_TYPE), ("specversion", "1.0")):
        if event.get(key) is None:
            event[key] = default
    return event


def apply_ttl(event: dict[str, Any], metadata: Mapping[str, str]) -> None:
    """Set ``expiration`` from ``ttl``/``ttlInSeconds`` (the in-memory broker has no TTL of its own)."""
    lowered = {k.lower(): v for k, v in metadata.items()}
    raw = lowered.get("ttl") or lowered.get("ttlinseconds") or ""
    if not raw:
        return
    try:
        seconds = max(0.0, parse_duration(raw))
    except ValueError:
        try:
            seconds = float(int(raw))
        except ValueError:
            return
        if seconds <= 0:
            return
    expires = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    event["expiration"] = expires.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def has_expired(event: Mapping[str, Any]) -> bool:
    """Tell whether the event's ``expiration`` lies in the past (unparsable = never)."""
    value = event.get("expiration")
    if not isinstance(value, str) or not value:
        return False
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.tzinfo is not None and when < datetime.now(timezone.utc)


def encode(event: Mapping[str, Any]) -> bytes:
    """Serialize a CloudEvent as the broker stores it."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------- publish


def _envelope(runtime: Runtime, target: Target, data: bytes, content_type: str,
              metadata: Mapping[str, str], trace: Trace) -> bytes:
    try:
        event = cloud_event(runtime.app_id, target.name, target.topic, data, content_type, metadata, trace)
    except ValueError as exc:
        raise _cloud_event_creation(target.name, runtime.app_id, str(exc)) from None
    apply_ttl(event, metadata)
    return encode(event)


def _send(runtime: Runtime, target: Target, payload: bytes, metadata: Mapping[str, str]) -> None:
    if not allowed(runtime, target.name, target.topic, "publishingScopes"):
        raise _forbidden(target.name, target.topic, runtime.app_id)
    try:
        target.broker.publish(target.topic, payload, metadata)
    except Exception as exc:  # noqa: BLE001 - any broker failure is daprd's publish error
        raise publish_failed(target.name, target.topic, str(exc)) from None


def publish(runtime: Runtime, name: str, topic: str, data: bytes, content_type: str,
            metadata: Mapping[str, str], trace: Trace = Trace()) -> None:
    """Publish one event (PublishEvent / ``POST publish/{pubsub}/{topic}``)."""
    target = resolve(runtime, name, topic, metadata)
    span = trace.child()
    stored = dict(metadata)
    if target.raw_payload:
        payload = data
        stored.update(traceid=span.traceparent, tracestate=span.tracestate)
    else:
        payload = _envelope(runtime, target, data, content_type, metadata, span)
    _send(runtime, target, payload, stored)


@dataclass(frozen=True)
class BulkEntry:
    """One bulk entry; ``metadata`` None means it carried none, so request metadata does not apply either."""

    entry_id: str
    event: bytes
    content_type: str
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BulkResult:
    """Failed entries and, when any failed, daprd's error for the whole call."""

    failed: list[tuple[str, str]] = field(default_factory=list)
    error: DaprApiError | None = None


def bulk_publish(runtime: Runtime, name: str, topic: str, entries: Sequence[BulkEntry],
                 metadata: Mapping[str, str], trace: Trace = Trace()) -> BulkResult:
    """Publish entries one by one as daprd's default bulk publisher does; report the failed ones."""
    target = resolve(runtime, name, topic, metadata)
    seen: set[str] = set()
    prepared: list[tuple[str, bytes, dict[str, str]]] = []
    for entry in entries:
        if not entry.entry_id or entry.entry_id in seen:
            raise bad_entries(name, topic, runtime.app_id, "entryId is duplicated or not present for entry")
        seen.add(entry.entry_id)
        entry_meta = {**metadata, **entry.metadata} if entry.metadata else {}
        payload = entry.event
        if not target.raw_payload:
            payload = _envelope(runtime, target, entry.event, entry.content_type, entry_meta, trace.child())
        prepared.append((entry.entry_id, payload, entry_meta))
    if not allowed(runtime, name, topic, "publishingScopes"):
        raise _forbidden(name, topic, runtime.app_id)
    failed: list[tuple[str, str]] = []
    for entry_id, payload, entry_meta in prepared:
        try:
            target.broker.publish(topic, payload, entry_meta)
        except Exception as exc:  # noqa: BLE001 - reported per entry
            failed.append((entry_id, str(exc)))
    error = publish_failed(name, topic, failed[0][1]) if failed else None
    return BulkResult(failed, error)


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True)
class TopicEvent:
    """An event as a subscriber receives it (``TopicEventRequest``)."""

    id: str
    source: str
    type: str
    spec_version: str
    data_content_type: str
    data: bytes
    topic: str
    pubsub_name: str
    path: str = "/"
    extensions: dict[str, Any] = field(default_factory=dict)


class Undeliverable(Exception):
    """A stored message the subscription cannot turn into an event."""


def received_cloud_event(message: BrokerMessage, name: str, topic: str, raw_payload: bool) -> dict[str, Any]:
    """Rebuild the CloudEvent of a stored message as daprd's subscription handler does."""
    if raw_payload:
        event: dict[str, Any] = {
            "id": str(uuid.uuid4()), "specversion": "1.0", "datacontenttype": "application/octet-stream",
            "source": DEFAULT_SOURCE, "type": DEFAULT_TYPE, "topic": topic, "pubsubname": name,
            "data_base64": base64.b64encode(message.data).decode(),
        }
        for key in ("traceid", "traceparent", "tracestate"):
            if key in message.metadata:
                event[key] = message.metadata[key]
        if "traceparent" in message.metadata:
            event["traceid"] = message.metadata["traceparent"]
        return event
    problem = f"error deserializing cloud event in pubsub {name} and topic {topic}"
    try:
        event = json.loads(message.data)
    except ValueError as exc:
        raise Undeliverable(f"{problem}: {exc}") from None
    if not isinstance(event, dict):
        raise Undeliverable(f"{problem}: not a JSON object")
    for key in ("traceid", "traceparent", "tracestate"):
        if key not in event and key in message.metadata:
            event[key] = message.metadata[key]
    return event


def _raw_payload(metadata: Mapping[str, str]) -> bool:
    # daprd reads the subscription's rawPayload for every message; a bad value makes each undeliverable
    try:
        return parse_bool(metadata.get("rawPayload", ""))
    except ValueError as exc:
        raise Undeliverable(f"error deserializing pubsub metadata: {exc}") from None


def topic_event(event: Mapping[str, Any], name: str, topic: str) -> TopicEvent:
    """Turn a CloudEvent into what the app receives (daprd's GRPCEnvelopeFromSubscriptionMessage)."""

    def text(key: str) -> str:
        value = event.get(key)
        return value if isinstance(value, str) else ""

    content_type = text("datacontenttype")
    data = b""
    if event.get("data_base64") is not None:
        if not isinstance(event["data_base64"], str):
            raise Undeliverable("unexpected data in cloud event envelope")
        try:
            data = base64.b64decode(event["data_base64"], validate=True)
        except ValueError as exc:
            raise Undeliverable(f"unable to base64 decode cloudEvent field data_base64: {exc}") from None
    elif event.get("data") is not None:
        value = event["data"]
        if is_text(content_type):
            if not isinstance(value, str):
                raise Undeliverable("unexpected data in cloud event envelope")
            data = value.encode()
        elif is_json(content_type) or is_content_type(content_type, CLOUDEVENTS_JSON):
            data = _go_json(value)
    extensions = {k: v for k, v in event.items() if k not in _NOT_EXTENSIONS}
    return TopicEvent(text("id"), text("source"), text("type"), text("specversion"), content_type, data,
                      topic, name, "/", extensions)


def _go_json(value: Any) -> bytes:
    # encoding/json.Marshal: compact, map keys sorted, HTML characters escaped.
    out = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        out = out.replace(char, escaped)
    return out.encode()


@dataclass(frozen=True)
class StreamRequest:
    """The initial request of a streaming subscription."""

    pubsub_name: str
    topic: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    dead_letter_topic: str = ""


def _stream_error(message: str) -> DaprApiError:
    return DaprApiError(grpc.StatusCode.UNKNOWN, message)


class StreamSubscription:
    """One streaming subscription: serial delivery, answers matched by event id, dead letters.

    Drive it with :meth:`events` (one thread), feed answers with :meth:`acknowledge` and end it with
    :meth:`stop` (any thread). It closes itself — handing unanswered messages back to the broker —
    when :meth:`events` ends, or at :meth:`stop` when no :meth:`events` step is running.
    """

    def __init__(self, runtime: Runtime, request: StreamRequest, broker: Broker,
                 subscriber: Subscriber) -> None:
        self.runtime = runtime
        self.request = request
        self._broker = broker
        self._subscriber = subscriber
        self._cond = threading.Condition()
        self._expected: str | None = None
        self._answers: dict[str, int] = {}
        self._stopped = False
        self._busy = False
        self._closed = False
        self._error = ""
        info = SubscriptionInfo(request.pubsub_name, request.topic, request.dead_letter_topic,
                                dict(request.metadata), "STREAMING")
        self._handle = runtime.add_subscription(info)

    @classmethod
    def open(cls, runtime: Runtime, request: StreamRequest) -> StreamSubscription:
        """Validate the initial request and subscribe at the broker (daprd's errors on failure)."""
        name, topic = request.pubsub_name, request.topic
        if not name:
            raise _stream_error("pubsubName is required")
        if not topic:
            raise _stream_error("topic is required")
        component = runtime.components("pubsub").get(name)
        if component is None:
            raise not_found(name)
        if not allowed(runtime, name, topic, "subscriptionScopes"):
            problem = f"subscription to topic '{topic}' on pubsub '{name}' is not allowed"
            raise _stream_error(f"failed to create subscription for {name}: {problem}")
        broker = cast(Broker, component)
        try:
            subscriber = broker.subscribe(topic)
        except Exception as exc:  # noqa: BLE001 - a closed broker
            raise _stream_error(f"failed to create subscription for {name}: {exc}") from None
        log.info("Subscribing to pubsub '%s' topic '%s'", name, topic)
        return cls(runtime, request, broker, subscriber)

    @property
    def error(self) -> str:
        """Return why the stream failed ('' when it ended normally)."""
        with self._cond:
            return self._error

    def acknowledge(self, event_id: str, status: int) -> None:
        """Record the app's answer for the event in flight; answers for other ids are ignored."""
        with self._cond:
            if event_id != self._expected:
                log.debug("no event %r in flight on %s; answer ignored", event_id, self.request.topic)
                return
            self._answers[event_id] = status
            self._cond.notify_all()

    def stop(self, error: str = "") -> None:
        """End the stream (client gone, EOF, protocol error); safe from any thread, idempotent."""
        with self._cond:
            if self._stopped:
                return
            self._stopped, self._error = True, error
            self._cond.notify_all()
            idle = not self._busy
        self._subscriber.interrupt()
        if idle:
            self.close()

    def close(self) -> None:
        """Unsubscribe and forget the subscription (idempotent)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
        self._subscriber.close()
        self.runtime.remove_subscription(self._handle)
        log.info("Unsubscribed from pubsub '%s' topic '%s'", self.request.pubsub_name, self.request.topic)

    def events(self) -> Iterator[TopicEvent]:
        """Yield events one at a time; after each, wait for its answer before the next one."""
        try:
            if not self._resume():
                return
            while True:
                message = self._subscriber.take()
                if message is None:
                    return
                if not (yield from self._deliver(message)):
                    return
                self._subscriber.ack(message)
        finally:
            self.close()

    def _deliver(self, message: BrokerMessage) -> Generator[TopicEvent, None, bool]:
        """Deliver until answered; return False when the stream stopped with the message unanswered."""
        name, topic = self.request.pubsub_name, self.request.topic
        try:
            cloud = received_cloud_event(message, name, topic, _raw_payload(self.request.metadata))
            if has_expired(cloud):
                log.warning("dropping expired pub/sub event %s", cloud.get("id"))
                self._dead_letter(message)
                return True
            event = topic_event(cloud, name, topic)
        except Undeliverable as exc:
            log.error("%s", exc)
            self._dead_letter(message)
            return True
        policy: RedeliveryPolicy = getattr(self._broker, "redelivery", RedeliveryPolicy())
        retries = 0
        while True:
            with self._cond:
                self._expected = event.id
                self._answers.pop(event.id, None)
            if not self._suspend():
                return False
            yield event
            status = self._wait_answer(event.id)
            if status is None:
                return False
            if status == SUCCESS:
                return True
            if status == DROP:
                log.warning("DROP status returned from app while processing pub/sub event %s", event.id)
                self._dead_letter(message)
                return True
            if policy.exhausted(retries):
                log.warning("pub/sub event %s still answered RETRY after %d redeliveries", event.id, retries)
                self._dead_letter(message)
                return True
            retries += 1
            if not self._sleep(policy.backoff(retries)):
                return False

    def _suspend(self) -> bool:
        with self._cond:
            self._busy = False
            return not self._stopped

    def _resume(self) -> bool:
        with self._cond:
            self._busy = True
            return not self._stopped

    def _wait_answer(self, event_id: str) -> int | None:
        with self._cond:
            self._busy = True
            if self._stopped:  # stopped while suspended: stop() has already handed the message back
                return None
            self._cond.wait_for(lambda: event_id in self._answers or self._stopped)
            self._expected = None
            return self._answers.pop(event_id, None)

    def _sleep(self, seconds: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._stopped, seconds)
            return not self._stopped

    def _dead_letter(self, message: BrokerMessage) -> None:
        name, dead_letter = self.request.pubsub_name, self.request.dead_letter_topic
        if not dead_letter:
            log.warning("pub/sub message on %s/%s dropped (no dead-letter topic)", name, self.request.topic)
            return
        target = Target(name, dead_letter, self._broker, False)
        try:
            _send(self.runtime, target, message.data, {**message.metadata, "pubsubName": name})
        except DaprApiError as exc:
            log.error("error sending message to dead letter, origin topic: %s dead letter topic %s err: %s",
                      self.request.topic, dead_letter, exc)
