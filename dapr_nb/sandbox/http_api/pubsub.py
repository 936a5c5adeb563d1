"""daprd's HTTP routes for the pubsub building block (thin: JSON <-> blocks.pubsub).

Topics are the rest of the path and may contain slashes. ``publish/bulk/…`` routes come first, as
chi prefers the static ``bulk`` segment over a pubsub named ``bulk``. The body's ``Content-Type``
is the event's content type; ``metadata.<key>`` query parameters are the request metadata.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .. import gojson
from ..blocks.cloudevents import CLOUDEVENTS_JSON, Trace, is_content_type, is_json, is_text
from ..blocks.pubsub import BulkEntry, bad_bulk_body, bad_entries, bad_envelope, bulk_publish, publish, resolve
from ..runtime import Runtime
from ._base import Request, Response, Route, json_response, no_content


def _trace(request: Request) -> Trace:
    return Trace(request.header("traceparent"), request.header("tracestate"))


def publish_event(runtime: Runtime, request: Request) -> Response:
    """``POST /v1.0/publish/{pubsub}/{topic}``: publish the body; 204."""
    publish(runtime, request.params["pubsub"], request.params.get("topic", ""), request.body,
            request.header("Content-Type"), request.metadata(), _trace(request))
    return no_content()


def bulk_publish_events(runtime: Runtime, request: Request) -> Response:
    """``POST /v1.0(-alpha1)/publish/bulk/{pubsub}/{topic}``: 204, or 500 listing the failed entries."""
    name, topic, metadata = request.params["pubsub"], request.params.get("topic", ""), request.metadata()
    resolve(runtime, name, topic, metadata)
    try:
        body = gojson.loads(request.body or b"null")
    except ValueError as exc:
        raise bad_bulk_body(name, topic, runtime.app_id, str(exc)) from None
    if body is None:
        body = []
    if not isinstance(body, list):
        kind = type(body).__name__
        problem = f"json: cannot unmarshal {kind} into Go value of type []http.bulkPublishMessageEntry"
        raise bad_bulk_body(name, topic, runtime.app_id, problem)
    entries = [_entry(runtime, name, topic, item) for item in body]
    result = bulk_publish(runtime, name, topic, entries, metadata, _trace(request))
    if result.error is None:
        return no_content()
    failed = {"failedEntries": [{"entryId": i, "error": e} for i, e in result.failed],
              "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
    headers = {"metadata.responseData": json.dumps(failed), "metadata.error": result.error.message}
    return json_response(failed, result.error.status_http, headers)


def _entry(runtime: Runtime, name: str, topic: str, item: Any) -> BulkEntry:
    if not isinstance(item, dict):
        raise bad_bulk_body(name, topic, runtime.app_id,
                            "json: cannot unmarshal value into Go value of type http.bulkPublishMessageEntry")
    fields = {k.lower(): v for k, v in item.items()}
    entry_id, content_type = fields.get("entryid", ""), fields.get("contenttype", "")
    metadata = fields.get("metadata")
    good_metadata = metadata is None or (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    )
    if not isinstance(entry_id, str) or not isinstance(content_type, str) or not good_metadata:
        raise bad_bulk_body(name, topic, runtime.app_id, "json: cannot unmarshal entry field into Go value")
    event = _event_bytes(runtime, name, topic, fields.get("event"), content_type)
    if not entry_id:
        raise bad_entries(name, topic, runtime.app_id, "entryId is duplicated or not present for entry")
    return BulkEntry(entry_id, event, content_type, None if metadata is None else dict(metadata))


def _event_bytes(runtime: Runtime, name: str, topic: str, event: Any, content_type: str) -> bytes:
    """Convert a JSON ``event`` to bytes for its content type (daprd's ConvertEventToBytes)."""
    mismatch = "error: mismatch between contentType and event"
    if is_content_type(content_type, "application/octet-stream"):
        if not isinstance(event, str):
            raise bad_envelope(name, topic, runtime.app_id, mismatch)
        try:
            return base64.b64decode(event, validate=True)
        except (binascii.Error, ValueError) as exc:
            problem = f"error: unable to decode base64 application/octect-stream data: {exc}"
            raise bad_envelope(name, topic, runtime.app_id, problem) from None
    if is_text(content_type):
        if not isinstance(event, str):
            raise bad_envelope(name, topic, runtime.app_id, mismatch)
        return event.encode()
    if is_json(content_type) or is_content_type(content_type, CLOUDEVENTS_JSON):
        return gojson.compact(event).encode()
    raise bad_envelope(name, topic, runtime.app_id, mismatch)


def _routes() -> list[Route]:
    routes: list[Route] = []
    for method in ("POST", "PUT"):
        for prefix in ("/v1.0-alpha1/publish/bulk", "/v1.0/publish/bulk"):
            routes += [Route(method, prefix + "/{pubsub}/{topic*}", bulk_publish_events),
                       Route(method, prefix + "/{pubsub}/", bulk_publish_events)]
        routes += [Route(method, "/v1.0/publish/{pubsub}/{topic*}", publish_event),
                   Route(method, "/v1.0/publish/{pubsub}/", publish_event)]
    return sorted(routes, key=lambda r: "/bulk/" not in r.pattern)


ROUTES: list[Route] = _routes()
