"""The stream protocol objects driven by hand — no network: every state transition, the illegal ones, ack outcomes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from dapr.proto.runtime.v1 import configuration_pb2, pubsub_pb2

from dapr_nb.core.configuration import SUBSCRIBE, SUBSCRIBE_ALPHA1, ConfigurationSubscription
from dapr_nb.core.ops import Call, run_by_hand
from dapr_nb.core.pubsub import Ack, TopicSubscription
from dapr_nb.core.streams import (
    TRANSITIONS,
    Closing,
    Message,
    Open,
    Started,
    State,
    StreamStateError,
    Unknown,
    Update,
    delivery,
)
from dapr_nb.errors import (
    DaprError,
    DeadlineExceeded,
    NotFound,
    SidecarUnavailable,
    StreamClosed,
    StreamFailed,
    Unimplemented,
)

INITIAL = pubsub_pb2.SubscribeTopicEventsResponseAlpha1(initial_response={})
DEAD = SidecarUnavailable("no Dapr sidecar answers at h:1 (Socket closed).", code="UNAVAILABLE", endpoint="h:1")


def event(message_id: str, data: bytes = b'{"n":1}') -> pubsub_pb2.SubscribeTopicEventsResponseAlpha1:
    return pubsub_pb2.SubscribeTopicEventsResponseAlpha1(
        event_message={
            "id": message_id,
            "topic": "t",
            "pubsub_name": "p",
            "data": data,
            "data_content_type": "application/json",
        }
    )


def open_subscription() -> TopicSubscription:
    protocol = TopicSubscription("p", "t", dead_letter_topic="dead")
    assert protocol.state is State.OPENING
    assert protocol.receive(INITIAL) == Started() and protocol.state is State.OPEN
    return protocol


def test_opening_gives_the_rpc_and_its_initial_request() -> None:
    protocol = TopicSubscription("p", "t", metadata={"k": "v"}, dead_letter_topic="dead")
    opening = protocol.opening()
    assert isinstance(opening, Open) and opening.method == "SubscribeTopicEventsAlpha1" and opening.bidi
    initial = opening.request.initial_request
    assert (initial.pubsub_name, initial.topic, initial.dead_letter_topic) == ("p", "t", "dead")
    assert dict(initial.metadata) == {"k": "v"} and not protocol.opened()  # still opening: wait on


def test_events_are_typed_and_an_unknown_response_is_not_the_initial_one() -> None:
    protocol = open_subscription()
    assert protocol.opened() and protocol.readable()
    got = protocol.receive(event("e1"))
    assert isinstance(got, Message) and got.message.data == {"n": 1} and protocol.pending == {"e1"}
    assert delivery(got) is got.message
    unknown = protocol.receive(pubsub_pb2.SubscribeTopicEventsResponseAlpha1())
    assert unknown == Unknown("empty response") and unknown != Started() and delivery(unknown) is None
    assert delivery(Started()) is None and protocol.state is State.OPEN


def test_each_message_is_acked_once_with_an_explicit_outcome() -> None:
    protocol = open_subscription()
    protocol.receive(event("e1"))
    ack = protocol.ack("e1", "drop")
    assert isinstance(ack, Ack) and (ack.message_id, ack.status) == ("e1", "drop")
    assert ack.request.event_processed.id == "e1" and ack.request.event_processed.status.status == 2
    assert protocol.pending == set()
    with pytest.raises(ValueError, match="not awaiting an ack"):
        protocol.ack("e1")
    with pytest.raises(ValueError, match="'success', 'retry' or 'drop'"):
        protocol.ack("e2", "maybe")  # type: ignore[arg-type]


def test_user_close_drains_then_closes() -> None:
    protocol = open_subscription()
    protocol.receive(event("e1"))
    assert protocol.close() == Closing(flush=True) and protocol.state is State.CLOSING
    assert protocol.close() is None  # a second close must not cancel the first one's drain
    assert not protocol.readable()
    with pytest.raises(StreamClosed, match="the subscription to p/t is closed"):
        protocol.ack("e1")
    assert isinstance(protocol.receive(event("e2")), Message)  # in flight while closing: never acked, redelivered
    assert isinstance(protocol.fail(DaprError("cancelled", code="CANCELLED")), StreamClosed)  # expected on close
    assert protocol.state is State.CLOSED
    protocol.closed()
    protocol.end()  # a late report is ignored
    assert protocol.state is State.CLOSED and protocol.cause is None


def test_the_driver_confirms_a_close() -> None:
    protocol = open_subscription()
    protocol.close()
    protocol.end()  # the sidecar answers the half-close by ending the stream
    assert protocol.state is State.CLOSED
    other = open_subscription()
    other.close()
    other.closed()  # the driver cancelled the call itself
    assert other.state is State.CLOSED


def test_sidecar_death_fails_the_stream_and_refuses_acks() -> None:
    protocol = open_subscription()
    protocol.receive(event("e1"))
    error = protocol.fail(DEAD)
    assert isinstance(error, StreamFailed) and protocol.state is State.FAILED and protocol.cause is DEAD
    assert str(error) == (
        "SubscribeTopicEventsAlpha1: UNAVAILABLE the subscription to p/t has failed: no Dapr sidecar answers at"
        " h:1 (Socket closed). Messages not acked will be redelivered; subscribe again to go on."
    )
    assert error.code == "UNAVAILABLE" and error.endpoint == "h:1" and error.__cause__ is DEAD
    for attempt in (lambda: protocol.ack("e1"), protocol.readable):
        with pytest.raises(StreamFailed) as raised:
            attempt()
        assert str(raised.value) == str(error) and raised.value is not error  # a fresh copy each time
    assert isinstance(protocol.fail(DaprError("later")), StreamFailed) and protocol.cause is DEAD  # first wins
    protocol.end()
    assert protocol.close() == Closing() and protocol.state is State.FAILED  # only release the call
    protocol.closed()
    assert protocol.state is State.FAILED and protocol.close() is None
    with pytest.raises(StreamStateError, match="after the stream failed"):
        protocol.receive(event("e2"))


def test_sidecar_ending_an_open_stream_closes_it() -> None:
    protocol = open_subscription()
    protocol.receive(event("e1"))
    protocol.end()
    assert protocol.state is State.CLOSED and not protocol.readable()
    with pytest.raises(StreamClosed, match="was ended by the sidecar"):
        protocol.ack("e1")


@pytest.mark.parametrize(
    ("report", "raised"),
    [
        (lambda p: p.fail(NotFound("pubsub q not found", code="NOT_FOUND")), NotFound),
        (lambda p: p.timed_out(2.5), DeadlineExceeded),
        (lambda p: p.end(), DaprError),
    ],
)
def test_open_failures_raise_what_went_wrong(report: Any, raised: type[Exception]) -> None:
    protocol = TopicSubscription("p", "t")
    report(protocol)
    assert protocol.state is State.FAILED
    with pytest.raises(raised) as info:
        protocol.opened()
    assert not isinstance(info.value, StreamFailed)  # the stream never opened: the cause itself
    with pytest.raises(StreamStateError):
        protocol.opening()


def test_timed_out_says_how_long_it_waited() -> None:
    error = TopicSubscription("p", "t").timed_out(2.5)
    assert isinstance(error, DeadlineExceeded) and "no answer within 2.5s" in str(error)


def test_close_while_opening() -> None:
    protocol = TopicSubscription("p", "t")
    assert protocol.close() == Closing() and protocol.state is State.CLOSING  # nothing was acked: nothing to drain
    with pytest.raises(StreamClosed):
        protocol.opened()


def test_illegal_calls_are_rejected_with_a_clear_error() -> None:
    protocol = TopicSubscription("p", "t")
    with pytest.raises(StreamStateError, match="opening"):
        protocol.ack("e1")
    with pytest.raises(StreamStateError, match=r"call close\(\) before closed\(\)"):
        protocol.closed()
    protocol.receive(INITIAL)
    with pytest.raises(StreamStateError, match="only an opening stream is opened"):
        protocol.opening()


@pytest.mark.parametrize(("old", "new"), list(itertools.product(State, State)))
def test_the_transition_table_is_enforced(old: State, new: State) -> None:
    protocol = TopicSubscription("p", "t")
    protocol._state = old
    if new in TRANSITIONS[old]:
        protocol._move(new)
        assert protocol.state is new
    else:
        with pytest.raises(StreamStateError, match=f"illegal transition {old.value} → {new.value}"):
            protocol._move(new)
        assert protocol.state is old


def config_message(sub_id: str, **items: str) -> configuration_pb2.SubscribeConfigurationResponse:
    return configuration_pb2.SubscribeConfigurationResponse(
        id=sub_id, items={k: {"value": v, "version": "1"} for k, v in items.items()}
    )


def test_configuration_watch_lifecycle_and_unsubscribe_on_close() -> None:
    protocol = ConfigurationSubscription("store", ["a"], {"m": "1"})
    opening = protocol.opening()
    assert (opening.method, opening.bidi, list(opening.request.keys)) == (SUBSCRIBE, False, ["a"])
    assert protocol.receive(config_message("s1")) == Started("s1") and protocol.id == "s1"
    update = protocol.receive(config_message("s1", a="on"))
    assert isinstance(update, Update) and update.update.id == "s1" and update.update.items[0].value == "on"
    assert protocol.receive(config_message("s1")) == Unknown("message without items")
    closing = protocol.close()
    assert closing is not None and not closing.flush and closing.op is not None
    seen: list[Call] = []

    def answer(call: Any) -> Any:
        seen.append(call)
        return configuration_pb2.UnsubscribeConfigurationResponse(ok=True)

    assert run_by_hand(closing.op, answer) is True
    assert seen[0].method == "UnsubscribeConfiguration" and seen[0].request.id == "s1"
    protocol.end()  # the sidecar ends the stream after the unsubscribe
    assert protocol.state is State.CLOSED


def test_configuration_falls_back_to_alpha1_once_while_opening() -> None:
    protocol = ConfigurationSubscription("store")
    missing = Unimplemented("unknown method", code="UNIMPLEMENTED")
    assert protocol.fail(missing) is missing and protocol.state is State.OPENING
    assert not protocol.opened()  # the driver opens again
    assert protocol.opening().method == SUBSCRIBE_ALPHA1
    protocol.fail(missing)
    assert protocol.state is State.FAILED
    with pytest.raises(Unimplemented):
        protocol.opened()


def test_configuration_watch_failure_and_close_without_id() -> None:
    protocol = ConfigurationSubscription("store")
    protocol.receive(config_message("s1"))
    error = protocol.fail(DEAD)
    assert isinstance(error, StreamFailed) and "the configuration watch on store has failed" in str(error)
    assert "subscribe_configuration" in str(error)
    assert protocol.close() == Closing()  # failed: no unsubscribe, only release
    never_open = ConfigurationSubscription("store")
    never_open.receive(config_message(""))
    assert never_open.close() == Closing(op=None)  # no id: nothing to unsubscribe
