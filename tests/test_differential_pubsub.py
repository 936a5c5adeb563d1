"""Pub/sub on the sandbox and on daprd: publish errors (gRPC details in order), bulk publish, CloudEvent fields."""

from __future__ import annotations

from typing import Any

from _waiting import WAIT
from dapr.clients import DaprClient
from differential import OnBoth, Sidecar, http, raises, same, scrub, token
from test_pubsub import Inbox

PUBSUB = "pubsub"


def publish_errors(sidecar: Sidecar) -> Any:
    """Publish to an unknown pubsub, to an empty topic, and bulk-publish to an unknown pubsub."""
    with DaprClient(sidecar.grpc_endpoint) as client:
        return {
            "unknown_pubsub": raises(lambda: client.publish_event("nopubsub", "t", "x")),
            "empty_topic": raises(lambda: client.publish_event(PUBSUB, "", "x")),
            "empty_pubsub": raises(lambda: client.publish_event("", "t", "x")),
            "bulk_unknown": raises(lambda: client.publish_events("nopubsub", "t", ["x"])),
            "bulk_empty_topic": raises(lambda: client.publish_events(PUBSUB, "", ["x"])),
        }


def test_publish_errors(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(publish_errors)
    assert on_sandbox["unknown_pubsub"]["code"] == "INVALID_ARGUMENT"
    same(on_sandbox, on_daprd)


def http_publish(sidecar: Sidecar) -> Any:
    """The HTTP publish routes: a JSON event, an unknown pubsub, a missing topic, a bulk publish."""
    topic = token("t")
    answer = {
        "ok": http(sidecar, "POST", f"/v1.0/publish/{PUBSUB}/{topic}", {"n": 1}),
        "unknown": http(sidecar, "POST", f"/v1.0/publish/nopubsub/{topic}", {"n": 1}),
        "no_topic": http(sidecar, "POST", f"/v1.0/publish/{PUBSUB}/", {"n": 1}),
        "bulk": http(
            sidecar,
            "POST",
            f"/v1.0-alpha1/publish/bulk/{PUBSUB}/{topic}",
            [{"entryId": "1", "event": {"n": 1}, "contentType": "application/json"}],
        ),
        "bulk_unknown": http(
            sidecar,
            "POST",
            f"/v1.0-alpha1/publish/bulk/nopubsub/{topic}",
            [{"entryId": "1", "event": {"n": 1}, "contentType": "application/json"}],
        ),
        "bulk_malformed": http(sidecar, "POST", f"/v1.0-alpha1/publish/bulk/{PUBSUB}/{topic}", "[{"),
    }
    return scrub(answer, {topic: "TOPIC"})


def test_http_publish(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(http_publish)
    assert on_sandbox["ok"]["status"] == 204 and on_sandbox["unknown"]["status"] == 404
    same(on_sandbox, on_daprd)


def delivery(sidecar: Sidecar) -> Any:
    """Stream-subscribe, publish a JSON event, a text event and a bulk pair; read every CloudEvent field."""
    topic = token("t")
    with DaprClient(sidecar.grpc_endpoint) as client:
        inbox = Inbox(client.subscribe(PUBSUB, topic))
        try:
            client.publish_event(PUBSUB, topic, '{"order": 7}', data_content_type="application/json")
            client.publish_event(PUBSUB, topic, "plain", data_content_type="text/plain")
            bulk = client.publish_events(PUBSUB, topic, ['{"b": 1}', '{"b": 2}'], data_content_type="application/json")
            messages = []
            for _ in range(4):
                message = inbox.get(WAIT)
                inbox.sub.respond_success(message)
                messages.append(message)
        finally:
            inbox.close()
    events = [
        {
            "data": m.data(),
            "content_type": m.data_content_type(),
            "topic": m.topic(),
            "pubsub": m.pubsub_name(),
            "type": m.type(),
            "spec_version": m.spec_version(),
            "source": m.source(),
            "has_id": bool(m.id()),
            "extensions": sorted(m.extensions()),
        }
        for m in messages
    ]
    events.sort(key=lambda e: str(e["data"]))
    answer = {"events": events, "bulk_failed": list(bulk.failed_entries)}
    return scrub(answer, {topic: "TOPIC", sidecar.app_id: "APP"})


def test_cloudevent_fields_on_delivery(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(delivery)
    assert [e["source"] for e in on_sandbox["events"]] == ["APP"] * 4
    same(on_sandbox, on_daprd)
