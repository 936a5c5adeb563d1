"""The LiveWidget base: no I/O before start, validated traits, back-off, and a visible state through an outage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _waiting import wait_until
from traitlets import TraitError, TraitType
from widget_support import CountingClient, dapr_threads

from dapr_nb import board
from dapr_nb.client import Client
from dapr_nb.sandbox import Sandbox
from dapr_nb.widgets import registry
from dapr_nb.widgets.board import WorkflowBoard
from dapr_nb.widgets.config_watch import ConfigWatch
from dapr_nb.widgets.live import Backoff, LiveWidget, SettingError
from dapr_nb.widgets.timeline import WorkflowTimeline
from dapr_nb.widgets.topic_stream import TopicStream

NOWHERE = "127.0.0.1:1"  # nothing listens: any RPC would fail and leave an error


def make_all(client: Any) -> list[LiveWidget]:
    return [
        TopicStream("pubsub", "t", client=client),
        ConfigWatch("configstore", ["k"], client=client),
        WorkflowTimeline("some-id", client=client),
        WorkflowBoard(client=client),
    ]


def test_constructors_do_no_io_and_start_no_threads() -> None:
    before = dapr_threads()
    with Client(NOWHERE) as real:
        counted = CountingClient(real)
        widgets = make_all(counted)
        try:
            assert counted.calls == {} and dapr_threads() == before
            for widget in widgets:
                widget.flush()
                assert (widget.state, widget.errors, widget.error, widget.active) == ("idle", [], "", False)
                assert widget not in registry.live().values()
        finally:
            for widget in widgets:
                widget.close()
    assert dapr_threads() == before


def test_every_trait_says_what_it_is() -> None:
    for cls in (TopicStream, ConfigWatch, WorkflowTimeline, WorkflowBoard):
        own = {
            name: trait
            for klass in cls.__mro__
            if klass.__module__.startswith("dapr_nb.")
            for name, trait in vars(klass).items()
            if isinstance(trait, TraitType)
        }
        assert {"state", "error", "errors", "reconnects"} < set(own), cls
        missing = [name for name, trait in own.items() if not trait.help]
        assert missing == [], f"{cls.__name__}: traits without help=: {missing}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: TopicStream("p", "t", client=c, max_rows=0), "max_rows must be at least 1, not 0"),
        (lambda c: TopicStream("p", "t", client=c, max_messages=0), "max_messages must be at least 1, not 0"),
        (lambda c: ConfigWatch("s", client=c, max_history=-1), "max_history must be at least 1, not -1"),
        (lambda c: WorkflowBoard(client=c, poll=0), "poll must be at least 0.01, not 0"),
        (lambda c: WorkflowTimeline("i", client=c, aggregate_at=0), "aggregate_at must be at least 1, not 0"),
    ],
)
def test_bad_settings_fail_in_one_line(make: Callable[[Any], Any], message: str) -> None:
    with Client(NOWHERE) as client:
        with pytest.raises(SettingError) as info:
            make(client)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and isinstance(info.value, TraitError)


def test_settings_are_validated_when_changed_too() -> None:
    with Client(NOWHERE) as client:
        view = WorkflowBoard(client=client)
        stream = TopicStream("p", "t", client=client)
        try:
            with pytest.raises(SettingError, match="poll must be at least"):
                view.poll = -1
            assert view.poll == 1.0
            with pytest.raises(SettingError, match="ack policy must be one of success, retry, drop, not 'handler'"):
                stream.policy = "handler"  # there is no handler
            with pytest.raises(TraitError, match="read-only"):
                stream.max_rows = 5
        finally:
            view.close()
            stream.close()


def test_backoff_doubles_with_jitter_and_resets() -> None:
    middle = Backoff(first=0.2, most=1.0, rand=lambda: 0.5)
    assert [round(middle.next(), 3) for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    middle.reset()
    assert middle.next() == 0.2
    low, high = Backoff(rand=lambda: 0.0), Backoff(rand=lambda: 1.0)
    assert (low.next(), high.next()) == (0.1, pytest.approx(0.3))


def test_start_twice_and_after_stop() -> None:
    with Client(NOWHERE) as client:
        view = WorkflowBoard(client=client, poll=5)
        assert view.start() is view and view.start() is view  # one worker
        view.stop()
        assert view.state == "closed" and not view.active
        with pytest.raises(RuntimeError, match="stopped; make a new one"):
            view.start()
        view.close()


def test_an_outage_shows_in_state_and_error(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    view = board(client=Client(sb.grpc_endpoint).settings, poll=0.05)  # Settings: the board owns its client
    try:
        assert (view.state, view.error, view.reconnects) == ("connected", "", 0) and view.active
        sb.stop()
        wait_until(lambda: view.flush() or view.state == "reconnecting", message="reconnecting")
        assert view.error.startswith("poll failed: ") and view.error in view.errors and view.active
        assert view.error in view.snapshot_html()
        sb.restart()
        wait_until(lambda: view.flush() or view.state == "connected", timeout=30, message="connected again")
        assert (view.error, view.reconnects) == ("", 1) and view.errors  # the history of errors stays
    finally:
        view.close()
    assert view.state == "closed" and not view.active
    assert view._thread is not None and not view._thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        view.client.list_workflow_ids()  # the client it made was closed with it


def test_rerunning_a_cell_closes_the_widget_it_made_before() -> None:
    with Client(NOWHERE) as client:
        first = WorkflowTimeline("i", client=client, key=("timeline", "i", "cell-7")).start()
        second = WorkflowTimeline("i", client=client, key=("timeline", "i", "cell-7")).start()
        try:
            assert first.state == "closed" and not first.active and first._thread is not None
            assert not first._thread.is_alive() and registry.live()[("timeline", "i", "cell-7")] is second
            second.flush()
            assert second.active and second.state in ("connecting", "reconnecting")  # nothing listens: it retries
        finally:
            second.close()
        assert ("timeline", "i", "cell-7") not in registry.live()
