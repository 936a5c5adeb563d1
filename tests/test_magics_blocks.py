"""``%dapr publish/subscribe/invoke/binding/secret/config/lock/job/metadata`` through IPython, on both sidecars."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from _waiting import wait_threads_end
from sidecars import Sidecar, set_config

from dapr_nb.core.results import BindingResult, BulkPublishResult, Job, LockResult, Metadata
from dapr_nb.magics.views import MASK, Secrets
from dapr_nb.sandbox import Sandbox
from dapr_nb.widgets.config_watch import ConfigWatch
from dapr_nb.widgets.stream_model import StreamCounts
from dapr_nb.widgets.topic_stream import TopicStream

if TYPE_CHECKING:
    from magics_support import Cells

pytest_plugins = ["magics_support"]

WAIT = 10.0


def until(predicate: Callable[[], bool], flush: Callable[[], None], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
        flush()
    return predicate()


def test_publish_line_cell_bulk_and_subscribe(dapr: Cells, unique: Callable[[str], str]) -> None:
    topic = unique("orders")
    view = dapr.run(f"view = %dapr subscribe pubsub {topic} --max 5\nview")
    assert isinstance(view, TopicStream) and view.active and view.state == "connected"
    dapr.run(f"%dapr publish pubsub {topic} '{{\"n\": 1}}' --meta ttlInSeconds=60")
    dapr.run(f"%dapr publish pubsub {topic} plain-text --content-type text/plain")
    result = dapr.run(f'%%dapr publish pubsub {topic} --bulk -o bulk\n[{{"n": 2}}, {{"n": 3}}]')
    assert isinstance(result, BulkPublishResult) and result.published == 2 and dapr.ns["bulk"] is result
    dapr.run(f"%%dapr publish pubsub {topic}\nn: 4\n")
    assert view.wait(5, WAIT), view
    assert view.counts == StreamCounts(received=5, acked=5) and view.received == view.acked == 5
    frame = view.to_frame()
    assert frame.shape[0] == 5 and set(frame["outcome"]) == {"success"}
    assert sorted(d["n"] for d in frame["data"] if isinstance(d, dict)) == [1, 2, 3, 4]
    assert "plain-text" in frame["data"].tolist()
    assert until(lambda: view.state == "done", view.flush) and not view.active  # --max 5 reached: closed
    assert "received=5" in repr(view) and "<table" in view._repr_mimebundle_()["text/html"]


def test_publish_a_dataframe_and_close_a_view(dapr: Cells, unique: Callable[[str], str]) -> None:
    topic = unique("frames")
    view = dapr.run(f"%dapr subscribe pubsub {topic}")
    dapr.ns["rows"] = pd.DataFrame({"sku": ["a", "b", "c"], "qty": [1, 2, 3]})
    result = dapr.run(f"%dapr publish pubsub {topic} :rows")
    assert result.published == 3
    assert view.wait(3, WAIT)
    rows = view.to_frame()["data"].tolist()  # one event per row; daprd publishes bulk entries concurrently
    assert sorted((d["sku"], d["qty"]) for d in rows) == [("a", 1), ("b", 2), ("c", 3)]
    view.close()
    assert not view.active and "closed" in repr(view)


def test_subscribe_dead_letter_and_refusals(dapr: Cells, unique: Callable[[str], str]) -> None:
    topic, dead = unique("bad"), unique("bad-dlq")
    view = dapr.run(f"%dapr subscribe pubsub {topic} --dead-letter {dead}")
    view.policy = "drop"
    letters = dapr.run(f"%dapr subscribe pubsub {dead} --max 1")
    dapr.run(f"%dapr publish pubsub {topic} 1")
    assert view.wait(1, WAIT) and view.counts.dropped == 1
    assert letters.wait(1, WAIT) and letters.to_frame()["data"].tolist() == [1]
    assert "nope" in dapr.fail("%dapr subscribe nope t")  # the sidecar's refusal fails the cell, in one line


@pytest.mark.parametrize("cell", ["%dapr subscribe nope t", "%dapr config watch nope k"])
def test_failed_live_views_leave_no_thread(dapr: Cells, cell: str) -> None:
    assert "nope" in dapr.fail(cell)  # warm-up: grpc's own threads
    before = set(threading.enumerate())
    for _ in range(200):
        assert "nope" in dapr.fail(cell)
    wait_threads_end(before, f"200 failed `{cell}`")


def test_publish_and_subscribe_errors(dapr: Cells) -> None:
    assert "nope" in dapr.fail("%dapr publish nope t 1")
    assert "JSON array" in dapr.fail('%%dapr publish pubsub t --bulk\n{"a": 1}')
    assert "key=value" in dapr.fail("%dapr publish pubsub t 1 --meta novalue")
    assert "--max" in dapr.fail("%dapr subscribe pubsub t --max 0")
    assert "required" in dapr.fail("%dapr publish pubsub")


def test_invoke_reaches_the_sidecar_http_api(dapr: Cells) -> None:
    # Neither sidecar has an app channel, so invocation is answered with daprd's JSON error, shown in one line.
    message = dapr.fail("%dapr invoke some-app orders/1 --verb GET --header x-trace=1")
    assert "invoke some-app/orders/1" in message and "ERR_DIRECT_INVOKE" in message
    assert "couldn't find service: some-app" in message
    assert "--header" in dapr.fail("%dapr invoke some-app m --header bad")


def test_binding(dapr: Cells, unique: Callable[[str], str]) -> None:
    name = unique("file") + ".json"
    dapr.ns["doc"] = {"hello": "world"}
    dapr.run(f"%dapr binding localfiles create :doc --meta fileName={name}")
    got = dapr.run(f"%dapr binding localfiles get --meta fileName={name}")
    assert isinstance(got, BindingResult) and got.data == {"hello": "world"}
    dapr.run(f"%dapr binding localfiles delete --meta fileName={name}")
    assert "nope" in dapr.fail("%dapr binding nope create x")


def test_secrets_are_masked_unless_revealed(dapr: Cells, capsys: object) -> None:
    secret = "sandbox-demo-password"
    masked = dapr.run("%dapr secret get secretstore db-password")
    assert isinstance(masked, Secrets) and masked["db-password"] == {"db-password": secret}
    for text in (repr(masked), masked._repr_html_(), masked.to_frame().to_string(), str(masked)):
        assert secret not in text and MASK in text
    listed = dapr.run("%dapr secret list secretstore")
    assert secret not in repr(listed) and secret not in listed._repr_html_() and len(listed) >= 2
    out = capsys.readouterr()  # type: ignore[attr-defined]
    assert secret not in out.out and secret not in out.err
    revealed = dapr.run("%dapr secret get secretstore db-password --reveal")
    assert secret in repr(revealed) and secret in revealed.to_frame()["value"].tolist()
    dapr.run("%config Dapr.reveal = True")
    assert secret in repr(dapr.run("%dapr secret list secretstore"))
    assert "nope" in dapr.fail("%dapr secret get secretstore nope")


def test_config_get_and_watch(dapr: Cells, sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    color, size = unique("color"), unique("size")
    set_config(sidecar, {color: "red", size: "L"})
    df = dapr.run(f"%dapr config get configstore {color} {size}")
    assert df.shape == (2, 4) and dict(zip(df["key"], df["value"], strict=True)) == {color: "red", size: "L"}
    view = dapr.run(f"%dapr config watch configstore {color}")
    assert isinstance(view, ConfigWatch) and view.active and view.to_frame().loc[0, "value"] == "red"
    set_config(sidecar, {color: "blue"})
    assert view.wait(1, WAIT), view
    assert view.to_frame().loc[0, "value"] == "blue" and view.changes == 1
    history = view.history
    assert list(history.columns) == ["time", "key", "old", "new", "version"]
    assert history[["key", "old", "new"]].values.tolist() == [[color, "red", "blue"]]
    view.close()
    assert not view.active
    assert "nope" in dapr.fail("%dapr config get nope k")
    assert "nope" in dapr.fail("%dapr config watch nope k")


def test_widgets_use_the_connection_of_the_magics(
    cells: Cells,
    sandbox: Sandbox,
    make_sandbox: Callable[..., Sandbox],
    monkeypatch: pytest.MonkeyPatch,
    unique: Callable[[str], str],
) -> None:
    sb = make_sandbox(api_token="widget-token")
    monkeypatch.setenv("DAPR_GRPC_ENDPOINT", "127.0.0.1:1")  # the environment points nowhere
    monkeypatch.setenv("DAPR_API_TOKEN", "wrong-token")
    monkeypatch.setenv("MY_WIDGET_TOKEN", "widget-token")
    cells.run(f"%dapr connect {sb.grpc_endpoint} --http {sb.http_endpoint} --token-env MY_WIDGET_TOKEN")
    topic = unique("conn")
    view = cells.run(f"%dapr subscribe pubsub {topic}")
    assert view.client.settings.api_token == "widget-token" and view.client is not cells.magics.session._client
    cells.run(f"%dapr publish pubsub {topic} 7")
    assert view.wait(1, WAIT) and view.counts.acked == 1
    cells.run(f"%dapr connect {sandbox.grpc_endpoint}")  # the cached client is closed; the widget keeps its own
    view.client.publish("pubsub", topic, 8)
    assert view.wait(2, WAIT) and view.active and view.state == "connected"
    view.close()


def test_lock(dapr: Cells, unique: Callable[[str], str]) -> None:
    resource = unique("res")
    first = dapr.run(f"%dapr lock acquire lockstore {resource} --expiry 30")
    assert isinstance(first, LockResult) and first.acquired
    other = dapr.run(f"%dapr lock acquire lockstore {resource} --owner someone-else")
    assert not other.acquired
    assert dapr.run(f"%dapr lock release lockstore {resource} --owner someone-else") == "lock_belongs_to_others"
    assert dapr.run(f"%dapr lock release lockstore {resource}") == "success"
    assert "nope" in dapr.fail(f"%dapr lock acquire nope {resource}")


def test_jobs(dapr: Cells, unique: Callable[[str], str]) -> None:
    name = unique("job")
    dapr.run(f"%dapr job schedule {name} --schedule '@every 1h' --data '{{\"n\": 1}}' --repeats 3")
    job = dapr.run(f"%dapr job get {name}")
    assert isinstance(job, Job) and job.data == {"n": 1} and job.repeats == 3 and job.schedule == "@every 1h"
    listed = dapr.run("%dapr job list")
    assert list(listed.columns) == ["name", "schedule", "repeats", "due_time", "ttl", "data"]
    assert name in listed["name"].tolist()
    dapr.run(f"%dapr job delete {name}")
    assert name not in dapr.run("%dapr job list")["name"].tolist()
    assert "one of the arguments" in dapr.fail(f"%dapr job schedule {name}")
    assert "not allowed" in dapr.fail(f"%dapr job schedule {name} --schedule '@every 1h' --due-time 1h")
    dapr.fail(f"%dapr job get {name}")


def test_metadata_and_status(dapr: Cells, sidecar: Sidecar) -> None:
    meta = dapr.run("%dapr metadata")
    assert isinstance(meta, Metadata) and meta.app_id == sidecar.app_id
    status = dapr.run("%dapr status")
    assert status.healthy and status.app_id == sidecar.app_id and status.runtime_version
    assert {"statestore", "pubsub", "secretstore"} <= set(status.components["name"])
    assert list(status.subscriptions.columns) == ["pubsub", "topic", "type", "dead_letter_topic"]
    assert "statestore" in repr(status) and "<table" in status._repr_html_()
