"""Pub/sub as daprd does it, for both API surfaces: lookup, validation, scopes, publish and bulk publish.

Rules (daprd: ``pkg/api/{grpc,http}``, ``pkg/runtime/pubsub``; envelopes: :mod:`.cloudevents`;
streaming subscriptions: :mod:`.pubsub_stream`):

* validation order: empty pubsub name, unknown pubsub, empty topic, bad ``rawPayload``. daprd always
  has a publisher, so a sidecar without pubsub components answers "not found", never "not configured";
* publish wraps the data in a CloudEvent 1.0 unless ``rawPayload=true`` (see :mod:`.cloudevents`);
  the component's ``allowedTopics`` / ``protectedTopics`` / ``publishingScopes`` are checked after
  the envelope is built, so a bad CloudEvent is reported before a forbidden topic;
* bulk publish is daprd's default bulk publisher: every entry id must be present and unique, then the
  entries are published one by one and the failed ones are reported, not raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

import grpc

from ..components.pubsub_memory import BrokerMessage, RedeliveryPolicy
from ..errors import DaprApiError
from ..runtime import Runtime
from .cloudevents import NO_TRACE, Trace, apply_ttl, cloud_event, encode

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class Subscriber(Protocol):
    """What a broker subscription offers the building block (see ``pubsub_memory.BrokerSubscription``)."""

    on_ready: Callable[[], None] | None
    """Called from the broker's threads (must not block) whenever take() may have news."""

    @property
    def ended(self) -> bool:
        """Return True once interrupted or closed."""

    def take(self, timeout: float | None = None) -> BrokerMessage | None:
        """Block for the next message (``timeout`` 0: never block); None once interrupted or closed."""

    def ack(self, message: BrokerMessage) -> None:
        """Settle a taken message."""

    def interrupt(self) -> None:
        """Wake take() for good."""

    def close(self) -> None:
        """Unsubscribe, leaving unsettled messages to the broker (dropped or handed on)."""


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
                        resource=("pubsub", name) if resource else None, resource_description=message,
                        metadata=dict(metadata or {}))


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


def find(runtime: Runtime, name: str) -> Broker:
    """Return the pubsub component ``name`` or raise daprd's not-found error."""
    component = runtime.components("pubsub").get(name)
    if component is None:
        raise not_found(name)
    return cast(Broker, component)


def resolve(runtime: Runtime, name: str, topic: str, metadata: Mapping[str, str]) -> Target:
    """Validate pubsub name, topic and ``rawPayload`` in daprd's order; return the target."""
    if not name:
        raise _name_empty(metadata)
    broker = find(runtime, name)
    if not topic:
        raise _topic_empty(name, metadata)
    try:
        raw = parse_bool(metadata.get("rawPayload", ""))
    except ValueError as exc:
        raise _bad_metadata(name, metadata, str(exc)) from None
    return Target(name, topic, broker, raw)


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


# ---------------------------------------------------------------- publish


def _envelope(runtime: Runtime, target: Target, data: bytes, content_type: str,
              metadata: Mapping[str, str], trace: Trace) -> bytes:
    try:
        event = cloud_event(runtime.app_id, target.name, target.topic, data, content_type, metadata, trace)
    except ValueError as exc:
        raise _cloud_event_creation(target.name, runtime.app_id, str(exc)) from None
    apply_ttl(event, metadata)
    return encode(event)


def _check_publishing(runtime: Runtime, name: str, topic: str) -> None:
    if not allowed(runtime, name, topic, "publishingScopes"):
        raise _forbidden(name, topic, runtime.app_id)


def send(runtime: Runtime, target: Target, payload: bytes, metadata: Mapping[str, str]) -> None:
    """Hand an already built payload to the broker after the publishing scopes (daprd's errors)."""
    _check_publishing(runtime, target.name, target.topic)
    try:
        target.broker.publish(target.topic, payload, metadata)
    except Exception as exc:  # noqa: BLE001 - any broker failure is daprd's publish error
        raise publish_failed(target.name, target.topic, str(exc)) from None


def publish(runtime: Runtime, name: str, topic: str, data: bytes, content_type: str,
            metadata: Mapping[str, str], trace: Trace = NO_TRACE) -> None:
    """Publish one event (PublishEvent / ``POST publish/{pubsub}/{topic}``)."""
    target = resolve(runtime, name, topic, metadata)
    span = trace.child()
    stored = dict(metadata)
    if target.raw_payload:
        payload = data
        stored.update(traceid=span.traceparent, tracestate=span.tracestate)
    else:
        payload = _envelope(runtime, target, data, content_type, metadata, span)
    send(runtime, target, payload, stored)


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
                 metadata: Mapping[str, str], trace: Trace = NO_TRACE) -> BulkResult:
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
    _check_publishing(runtime, name, topic)
    failed: list[tuple[str, str]] = []
    for entry_id, payload, entry_meta in prepared:
        try:
            target.broker.publish(topic, payload, entry_meta)
        except Exception as exc:  # noqa: BLE001 - reported per entry
            failed.append((entry_id, str(exc)))
    error = publish_failed(name, topic, failed[0][1]) if failed else None
    return BulkResult(failed, error)
