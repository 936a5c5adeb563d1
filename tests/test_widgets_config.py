"""ConfigWatch against the sandbox's configuration store: current values, changes, deletes, snapshot."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dapr_nb.client import Client
from dapr_nb.core.results import ConfigItem
from dapr_nb.sandbox import Sandbox
from dapr_nb.widgets.config_watch import ConfigModel, ConfigWatch


def set_items(sb: Sandbox, items: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{sb.http_endpoint}/v1.0-sandbox/configuration/configstore",
        data=json.dumps({"items": items}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status < 300


def eventually(watch: ConfigWatch, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        watch.flush()
        if predicate():
            return
        assert time.monotonic() < deadline, f"timed out: {watch.values} {watch.history} {watch.errors}"
        time.sleep(0.05)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with Client(sandbox.grpc_endpoint) as c:
        yield c


def test_values_update_and_history(sandbox: Sandbox, client: Client, unique: Any) -> None:
    a, b = unique("color"), unique("size")
    set_items(sandbox, {a: "red"})
    watch = ConfigWatch("configstore", [a, b], client=client)
    try:
        assert watch.wait_connected(10) and watch.state == "connected"
        assert watch.values == [{"key": a, "value": "red", "version": "1"}] and watch.history == []
        set_items(sandbox, {a: "blue", b: "<xl>"})
        eventually(watch, lambda: watch.changes == 2)
        assert {v["key"]: v["value"] for v in watch.values} == {a: "blue", b: "<xl>"}
        assert {(h["key"], h["old"], h["new"]) for h in watch.history} == {(a, "red", "blue"), (b, "", "<xl>")}
        set_items(sandbox, {b: None})
        eventually(watch, lambda: watch.changes == 3)
        assert [v["key"] for v in watch.values] == [a]
        bundle = watch._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert "&lt;xl&gt;" in bundle["text/html"] and "<xl>" not in bundle["text/html"]
    finally:
        watch.close()
    assert not watch._thread.is_alive()


def test_model_ignores_repeats() -> None:
    model = ConfigModel(max_history=2)
    model.load([ConfigItem("k", "v", "1")])
    assert model.apply([ConfigItem("k", "v", "1")]) == 0
    assert model.apply([ConfigItem("k", "w", "2"), ConfigItem("j", "x", "1"), ConfigItem("k", "", "3")]) == 3
    values, history, changes = model.snapshot()
    assert values == [{"key": "j", "value": "x", "version": "1"}] and changes == 3 and len(history) == 2
