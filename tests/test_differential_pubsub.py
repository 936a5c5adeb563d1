"""Pub/sub on the sandbox and on daprd: publish errors (gRPC details in order), bulk publish, CloudEvent fields."""

from __future__ import annotations

import queue
import re
import threading
from typing import Any

import pytest
from _waiting import WAIT
from dapr.clients import DaprClient
from differential import OnBoth, Sidecar, http, iso_time, raises, same, scrub, token

PUBSUB = "pubsub"
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")


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


def acking_reader(subscription: Any, into: queue.Queue[Any]) -> threading.Thread:
    """Read a streaming subscription on a daemon thread, acking each message at once (daprd's in-memory
    bulk publish waits for the acks)."""

    def run() -> None:
        try:
            for message in subscription:
                subscription.respond_success(message)
                into.put(message)
        except Exception as exc:  # noqa: BLE001 - closing ends the iteration with an error
            into.put(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def delivery(sidecar: Sidecar) -> Any:
    """Stream-subscribe, publish a JSON event, a text event and a bulk pair; read every CloudEvent field."""
    topic = token("t")
    received: queue.Queue[Any] = queue.Queue()
    with DaprClient(sidecar.grpc_endpoint) as client:
        subscription = client.subscribe(PUBSUB, topic)
        acking_reader(subscription, received)
        try:
            client.publish_event(PUBSUB, topic, '{"order": 7}', data_content_type="application/json")
            client.publish_event(PUBSUB, topic, "plain", data_content_type="text/plain")
            bulk = client.publish_events(PUBSUB, topic, ['{"b": 1}', '{"b": 2}'], data_content_type="application/json")
            messages = [received.get(timeout=WAIT) for _ in range(4)]
        finally:
            subscription.close()
    extensions = [m.extensions() for m in messages]
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
            "extensions": sorted(ext),
            "trace": [bool(TRACEPARENT.match(ext.get("traceparent", ""))), ext.get("traceid") == ext["traceparent"]],
            "time": iso_time(ext.get("time")),
            "ext_topic_pubsub": [ext.get("topic"), ext.get("pubsubname")],
        }
        for m, ext in zip(messages, extensions, strict=True)
    ]
    events.sort(key=lambda e: str(e["data"]))
    answer = {"events": events, "bulk_failed": list(bulk.failed_entries)}
    return scrub(answer, {topic: "TOPIC", sidecar.app_id: "APP"})


def test_cloudevent_fields_on_delivery(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(delivery)
    assert [e["source"] for e in on_sandbox["events"]] == ["APP"] * 4
    same(on_sandbox, on_daprd)


def backpressure(sidecar: Sidecar) -> Any:
    """With one message delivered and not yet acked, does a second publish (and a bulk publish) return at once?"""
    topic = token("t")
    received: queue.Queue[Any] = queue.Queue()
    with DaprClient(sidecar.grpc_endpoint) as client:
        subscription = client.subscribe(PUBSUB, topic)

        def read() -> None:
            try:
                for message in subscription:
                    received.put(message)
            except Exception as exc:  # noqa: BLE001 - closing ends the iteration with an error
                received.put(exc)

        threading.Thread(target=read, daemon=True).start()
        try:
            client.publish_event(PUBSUB, topic, '{"n": 1}', data_content_type="application/json")
            first = received.get(timeout=WAIT)
            returned = threading.Event()

            def publish_more() -> None:
                client.publish_event(PUBSUB, topic, '{"n": 2}', data_content_type="application/json")
                client.publish_events(PUBSUB, topic, ['{"n": 3}', '{"n": 4}'], data_content_type="application/json")
                returned.set()

            threading.Thread(target=publish_more, daemon=True).start()
            before_ack = returned.wait(2)
            subscription.respond_success(first)
            for _ in range(3):
                subscription.respond_success(received.get(timeout=WAIT))
            after_ack = returned.wait(WAIT)
        finally:
            subscription.close()
    return {"returned_before_ack": before_ack, "returned_after_ack": after_ack}


@pytest.mark.daprd_differs("inmemory-backpressure")
def test_publish_does_not_wait_for_acks(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(backpressure)
    assert on_sandbox == {"returned_before_ack": True, "returned_after_ack": True}
    same(on_sandbox, on_daprd)
