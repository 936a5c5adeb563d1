"""TopicStream: a live view of a streaming pub/sub subscription, with an ack policy.

Rule: the reader thread (:class:`StreamWorker`) owns the subscription and the acks; this widget only
shows what the thread-safe :class:`StreamLog` holds, refreshed by a :class:`Batcher` on the kernel's
event loop inside ``hold_sync``. One stream per (pubsub, topic, creating cell): re-running the cell
closes the old one. :meth:`TopicStream.wait` and :attr:`TopicStream.counts` read the model, never the
display, so they work from a notebook cell (the loop's own thread) and without any loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Bool, Float, Int, List, Unicode, observe

from . import registry, render
from .batch import Batcher
from .connection import Source, open_client
from .snapshot import Snapshot
from .stream_model import StreamCounts, StreamLog
from .stream_worker import Policy, StreamWorker, check_policy

_POLICIES = ("success", "retry", "drop")


class TopicStream(Snapshot, w.VBox):  # type: ignore[misc]
    """Live table of a topic's newest messages: counts, rate, pause/resume, clear, ack policy, ``to_frame()``.

    ``client`` is a Client (borrowed), Settings (the stream makes and closes its own client) or None
    (DAPR_* variables). With ``max_messages`` the stream takes that many deliveries and then closes.
    """

    pubsub = Unicode().tag(sync=True)
    topic = Unicode().tag(sync=True)
    state = Unicode("connecting").tag(sync=True)
    received = Int(0).tag(sync=True)
    acked = Int(0).tag(sync=True)
    retried = Int(0).tag(sync=True)
    dropped = Int(0).tag(sync=True)
    redelivered = Int(0).tag(sync=True)
    unacked = Int(0).tag(sync=True)
    held = Int(0).tag(sync=True)
    reconnects = Int(0).tag(sync=True)
    rate = Float(0.0).tag(sync=True)
    paused = Bool(False).tag(sync=True)
    policy = Unicode("success").tag(sync=True)
    rows: List[dict[str, Any]] = List().tag(sync=True)
    errors: List[str] = List().tag(sync=True)

    def __init__(
        self,
        pubsub: str,
        topic: str,
        *,
        client: Source = None,
        ack: Policy = "success",
        dead_letter_topic: str | None = None,
        metadata: Mapping[str, str] | None = None,
        max_messages: int | None = None,
        max_rows: int = 20,
        max_records: int = 10_000,
        interval: float = 0.15,
        key: Any = None,
        start: bool = True,
    ) -> None:
        self._header = w.HTML()
        self._table = w.HTML()
        self._errors = w.HTML()
        self._pause = w.ToggleButton(description="pause", icon="pause", layout=w.Layout(width="90px"))
        self._clear = w.Button(description="clear", layout=w.Layout(width="70px"))
        self._policy = w.Dropdown(description="ack", layout=w.Layout(width="160px"))
        self._stop = w.Button(description="close", layout=w.Layout(width="70px"))
        controls = w.HBox([self._pause, self._clear, self._policy, self._stop])
        super().__init__([self._header, controls, self._table, self._errors], pubsub=pubsub, topic=topic)
        check_policy(ack)
        if max_messages is not None and max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages}")
        self._handler: Callable[[Any], Any] | None = ack if callable(ack) else None
        self._policy.options = [*_POLICIES, "handler"] if self._handler else list(_POLICIES)
        self.policy = "handler" if self._handler else str(ack)
        w.link((self, "policy"), (self._policy, "value"))
        w.link((self, "paused"), (self._pause, "value"))
        self._clear.on_click(lambda _: self.clear())
        self._stop.on_click(lambda _: self.stop())
        self.client, self._owns_client = open_client(client)
        self.messages = StreamLog(max_rows=max_rows, max_records=max_records)
        self._batcher = Batcher(self._apply, interval=interval, on_error=self._report)
        self._worker = StreamWorker(
            self.client, pubsub, topic, self.messages, policy=self._current_policy(),
            dead_letter_topic=dead_letter_topic, metadata=metadata, limit=max_messages, on_change=self._batcher.request,
        )  # fmt: skip
        self._key = key if key is not None else ("stream", pubsub, topic, registry.cell_id())
        self._stopped = False
        self._render()
        if start:
            self.start()

    def start(self) -> TopicStream:
        """Start reading (done by the constructor unless ``start=False``); closes this cell's previous stream."""
        registry.register(self._key, self)
        if not self._worker.alive:
            self._worker.start()
        return self

    def wait_connected(self, timeout: float = 10.0, *, retry: bool = True) -> bool:
        """Wait (≤ ``timeout`` s) until the subscription is open; return whether it is.

        With ``retry=False`` it returns after the first attempt: False at once when the sidecar refuses
        (the reason is the last of ``errors``); the stream itself keeps retrying until stopped.
        """
        ok = self._worker.wait_connected(timeout, retry=retry)
        self.flush()
        return ok

    def wait(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait (≤ ``timeout`` s) until ``count`` deliveries arrived and the ack policy handled them; return whether.

        Counts are totals since the start (or :meth:`clear`); redeliveries count again. While paused, arriving
        is enough (held messages get no outcome until :meth:`resume`). Returns early, False, if the stream
        ends first. It waits on the model the reader thread updates — never on a display refresh — so it is
        safe to call from a notebook cell; the synced traits are refreshed before it returns.
        """
        worker = self._worker

        def reached(counts: dict[str, int]) -> bool:
            return counts["received"] >= count and (counts["settled"] >= count or worker.paused)

        self.messages.wait_for(lambda counts: reached(counts) or not worker.alive, timeout)
        ok = reached(self.messages.snapshot()[0])
        self.flush()
        return ok

    @property
    def counts(self) -> StreamCounts:
        """Return the current counts, straight from the model (no display refresh needed)."""
        counts = self.messages.snapshot()[0]
        names = ("received", "acked", "retried", "dropped", "redelivered", "unacked", "failed")
        return StreamCounts(**{name: counts.get(name, 0) for name in names}, held=self._worker.held)

    @property
    def active(self) -> bool:
        """Return whether the stream is reading (False once stopped, closed or done after ``max_messages``)."""
        return self._worker.alive and not self._stopped

    def _current_policy(self) -> Policy:
        if self.policy == "handler" and self._handler is not None:
            return self._handler
        return self.policy

    @observe("policy")
    def _on_policy(self, change: dict[str, Any]) -> None:
        if change["new"] == "handler" and self._handler is None:
            self.policy = change["old"]
            return
        if hasattr(self, "_worker"):
            self._worker.policy = self._current_policy()
            self._render()

    @observe("paused")
    def _on_paused(self, change: dict[str, Any]) -> None:
        if not hasattr(self, "_worker"):
            return
        if change["new"]:
            self._worker.pause()
        else:
            self._worker.resume()
        self._render()

    def pause(self) -> None:
        """Hold new messages unacked (shown as pending) until :meth:`resume`."""
        self.paused = True

    def resume(self) -> None:
        """Hand held messages to the ack policy and continue."""
        self.paused = False

    def clear(self) -> None:
        """Forget the rows, counts and records shown so far."""
        self.messages.clear()
        self._batcher.request()
        self.flush()

    def flush(self) -> None:
        """Apply pending updates now (call it from the kernel thread; tests use it instead of the loop)."""
        self._batcher.request()
        self._batcher.flush()

    def _apply(self) -> None:
        counts, rows, errors = self.messages.snapshot()
        with self.hold_sync():
            for name in ("received", "acked", "retried", "dropped", "redelivered", "unacked"):
                setattr(self, name, counts.get(name, 0))
            self.state, self.reconnects, self.held = self._worker.state, self._worker.reconnects, self._worker.held
            self.rate = self.messages.rate()
            self.rows, self.errors = rows, errors
            self._render()
        if self._worker.state == "done" and not self._stopped:
            self.stop()  # max_messages reached: join the reader, release the client, leave the final picture

    def _report(self, exc: BaseException) -> None:
        self.messages.note_error(f"display update failed: {exc}")

    def _counts(self) -> dict[str, int]:
        names = ("received", "acked", "retried", "dropped", "redelivered", "unacked", "held")
        return {name: int(getattr(self, name)) for name in names}

    def _render(self) -> None:
        self._header.value = render.stream_header(
            self.pubsub, self.topic, self.state, self._counts(), self.rate, paused=self.paused, policy=self.policy
        )
        self._table.value = render.table(render.STREAM_COLUMNS, self.rows)
        self._errors.value = render.errors_html(self.errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML (also the ``text/html`` of the mime bundle)."""
        self.flush()
        return f"<div>{self._header.value}{self._table.value}{self._errors.value}</div>"

    def to_frame(self) -> Any:
        """Return what was received (≤ ``max_records``, oldest first) as a pandas DataFrame."""
        return self.messages.frame()

    def stop(self) -> None:
        """Close the subscription and its thread; the view keeps its last picture."""
        if getattr(self, "_stopped", True):
            return
        self._worker.stop()
        self._finish()

    def _finish(self) -> None:
        self._stopped = True
        registry.unregister(self._key, self)
        if self._owns_client:
            self.client.close()
        self.flush()
        self._batcher.close()
        self.publish_final()

    def close(self) -> None:
        """Stop the stream and close the widget (its views disappear)."""
        self._view_closing = True
        self.stop()
        super().close()

    def __repr__(self) -> str:
        return f"TopicStream({self.pubsub}/{self.topic}, {self.state}, received={self.received})"
