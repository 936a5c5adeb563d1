"""The Batcher (sync flush and event-loop paths), the live-widget registry, and the cell-level helpers."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sidecars import Sidecar

import dapr_nb
from dapr_nb.widgets import registry
from dapr_nb.widgets.batch import Batcher


def test_flush_applies_pending_updates_synchronously() -> None:
    applied: list[int] = []
    batcher = Batcher(lambda: applied.append(1), loop=None)
    assert batcher.loop is None
    threads = [threading.Thread(target=batcher.request) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert applied == [] and batcher.pending
    batcher.flush()
    batcher.flush()
    assert applied == [1] and not batcher.pending
    batcher.close()
    batcher.request()
    batcher.flush()
    assert applied == [1]


def test_updates_from_threads_are_batched_onto_the_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        calls: list[int] = []
        batcher = Batcher(lambda: calls.append(threading.get_ident()), loop=loop, interval=0.1)

        def burst() -> None:
            for _ in range(50):
                batcher.request()

        async def scenario() -> None:
            worker = threading.Thread(target=burst)
            worker.start()
            worker.join()
            for _ in range(100):  # bounded: at most ~5 s
                if calls and not batcher.pending:
                    return
                await asyncio.sleep(0.05)

        loop.run_until_complete(scenario())
        assert 1 <= len(calls) <= 3  # coalesced, not 50
        assert set(calls) == {threading.get_ident()}  # applied on the loop's thread
    finally:
        loop.close()


def test_apply_errors_are_reported_not_raised() -> None:
    seen: list[BaseException] = []

    def broken() -> None:
        raise ValueError("bad render")

    batcher = Batcher(broken, loop=None, on_error=seen.append)
    batcher.request()
    batcher.flush()
    assert [str(e) for e in seen] == ["bad render"]


class Fake:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_registry_closes_the_previous_holder_and_everything_at_exit() -> None:
    first, second, other = Fake(), Fake(), Fake()
    registry.register(("k", 1), first)
    registry.register(("k", 1), second)
    registry.register(("k", 2), other)
    assert (first.closed, second.closed) == (1, 0)
    registry.unregister(("k", 1), first)  # no longer the holder: nothing happens
    assert registry.live()[("k", 1)] is second
    registry.close_all()
    assert (second.closed, other.closed) == (1, 1) and ("k", 1) not in registry.live()
    assert registry.cell_id() is None  # no kernel in tests


def test_cell_helpers_make_live_widgets(sidecar_env: Sidecar, unique: Any) -> None:
    topic = unique("helper")
    stream = dapr_nb.stream("pubsub", topic)
    try:
        assert stream.wait_connected(10)
        stream.client.publish("pubsub", topic, "hello")
        deadline = time.monotonic() + 10
        while stream.acked < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            stream.flush()
        assert stream.acked == 1
        again = dapr_nb.stream("pubsub", topic)  # the same cell runs again (no cell id: keyed by topic)
        assert stream.state == "closed"
        again.close()
    finally:
        stream.close()
    view = dapr_nb.timeline("never-started")
    assert view.errors and not view.live
    view.close()


def test_the_saved_output_ends_with_the_final_picture(sidecar_env: Sidecar, unique: Any) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    with capture_output() as captured:
        stream = dapr_nb.stream("pubsub", unique("shown"))
        assert stream.wait_connected(10)
        stream._ipython_display_()
        stream.close()
    first, last = captured.outputs[0].data, captured.outputs[-1].data
    assert "application/vnd.jupyter.widget-view+json" in first and "connected" in first["text/html"]
    assert len(captured.outputs) == 2 and "closed" in last["text/html"]
    assert "application/vnd.jupyter.widget-view+json" not in last  # the view is gone: keep the picture
