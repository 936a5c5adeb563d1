"""Pub/sub against the sandbox: the official SDK (sync and aio), raw HTTP, and the streaming protocol.

Every wait is bounded: SDK subscriptions are read on a helper thread (``Inbox``) so that a missing
message fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from _waiting import WAIT, assert_quiet, wait_until
from dapr.clients import BulkPublishEntry, DaprClient
from dapr.clients.exceptions import DaprGrpcError
from dapr.clients.grpc._response import TopicEventResponse
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2, pubsub_pb2

from dapr_nb.sandbox import Sandbox


class Inbox:
    """Read an SDK ``Subscription`` on a daemon thread; get() and quiet() never block for long."""

    def __init__(self, subscription: Any) -> None:
        self.sub = subscription
        self._items: queue.Queue[Any] = queue.Queue()
        self._reader = threading.Thread(target=self._run, daemon=True)
        self._reader.start()

    def _run(self) -> None:
        try:
            for message in self.sub:
                self._items.put(message)
        except Exception as exc:  # noqa: BLE001 - closing ends the iteration with an error
            self._items.put(exc)

    def get(self, timeout: float = WAIT) -> Any:
        """Return the next message or fail the test."""
        try:
            item = self._items.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no message within {timeout} s")
        if isinstance(item, Exception):
            raise item
        return item

    def quiet(self, seconds: float = 0.5) -> bool:
        """Tell whether no message arrives within ``seconds``."""
        try:
            item = self._items.get(timeout=seconds)
        except queue.Empty:
            return True
        self._items.put(item)
        return False

    def close(self) -> None:
        """Close the subscription; let the reader finish while the SDK env still points at the sandbox."""
        self.sub.close()
        self._reader.join(WAIT)


def open_inboxes(client: DaprClient) -> Iterator[Callable[..., Inbox]]:
    """Yield a function opening SDK subscriptions wrapped in an Inbox; close them all afterwards."""
    opened: list[Inbox] = []

    def subscribe(topic: str, **kwargs: Any) -> Inbox:
        pubsub = kwargs.pop("pubsub", "pubsub")
        inbox = Inbox(client.subscribe(pubsub, topic, **kwargs))
        opened.append(inbox)
        return inbox

    yield subscribe
    for inbox in opened:
        inbox.close()


@pytest.fixture
def inboxes(dapr_client: DaprClient) -> Iterator[Callable[..., Inbox]]:
    """Open SDK subscriptions on the session sandbox wrapped in an Inbox; all are closed after the test."""
    yield from open_inboxes(dapr_client)


@pytest.fixture
def handover(handover_sandbox: Sandbox, point_sdk: Any) -> Iterator[tuple[Sandbox, DaprClient]]:
    """The ``redeliverOnClose`` sandbox and an SDK client pointed at it."""
    point_sdk(handover_sandbox)
    with DaprClient() as client:
        yield handover_sandbox, client


@pytest.fixture
def handover_inboxes(handover: tuple[Sandbox, DaprClient]) -> Iterator[Callable[..., Inbox]]:
    """Open SDK subscriptions on the ``redeliverOnClose`` sandbox wrapped in an Inbox."""
    yield from open_inboxes(handover[1])


def streaming_subscriptions(sb: Sandbox) -> list[Any]:
    """Return GetMetadata's subscriptions, read with the raw stub."""
    with grpc.insecure_channel(sb.grpc_endpoint) as channel:
        reply = dapr_pb2_grpc.DaprStub(channel).GetMetadata(metadata_pb2.GetMetadataRequest(), timeout=WAIT)
    return list(reply.subscriptions)


def http(sb: Sandbox, method: str, path: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send a raw HTTP request to the sandbox; return (status, body)."""
    request = urllib.request.Request(sb.http_endpoint + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def grpc_error(call: Callable[[], Any]) -> DaprGrpcError:
    """Run an SDK call that must fail and return its DaprGrpcError."""
    with pytest.raises(DaprGrpcError) as info:
        call()
    return info.value


def sdk_stream_refusal(call: Callable[[], Any], match: str) -> grpc.RpcError:
    """Run an SDK subscribe the sidecar must refuse; return the sidecar's status.

    The SDK wraps the refusal in a bare ``Exception`` (its private ``_TransientStreamError`` for UNKNOWN),
    so the error meant is recognised by its cause.
    """
    with pytest.raises(Exception, match=match) as info:
        call()
    assert isinstance(info.value.__cause__, grpc.RpcError), repr(info.value)
    return info.value.__cause__


# ------------------------------------------------------------------ publish + envelope (sync SDK)


def test_json_event_arrives_in_a_cloudevent(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic = unique("orders")
    inbox = inboxes(topic)
    body = json.dumps({"n": 1, "tags": ["a"]})
    dapr_client.publish_event("pubsub", topic, body, data_content_type="application/json")
    msg = inbox.get()
    assert msg.data() == {"n": 1, "tags": ["a"]}
    assert uuid.UUID(msg.id())
    assert (msg.source(), msg.type(), msg.spec_version()) == ("sandbox", "com.dapr.event.sent", "1.0")
    assert (msg.topic(), msg.pubsub_name(), msg.data_content_type()) == (topic, "pubsub", "application/json")
    ext = msg.extensions()
    assert ext["topic"] == topic and ext["pubsubname"] == "pubsub" and ext["time"]
    assert ext["traceparent"] == ext["traceid"] and ext["traceparent"].startswith("00-")
    inbox.sub.respond_success(msg)


def test_text_and_binary_payloads(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic = unique("mixed")
    inbox = inboxes(topic)
    dapr_client.publish_event("pubsub", topic, "hello")
    text = inbox.get()
    assert (text.data(), text.data_content_type(), text.raw_data()) == ("hello", "text/plain", b"hello")
    inbox.sub.respond_success(text)
    dapr_client.publish_event("pubsub", topic, b"\x00\xffbin", data_content_type="application/octet-stream")
    binary = inbox.get()
    assert (binary.raw_data(), binary.data(), binary.data_content_type()) == (
        b"\x00\xffbin", None, "application/octet-stream")
    inbox.sub.respond_success(binary)


def test_cloudevent_metadata_overrides(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic = unique("override")
    inbox = inboxes(topic)
    meta = {"cloudevent.id": "my-id", "cloudevent.source": "my-src", "cloudevent.type": "my.type",
            "CloudEvent.Subject": "subj", "cloudevent.traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    dapr_client.publish_event("pubsub", topic, "x", publish_metadata=meta)
    msg = inbox.get()
    assert (msg.id(), msg.source(), msg.type()) == ("my-id", "my-src", "my.type")
    assert msg.extensions()["subject"] == "subj"
    assert msg.extensions()["traceid"] == meta["cloudevent.traceparent"]
    inbox.sub.respond_success(msg)


def test_published_cloudevent_keeps_its_fields(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic = unique("ce")
    inbox = inboxes(topic)
    event = {"specversion": "1.0", "id": "ce-1", "source": "origin", "type": "my.type",
             "datacontenttype": "text/plain", "data": "hello", "myext": "x", "time": "2020-01-01T00:00:00Z"}
    ignored = {"cloudevent.id": "ignored"}  # overrides apply to new envelopes only
    dapr_client.publish_event("pubsub", topic, json.dumps(event), publish_metadata=ignored,
                              data_content_type="application/cloudevents+json")
    msg = inbox.get()
    assert (msg.id(), msg.source(), msg.type(), msg.data()) == ("ce-1", "origin", "my.type", "hello")
    ext = msg.extensions()
    assert (ext["myext"], ext["time"]) == ("x", "2020-01-01T00:00:00Z")
    assert (ext["topic"], ext["pubsubname"]) == (topic, "pubsub")
    inbox.sub.respond_success(msg)
    err = grpc_error(lambda: dapr_client.publish_event(
        "pubsub", topic, "{not json", data_content_type="application/cloudevents+json"))
    assert (err.code(), err.details(), err.error_code()) == (
        grpc.StatusCode.INVALID_ARGUMENT, "cannot create cloudevent", "DAPR_PUBSUB_CLOUD_EVENT_CREATION")


def test_raw_payload(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic, dead = unique("raw"), unique("raw-dlq")
    raw_inbox = inboxes(topic, metadata={"rawPayload": "true"})
    ce_inbox = inboxes(topic, dead_letter_topic=dead)
    dead_inbox = inboxes(dead, metadata={"rawPayload": "true"})
    dapr_client.publish_event("pubsub", topic, b"\x01not json", publish_metadata={"rawPayload": "true"})
    raw = raw_inbox.get()
    assert (raw.raw_data(), raw.data_content_type(), raw.source(), raw.type()) == (
        b"\x01not json", "application/octet-stream", "Dapr", "com.dapr.event.sent")
    raw_inbox.sub.respond_success(raw)
    # A subscriber without rawPayload must parse a CloudEvent: this payload is not one -> dead letter.
    assert dead_inbox.get().raw_data() == b"\x01not json"
    assert ce_inbox.quiet()
    # A raw JSON payload shaped like a CloudEvent reaches it as that event.
    payload = {"id": "raw-ce", "source": "s", "type": "t", "specversion": "1.0",
               "datacontenttype": "application/json", "data": {"k": 1}}
    dapr_client.publish_event("pubsub", topic, json.dumps(payload), publish_metadata={"rawPayload": "true"})
    msg = ce_inbox.get()
    assert (msg.id(), msg.data()) == ("raw-ce", {"k": 1})
    bad = {"rawPayload": "maybe"}
    err = grpc_error(lambda: dapr_client.publish_event("pubsub", topic, "x", publish_metadata=bad))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details() == ("failed deserializing metadata. "
                             "Error: rawPayload value must be a valid boolean: actual is 'maybe'")
    assert err.error_code() == "DAPR_PUBSUB_METADATA_DESERIALIZATION"


def test_ttl_expired_events_are_not_delivered(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic, dead = unique("ttl"), unique("ttl-dlq")
    inbox = inboxes(topic, dead_letter_topic=dead)
    dead_inbox = inboxes(dead, metadata={"rawPayload": "true"})  # a CloudEvent reader would drop it again
    dapr_client.publish_event("pubsub", topic, "first")
    first = inbox.get()  # unanswered: the next message waits in the queue
    dapr_client.publish_event("pubsub", topic, "short-lived", publish_metadata={"ttlInSeconds": "1"})
    published = time.time()  # the sidecar stamped the event's expiration before this, at most 1 s ahead
    wait_until(lambda: time.time() > published + 1, message="the short-lived event never came due")
    inbox.sub.respond_success(first)
    dapr_client.publish_event("pubsub", topic, "last")
    assert inbox.get().data() == "last"
    expired = json.loads(dead_inbox.get().raw_data())
    assert expired["data"] == "short-lived" and expired["expiration"] and expired["topic"] == topic


# ------------------------------------------------------------------ bulk publish (sync SDK)


def test_bulk_publish(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic = unique("bulk")
    inbox = inboxes(topic)
    resp = dapr_client.publish_events("pubsub", topic, ["a", "b"], data_content_type="text/plain")
    assert resp.failed_entries == []
    entries = [BulkPublishEntry(json.dumps({"n": 3}), content_type="application/json",
                                metadata={"cloudevent.id": "bulk-3"}),
               BulkPublishEntry(b"\x00", content_type="application/octet-stream")]
    assert dapr_client.publish_events("pubsub", topic, entries).failed_entries == []
    got = []
    for _ in range(4):
        msg = inbox.get()
        got.append((msg.data(), msg.raw_data()))
        if msg.data() == {"n": 3}:
            assert msg.id() == "bulk-3"
        inbox.sub.respond_success(msg)
    assert got == [("a", b"a"), ("b", b"b"), ({"n": 3}, b'{"n":3}'), (None, b"\x00")]


def test_bulk_publish_rejects_duplicate_entry_ids(dapr_client: DaprClient, unique: Any) -> None:
    topic = unique("bulk-dup")
    entries = [BulkPublishEntry("a", entry_id="same"), BulkPublishEntry("b", entry_id="same")]
    err = grpc_error(lambda: dapr_client.publish_events("pubsub", topic, entries))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.error_code() == "DAPR_PUBSUB_MARSHAL_EVENTS"
    assert err.details() == (f"error marshaling events to bytes for topic {topic} pubsub pubsub. "
                             "error: entryId is duplicated or not present for entry")


def test_bulk_publish_alpha1_is_an_alias(sandbox: Sandbox, dapr_client: DaprClient, inboxes: Any,
                                         unique: Any) -> None:
    topic = unique("bulk-alpha")
    inbox = inboxes(topic)
    request = pubsub_pb2.BulkPublishRequest(pubsub_name="pubsub", topic=topic, entries=[
        pubsub_pb2.BulkPublishRequestEntry(entry_id="1", event=b"x", content_type="text/plain")])
    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        reply = dapr_pb2_grpc.DaprStub(channel).BulkPublishEventAlpha1(request, timeout=WAIT)
    assert list(reply.failedEntries) == []
    assert inbox.get().data() == "x"


# ------------------------------------------------------------------ errors


def test_publish_errors(dapr_client: DaprClient, unique: Any) -> None:
    err = grpc_error(lambda: dapr_client.publish_event("nope", unique("t"), "x"))
    assert (err.code(), err.details(), err.error_code()) == (
        grpc.StatusCode.INVALID_ARGUMENT, "pubsub nope is not found", "DAPR_PUBSUB_NOT_FOUND")
    assert err.status_details().resource_info is None
    err = grpc_error(lambda: dapr_client.publish_event("pubsub", "", "x"))
    assert (err.code(), err.details(), err.error_code()) == (
        grpc.StatusCode.INVALID_ARGUMENT, "topic is empty in pubsub pubsub", "DAPR_PUBSUB_TOPIC_NAME_EMPTY")
    resource = err.status_details().resource_info
    assert (resource["resource_type"], resource["resource_name"]) == ("pubsub", "pubsub")
    err = grpc_error(lambda: dapr_client.publish_event("", "t", "x"))
    assert (err.details(), err.error_code()) == ("pubsub name is empty", "DAPR_PUBSUB_NAME_EMPTY")
    err = grpc_error(lambda: dapr_client.publish_events("nope", "t", ["x"]))
    assert err.error_code() == "DAPR_PUBSUB_NOT_FOUND"


def test_subscribe_errors(dapr_client: DaprClient, unique: Any) -> None:
    refused = sdk_stream_refusal(lambda: dapr_client.subscribe("nope", unique("t")), "pubsub nope is not found")
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    refused = sdk_stream_refusal(lambda: dapr_client.subscribe("pubsub", ""), "topic is required")
    assert refused.code() == grpc.StatusCode.UNKNOWN  # daprd's plain stream error


def test_stream_protocol_errors(sandbox: Sandbox, unique: Any) -> None:
    topic = unique("proto")
    processed = pubsub_pb2.SubscribeTopicEventsRequestAlpha1(
        event_processed=pubsub_pb2.SubscribeTopicEventsRequestProcessedAlpha1(id="x"))
    first = pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(pubsub_name="pubsub", topic=topic)
    initial = pubsub_pb2.SubscribeTopicEventsRequestAlpha1(initial_request=first)
    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            list(stub.SubscribeTopicEventsAlpha1(iter([processed]), timeout=WAIT))
        assert (info.value.code(), info.value.details()) == (
            grpc.StatusCode.UNKNOWN, "initial request is required")
        replies = stub.SubscribeTopicEventsAlpha1(iter([initial, processed, initial]), timeout=WAIT)
        assert next(replies).WhichOneof("subscribe_topic_events_response_type") == "initial_response"
        with pytest.raises(grpc.RpcError) as info:
            next(replies)
        assert (info.value.code(), info.value.details()) == (
            grpc.StatusCode.UNKNOWN, "duplicate initial request received")


# ------------------------------------------------------------------ streaming semantics (sync SDK)


def test_retry_redelivers_and_drop_dead_letters(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic, dead = unique("acks"), unique("acks-dlq")
    inbox = inboxes(topic, dead_letter_topic=dead)
    dead_inbox = inboxes(dead)
    dapr_client.publish_event("pubsub", topic, "again")
    first = inbox.get()
    inbox.sub.respond_retry(first)
    second = inbox.get()
    assert (second.id(), second.data()) == (first.id(), "again")
    inbox.sub.respond_success(second)
    dapr_client.publish_event("pubsub", topic, "unwanted")
    unwanted = inbox.get()
    inbox.sub.respond_drop(unwanted)
    dead_letter = dead_inbox.get()
    assert (dead_letter.id(), dead_letter.data(), dead_letter.topic()) == (unwanted.id(), "unwanted", dead)
    assert dead_letter.extensions()["topic"] == topic  # the original envelope, as daprd forwards it
    assert inbox.quiet()


def test_retries_run_out_into_the_dead_letter_topic(dapr_client: DaprClient, inboxes: Any,
                                                    unique: Any) -> None:
    topic, dead = unique("exhaust"), unique("exhaust-dlq")
    inbox = inboxes(topic, dead_letter_topic=dead)
    dead_inbox = inboxes(dead)
    dapr_client.publish_event("pubsub", topic, "stubborn")
    ids = set()
    for _ in range(4):  # first delivery + the default 3 redeliveries
        msg = inbox.get()
        ids.add(msg.id())
        inbox.sub.respond_retry(msg)
    assert len(ids) == 1
    assert dead_inbox.get().id() in ids
    assert inbox.quiet()


def test_every_subscriber_gets_a_copy(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    topic = unique("fanout")
    first, second = inboxes(topic), inboxes(topic)
    for n in range(3):
        dapr_client.publish_event("pubsub", topic, f"m{n}")
    for inbox in (first, second):
        seen = []
        for _ in range(3):
            msg = inbox.get()
            seen.append(msg.data())
            inbox.sub.respond_success(msg)
        assert seen == ["m0", "m1", "m2"]


def test_wildcard_subscription(dapr_client: DaprClient, inboxes: Any, unique: Any) -> None:
    prefix = unique("wild")
    inbox = inboxes(prefix + "*")
    for topic in (prefix, prefix + "/a", prefix + "-b"):
        dapr_client.publish_event("pubsub", topic, topic)
    got = []
    for _ in range(2):
        msg = inbox.get()
        got.append((msg.data(), msg.topic(), msg.extensions()["topic"]))
        inbox.sub.respond_success(msg)
    assert got == [(prefix + "/a", prefix + "*", prefix + "/a"), (prefix + "-b", prefix + "*", prefix + "-b")]
    assert inbox.quiet()


def test_a_closed_stream_drops_its_unanswered_messages(sandbox: Sandbox, dapr_client: DaprClient,
                                                      inboxes: Any, unique: Any) -> None:
    topic = unique("closed")  # daprd's in-memory component: in-flight and queued messages die with the stream
    old = inboxes(topic)
    for n in range(3):
        dapr_client.publish_event("pubsub", topic, f"m{n}")
    assert old.get().data() == "m0"  # taken but never answered; m1 and m2 still queued
    old.close()
    wait_until(lambda: not [s for s in streaming_subscriptions(sandbox) if s.topic == topic])
    new = inboxes(topic)
    dapr_client.publish_event("pubsub", topic, "fresh")
    msg = new.get()
    assert msg.data() == "fresh"
    new.sub.respond_success(msg)
    assert new.quiet()


def test_sdk_receive_ack_close_loop_sees_every_message_once(dapr_client: DaprClient, unique: Any) -> None:
    topic = unique("loop")  # the SDK's close() cancels the call before its last answer is flushed
    for n in range(8):
        inbox = Inbox(dapr_client.subscribe("pubsub", topic))
        try:
            dapr_client.publish_event("pubsub", topic, f"m{n}")
            msg = inbox.get()
            assert msg.data() == f"m{n}"
            inbox.sub.respond_success(msg)
        finally:
            inbox.close()


def test_redeliver_on_close_hands_messages_to_the_next_subscriber(handover: tuple[Sandbox, DaprClient],
                                                                  handover_inboxes: Any, unique: Any) -> None:
    sb, client = handover
    topic = unique("resume")
    old = handover_inboxes(topic)
    for n in range(3):
        client.publish_event("pubsub", topic, f"m{n}")
    taken = old.get()  # taken but never answered; m1 and m2 still queued
    old.close()
    wait_until(lambda: not [s for s in streaming_subscriptions(sb) if s.topic == topic])
    new = handover_inboxes(topic)
    seen = []
    for _ in range(3):
        msg = new.get()
        seen.append((msg.id(), msg.data()))
        new.sub.respond_success(msg)
    assert seen[0] == (taken.id(), "m0")
    assert [data for _, data in seen] == ["m0", "m1", "m2"]
    assert new.quiet()
    reconnect = unique("reconnect")  # a new stream that opens before the old one is gone
    old = handover_inboxes(reconnect)
    client.publish_event("pubsub", reconnect, "before")
    before = old.get()  # unanswered
    new = handover_inboxes(reconnect)
    client.publish_event("pubsub", reconnect, "after")  # both have a copy
    old.close()
    got = {}
    for _ in range(2):
        msg = new.get()
        got[msg.data()] = msg.id()
        new.sub.respond_success(msg)
    assert got["before"] == before.id() and "after" in got
    assert new.quiet()  # no duplicate of "after"


def test_subscribe_with_handler(dapr_client: DaprClient, unique: Any) -> None:
    topic, dead = unique("handler"), unique("handler-dlq")
    calls: queue.Queue[tuple[str, str]] = queue.Queue()
    dead_letters: queue.Queue[str] = queue.Queue()
    retried: set[str] = set()

    def handler(msg: Any) -> TopicEventResponse:
        action = msg.data()["action"]
        calls.put((msg.id(), action))
        if action == "retry-once" and msg.id() not in retried:
            retried.add(msg.id())
            return TopicEventResponse("retry")
        return TopicEventResponse("drop" if action == "drop" else "success")

    def on_dead(msg: Any) -> TopicEventResponse:
        dead_letters.put(msg.data()["action"])
        return TopicEventResponse("success")

    close_main = dapr_client.subscribe_with_handler("pubsub", topic, handler, dead_letter_topic=dead)
    close_dead = dapr_client.subscribe_with_handler("pubsub", dead, on_dead)
    try:
        for action in ("success", "drop", "retry-once"):
            dapr_client.publish_event("pubsub", topic, json.dumps({"action": action}),
                                      data_content_type="application/json")
        got = [calls.get(timeout=WAIT) for _ in range(4)]
        assert [a for _, a in got] == ["success", "drop", "retry-once", "retry-once"]
        assert got[2][0] == got[3][0]
        assert dead_letters.get(timeout=WAIT) == "drop"
        assert_quiet(calls, 0.3, "no further delivery")
        assert dead_letters.empty()
    finally:
        close_main()
        close_dead()


def test_metadata_lists_streaming_subscriptions(sandbox: Sandbox, dapr_client: DaprClient,
                                                unique: Any) -> None:
    topic, dead = unique("meta"), unique("meta-dlq")
    sub = dapr_client.subscribe("pubsub", topic, dead_letter_topic=dead)
    try:
        mine = [s for s in streaming_subscriptions(sandbox) if s.topic == topic]
        assert len(mine) == 1
        assert (mine[0].pubsub_name, mine[0].dead_letter_topic, mine[0].type) == (
            "pubsub", dead, metadata_pb2.PubsubSubscriptionType.STREAMING)
        status, body = http(sandbox, "GET", "/v1.0/metadata")
        listed = [s for s in json.loads(body)["subscriptions"] if s["topic"] == topic]
        assert status == 200 and listed[0]["type"] == "STREAMING" and listed[0]["deadLetterTopic"] == dead
    finally:
        sub.close()
    wait_until(lambda: not [s for s in streaming_subscriptions(sandbox) if s.topic == topic])


# ------------------------------------------------------------------ aio SDK


def test_aio_publish_and_subscribe(sdk_env: Sandbox, unique: Any) -> None:
    from dapr.aio.clients import DaprClient as AioDaprClient

    topic = unique("aio")

    async def scenario() -> None:
        async with AioDaprClient() as client:
            sub = await client.subscribe("pubsub", topic)
            try:
                await client.publish_event("pubsub", topic, json.dumps({"n": 1}),
                                           data_content_type="application/json")
                first = await asyncio.wait_for(sub.next_message(), WAIT)
                assert first.data() == {"n": 1}
                await sub.respond_retry(first)
                again = await asyncio.wait_for(sub.next_message(), WAIT)
                assert again.id() == first.id()
                await sub.respond_success(again)
                await client.publish_event("pubsub", topic, "two")
                async for msg in sub:
                    assert msg.data() == "two"
                    await sub.respond_success(msg)
                    break
            finally:
                await sub.close()

    asyncio.run(asyncio.wait_for(scenario(), 3 * WAIT))


# ------------------------------------------------------------------ raw HTTP


def test_http_publish(sandbox: Sandbox, inboxes: Any, unique: Any) -> None:
    topic = unique("http") + "/eu/orders"  # topics may contain slashes
    inbox = inboxes(topic)
    status, _ = http(sandbox, "POST", f"/v1.0/publish/pubsub/{topic}?metadata.cloudevent.id=http-1",
                     json.dumps({"k": "v"}).encode(), {"Content-Type": "application/json"})
    assert status == 204
    msg = inbox.get()
    assert (msg.id(), msg.data(), msg.topic()) == ("http-1", {"k": "v"}, topic)
    inbox.sub.respond_success(msg)


def test_http_bulk_publish(sandbox: Sandbox, inboxes: Any, unique: Any) -> None:
    topic = unique("http-bulk")
    inbox = inboxes(topic)
    entries = [
        {"entryId": "1", "event": {"n": 1}, "contentType": "application/json"},
        {"entryId": "2", "event": "text", "contentType": "text/plain"},
        {"entryId": "3", "event": base64.b64encode(b"\x00\x01").decode(),
         "contentType": "application/octet-stream"},
    ]
    for prefix in ("/v1.0-alpha1", "/v1.0"):
        path = f"{prefix}/publish/bulk/pubsub/{topic}"
        status, _ = http(sandbox, "POST", path, json.dumps(entries).encode(),
                         {"Content-Type": "application/json"})
        assert status == 204
        got = []
        for _ in range(3):
            msg = inbox.get()
            got.append(msg.raw_data())
            inbox.sub.respond_success(msg)
        assert got == [b'{"n":1}', b"text", b"\x00\x01"]


def test_http_errors(sandbox: Sandbox, unique: Any) -> None:
    topic = unique("http-err")

    def error(path: str, body: bytes = b"x") -> tuple[int, str, str]:
        status, raw = http(sandbox, "POST", path, body, {"Content-Type": "text/plain"})
        payload = json.loads(raw)
        return status, payload["errorCode"], payload["message"]

    assert error(f"/v1.0/publish/nope/{topic}") == (404, "ERR_PUBSUB_NOT_FOUND", "pubsub nope is not found")
    no_app = "failed getting app id either from the URL path or the header dapr-app-id"
    assert error("/v1.0/publish/pubsub/") == (404, "ERR_DIRECT_INVOKE", no_app)  # daprd cleans the path: no route
    bad_raw = error(f"/v1.0/publish/pubsub/{topic}?metadata.rawPayload=nah")
    assert bad_raw[:2] == (400, "ERR_PUBSUB_REQUEST_METADATA")
    dup = json.dumps([{"entryId": "a", "event": "x", "contentType": "text/plain"}] * 2).encode()
    assert error(f"/v1.0/publish/bulk/pubsub/{topic}", dup)[:2] == (400, "ERR_PUBSUB_EVENTS_SER")
    mismatch = json.dumps([{"entryId": "a", "event": {"x": 1}, "contentType": "text/plain"}]).encode()
    status, code, message = error(f"/v1.0/publish/bulk/pubsub/{topic}", mismatch)
    assert (status, code) == (400, "ERR_PUBSUB_EVENTS_SER")
    assert "mismatch between contentType and event" in message
    assert error(f"/v1.0/publish/bulk/pubsub/{topic}", b"{oops")[:2] == (400, "ERR_PUBSUB_EVENTS_SER")


# ------------------------------------------------------------------ component metadata and scopes

COMPONENTS = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: fast}
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - {name: maxRetries, value: "0"}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: scoped}
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - {name: publishingScopes, value: "sandbox=allowed;other-app=secret"}
  - {name: subscriptionScopes, value: "sandbox=allowed"}
"""


def test_component_retry_policy_and_scopes(make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           unique: Any) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "pubsub.yaml").write_text(COMPONENTS)
    sb = make_sandbox(resources_path=resources)
    for key in ("DAPR_API_TOKEN",):
        monkeypatch.delenv(key, raising=False)
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "5")
    with DaprClient() as client:
        inbox = Inbox(client.subscribe("fast", "t", dead_letter_topic="dead"))
        dead = Inbox(client.subscribe("fast", "dead"))
        try:
            client.publish_event("fast", "t", "once")
            inbox.sub.respond_retry(inbox.get())  # maxRetries 0: straight to the dead-letter topic
            assert dead.get().data() == "once"
            assert inbox.quiet(0.3)
        finally:
            inbox.close()
            dead.close()
        err = grpc_error(lambda: client.publish_event("scoped", "secret", "x"))
        assert (err.code(), err.error_code()) == (grpc.StatusCode.PERMISSION_DENIED, "DAPR_PUBSUB_FORBIDDEN")
        assert err.details() == "topic secret is not allowed for app id sandbox"
        client.publish_event("scoped", "allowed", "x")
        refused = "subscription to topic 'secret' on pubsub 'scoped' is not allowed"
        refusal = sdk_stream_refusal(lambda: client.subscribe("scoped", "secret"), refused)
        assert refusal.code() == grpc.StatusCode.UNKNOWN
