"""CloudEvents 1.0 envelopes as daprd builds them on publish and reads them back on delivery.

Rules (components-contrib: ``pubsub/envelope.go``, ``contenttype``; daprd: ``pkg/runtime/pubsub``):

* publish wraps the data in a CloudEvent unless ``rawPayload=true`` (the caller decides); data that
  already is a CloudEvent (``application/cloudevents+json``) keeps its fields and only gets the missing
  ones; ``cloudevent.*`` metadata overrides id, source, type, subject and trace fields of a new envelope;
  ``ttl``/``ttlInSeconds`` become an ``expiration`` attribute and expired events are never delivered;
* delivery turns each stored message back into an event: raw payloads get a fresh envelope with
  ``application/octet-stream`` data, everything else must be a CloudEvent JSON object, else it is
  :class:`Undeliverable`. ``data`` reaches the app only for text and JSON content types or as
  ``data_base64``: any other content type arrives with empty data, exactly as daprd's gRPC envelope does.

Pure functions over bytes and dicts: nothing here knows the runtime or a broker.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import gojson
from ..components.pubsub_memory import BrokerMessage
from ..durations import metadata_seconds

DEFAULT_TYPE = "com.dapr.event.sent"
DEFAULT_SOURCE = "Dapr"
CLOUDEVENTS_JSON = "application/cloudevents+json"
_NOT_EXTENSIONS = frozenset({"id", "source", "datacontenttype", "type", "specversion", "data", "data_base64"})
_OVERRIDES = ("id", "source", "type", "subject", "traceid", "traceparent", "tracestate")
_TRACE_KEYS = ("traceid", "traceparent", "tracestate")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$")


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


NO_TRACE = Trace()
"""A caller without trace context."""


def _rfc3339(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _now() -> str:
    # Go's time.Now() formats in the local zone
    return _rfc3339(datetime.now(timezone.utc).astimezone())


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
    return gojson.loads_first(text)


# ---------------------------------------------------------------- publish side


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
    """Set ``expiration`` from ``ttl``/``ttlInSeconds`` (the in-memory broker has no TTL of its own).

    The value is whole seconds or a Go duration; unparsable, zero or negative TTLs set nothing.
    """
    lowered = {k.lower(): v for k, v in metadata.items()}
    try:
        seconds = metadata_seconds(lowered.get("ttl") or lowered.get("ttlinseconds") or "")
    except ValueError:
        return
    if seconds is None or seconds <= 0:
        return
    event["expiration"] = _rfc3339(datetime.now(timezone.utc) + timedelta(seconds=seconds))


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
    return gojson.compact(event).encode()


# ---------------------------------------------------------------- delivery side


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
        event.update({key: message.metadata[key] for key in _TRACE_KEYS if key in message.metadata})
        if "traceparent" in message.metadata:
            event["traceid"] = message.metadata["traceparent"]
        return event
    problem = f"error deserializing cloud event in pubsub {name} and topic {topic}"
    try:
        event = gojson.loads(message.data)
    except ValueError as exc:
        raise Undeliverable(f"{problem}: {exc}") from None
    if not isinstance(event, dict):
        raise Undeliverable(f"{problem}: not a JSON object")
    for key in _TRACE_KEYS:
        if key not in event and key in message.metadata:
            event[key] = message.metadata[key]
    return event


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
            data = gojson.go_json(value)
    extensions = {k: v for k, v in event.items() if k not in _NOT_EXTENSIONS}
    return TopicEvent(text("id"), text("source"), text("type"), text("specversion"), content_type, data,
                      topic, name, "/", extensions)
