"""ConfigWatch on both sidecars' configuration store (``configstore``): current values, changes, deletes, snapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _waiting import wait_until
from clienthelp import client_for
from sidecars import Sidecar, set_config
from widget_support import dapr_threads

from dapr_nb import watch_config
from dapr_nb.client import Client
from dapr_nb.core.results import ConfigItem
from dapr_nb.errors import DaprError
from dapr_nb.sandbox.components.configuration_sandbox import SandboxConfigurationStore
from dapr_nb.sandbox.server import SandboxConfig, SandboxServer
from dapr_nb.widgets.config_watch import ConfigModel, ConfigWatch


def settled(watch: ConfigWatch, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        watch.flush()
        if predicate():
            return
        assert time.monotonic() < deadline, f"timed out: {watch.values} {watch.recent} {watch.errors}"
        time.sleep(0.05)


@pytest.fixture
def client(sidecar: Sidecar) -> Iterator[Client]:
    with client_for(sidecar) as c:
        yield c


def test_values_update_and_history(sidecar: Sidecar, client: Client, unique: Any) -> None:
    a, b = unique("color"), unique("size")
    set_config(sidecar, {a: "red"})
    watch = ConfigWatch("configstore", [a, b], client=client).start()
    try:
        assert watch.wait_connected(10) and watch.state == "connected"
        assert [(v["key"], v["value"]) for v in watch.values] == [(a, "red")] and watch.recent == []
        assert watch.history.empty and watch.active
        set_config(sidecar, {a: "blue", b: "<xl>"})
        settled(watch, lambda: watch.changes == 2)
        assert {v["key"]: v["value"] for v in watch.values} == {a: "blue", b: "<xl>"}
        assert {(h["key"], h["old"], h["new"]) for h in watch.recent} == {(a, "red", "blue"), (b, "", "<xl>")}
        set_config(sidecar, {b: None})
        settled(watch, lambda: watch.changes == 3)
        assert [v["key"] for v in watch.values] == [a]
        bundle = watch._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert "&lt;xl&gt;" in bundle["text/html"] and "<xl>" not in bundle["text/html"]
    finally:
        watch.close()
    assert not watch._thread.is_alive() and not watch.active


def test_wait_history_and_to_frame_read_the_model(sidecar: Sidecar, client: Client, unique: Any) -> None:
    key = unique("mode")
    set_config(sidecar, {key: "a"})
    watch = watch_config("configstore", [key], client=client)
    try:
        assert watch.wait_connected(10)
        assert not watch.wait(1, timeout=0.2)  # nothing changed yet
        for changes, value in enumerate(("b", "c"), 1):  # one at a time: daprd's Redis store reads on notification
            set_config(sidecar, {key: value})
            assert watch.wait(changes, timeout=10)
        assert watch.changes == 2  # the traits are refreshed before wait returns
        history = watch.history
        assert list(history.columns) == ["time", "key", "old", "new", "version"]
        assert history[["old", "new"]].values.tolist() == [["a", "b"], ["b", "c"]]  # oldest first
        assert str(history["time"].dtype).startswith("datetime64")
        assert watch.to_frame()[["key", "value"]].to_dict("records") == [{"key": key, "value": "c"}]
    finally:
        watch.close()
    assert not watch.wait(3, timeout=5)  # a stopped watch returns at once


@pytest.mark.daprd_differs("config-version")
def test_versions_count_the_changes(sidecar: Sidecar, client: Client, unique: Any) -> None:
    key = unique("versioned")
    set_config(sidecar, {key: "a"})
    watch = watch_config("configstore", [key], client=client)
    try:
        assert watch.wait_connected(10) and watch.values == [{"key": key, "value": "a", "version": "1"}]
        set_config(sidecar, {key: "b"})
        assert watch.wait(1, timeout=10)
        assert watch.history["version"].tolist() == ["2"]
        assert watch.to_frame().to_dict("records") == [{"key": key, "value": "b", "version": "2"}]
    finally:
        watch.close()


def test_wait_from_the_event_loop_thread(sidecar: Sidecar, client: Client, unique: Any) -> None:
    """A notebook cell blocks the kernel's loop: wait() must not depend on the loop's redraws."""
    key = unique("loop")

    async def cell() -> tuple[bool, int, bool]:
        watch = ConfigWatch("configstore", [key], client=client).start()
        try:
            assert watch._batcher.loop is asyncio.get_running_loop()
            assert watch.wait_connected(10)
            set_config(sidecar, {key: "x"})
            ok = watch.wait(1, timeout=10)
            return ok, watch.changes, "x" in watch.snapshot_html()
        finally:
            watch.close()

    assert asyncio.run(asyncio.wait_for(cell(), 20)) == (True, 1, True)


def test_a_refused_watch_says_why(client: Client) -> None:
    watch = ConfigWatch("nope", ["k"], client=client).start()
    try:
        assert not watch.wait_connected(10, retry=False) and watch.state == "connecting"
        assert any("nope" in e for e in watch.errors)
    finally:
        watch.close()


def test_model_ignores_repeats() -> None:
    model = ConfigModel(max_history=2)
    model.load([ConfigItem("k", "v", "1")])
    assert model.apply([ConfigItem("k", "v", "1")]) == 0
    assert model.apply([ConfigItem("k", "w", "2"), ConfigItem("j", "x", "1"), ConfigItem("k", "", "3")]) == 3
    values, history, changes = model.snapshot()
    assert values == [{"key": "j", "value": "x", "version": "1"}] and changes == 3 and len(history) == 2


class RefusingReads:
    """A real Client whose first ``refusals`` get_configuration calls fail (the subscribe before them is real)."""

    def __init__(self, client: Client, refusals: int) -> None:
        self.client, self.refusals = client, refusals

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_configuration(self, *args: Any, **kwargs: Any) -> Any:
        if self.refusals > 0:
            self.refusals -= 1
            raise DaprError("configuration read refused (injected)")
        return self.client.get_configuration(*args, **kwargs)


def test_a_failed_first_read_leaves_no_watch_behind(tmp_path: Any, unique: Any) -> None:
    """Subscribe succeeds, the read after it fails: that subscription (server side and reader thread) must go."""
    with SandboxServer(SandboxConfig(grpc_port=0, http_port=0, data_dir=tmp_path)) as server:
        assert server.runtime is not None
        store = server.runtime.components("configuration")["configstore"]
        assert isinstance(store, SandboxConfigurationStore)
        key = unique("k")
        store.set_items({key: "v"})
        before = dapr_threads()
        with Client(f"127.0.0.1:{server.grpc_port}") as real:
            flaky = RefusingReads(real, refusals=3)
            watch = ConfigWatch("configstore", [key], client=flaky).start()
            try:
                assert watch.wait_connected(30) and flaky.refusals == 0
                refused = [e for e in watch.errors if e.startswith("subscribe failed: ") and "read refused" in e]
                assert refused, watch.errors
                assert len(store.subscription_ids()) == 1  # only the live one: the 3 refused attempts left none
                assert watch.to_frame()["value"].tolist() == ["v"]
                store.set_items({key: "w"})
                assert watch.wait(1, timeout=10)
            finally:
                watch.close()
            wait_until(lambda: not store.subscription_ids(), message="the server-side subscription to end")
            wait_until(lambda: dapr_threads() <= before, message=lambda: f"threads left: {dapr_threads() - before}")
