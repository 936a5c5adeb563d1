"""TopicStream: a live view of a streaming pub/sub subscription, with an ack policy.

Rule: the :class:`~dapr_nb.widgets.live.LiveWidget` worker owns the subscription (opened by ``open``,
re-opened after a sidecar restart) and hands each step to the :class:`StreamPump`, which applies the ack
policy and writes to the thread-safe :class:`StreamLog`; this widget only shows what the log holds,
refreshed by the Batcher on the kernel's event loop. One stream per (pubsub, topic, creating cell):
re-running the cell closes the old one. :meth:`TopicStream.wait` and :attr:`TopicStream.counts` read the
model, never the display, so they work from a notebook cell (the loop's own thread) and without any loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
from traitlets import Bool, Float, Int, List, Unicode, observe, validate

from . import registry, render
from .connection import Source
from .live import LiveWidget, SettingError, at_least
from .stream_model import StreamCounts, StreamLog
from .stream_pump import Policy, StreamPump, check_policy

_POLICIES = ("success", "retry", "drop")
_COUNTS = ("received", "acked", "retried", "dropped", "redelivered", "unacked")


class TopicStream(LiveWidget):
    """Live table of a topic's newest messages: counts, rate, pause/resume, clear, ack policy, ``to_frame()``.

    ``client`` is a Client (borrowed), Settings (the stream makes and closes its own client) or None
    (DAPR_* variables). With ``max_messages`` the stream takes that many deliveries and then closes.
    Nothing is read until :meth:`start` (``dapr_nb.stream()`` starts it).
    """

    OPEN_FAILED = "subscribe failed"
    LOST = "stream lost"

    pubsub = Unicode(help="the pub/sub component").tag(sync=True)
    topic = Unicode(help="the topic").tag(sync=True)
    received = Int(0, help="deliveries since the start (or clear); redeliveries count again").tag(sync=True)
    acked = Int(0, help="deliveries acked success").tag(sync=True)
    retried = Int(0, help="deliveries acked retry").tag(sync=True)
    dropped = Int(0, help="deliveries acked drop").tag(sync=True)
    redelivered = Int(0, help="deliveries of a message id seen before").tag(sync=True)
    unacked = Int(0, help="deliveries whose stream was gone before their ack").tag(sync=True)
    held = Int(0, help="received while paused, waiting unacked for resume").tag(sync=True)
    rate = Float(0.0, help="messages per second over the last 10 s").tag(sync=True)
    paused = Bool(False, help="hold new messages unacked until resumed").tag(sync=True)
    policy = Unicode("success", help="ack policy: success, retry, drop, or handler (when one was given)").tag(sync=True)
    rows: List[dict[str, Any]] = List(help="the newest rows, newest first").tag(sync=True)
    max_messages = Int(None, allow_none=True, read_only=True, help="take this many deliveries, then close")
    max_rows = Int(20, read_only=True, help="rows shown")
    max_records = Int(10_000, read_only=True, help="deliveries kept for to_frame()")

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
    ) -> None:
        self._header, self._table, self._errors_view = w.HTML(), w.HTML(), w.HTML()
        self._pause = w.ToggleButton(description="pause", icon="pause", layout=w.Layout(width="90px"))
        self._clear = w.Button(description="clear", layout=w.Layout(width="70px"))
        self._policy = w.Dropdown(description="ack", layout=w.Layout(width="160px"))
        self._stop = w.Button(description="close", layout=w.Layout(width="70px"))
        controls = w.HBox([self._pause, self._clear, self._policy, self._stop])
        super().__init__(
            [self._header, controls, self._table, self._errors_view], client=client, interval=interval,
            key=key if key is not None else ("stream", pubsub, topic, registry.cell_id()), pubsub=pubsub, topic=topic,
        )  # fmt: skip
        for name, value in (("max_messages", max_messages), ("max_rows", max_rows), ("max_records", max_records)):
            self.set_trait(name, value)
        self._handler: Callable[[Any], Any] | None = ack if callable(ack) else None
        self._policy.options = [*_POLICIES, "handler"] if self._handler else list(_POLICIES)
        self.messages = StreamLog(max_rows=max_rows, max_records=max_records)
        self._pump = StreamPump(
            self.messages, policy=check_policy(ack), limit=max_messages, on_change=self._batcher.request,
            idle=self._stopping.wait,
        )  # fmt: skip
        self.policy = "handler" if self._handler else str(ack)
        self._metadata, self._dead_letter = dict(metadata or {}) or None, dead_letter_topic
        w.link((self, "policy"), (self._policy, "value"))
        w.link((self, "paused"), (self._pause, "value"))
        self._clear.on_click(lambda _: self.clear())
        self._stop.on_click(lambda _: self.stop())
        self._render()

    @validate("max_messages", "max_rows", "max_records")
    def _check_size(self, proposal: Any) -> Any:
        return at_least(proposal, 1)

    @validate("policy")
    def _check_policy(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value in _POLICIES or (value == "handler" and self._handler is not None):
            return value
        raise SettingError(f"ack policy must be one of {', '.join(self._policy.options)}, not {value!r}")

    # -- the worker's side ------------------------------------------------------------------------------------

    def connect(self) -> Any:
        """Open the subscription (worker thread)."""
        return self.client.subscribe(
            self.pubsub, self.topic, metadata=self._metadata, dead_letter_topic=self._dead_letter
        )

    def fetch(self, handle: Any) -> bool:
        """Take one delivery step (worker thread)."""
        return self._pump.step(handle)

    def finished(self) -> bool:
        """Return whether ``max_messages`` were taken and handed to the policy."""
        return self._pump.done

    def wake(self) -> None:
        """Wake :meth:`wait` callers."""
        self.messages.notify()

    def note_error(self, text: str) -> None:
        """Keep an error line in the stream's log (shown with the handler errors)."""
        self.messages.note_error(text)
        self._batcher.request()

    def error_lines(self) -> list[str]:
        """Return the stream's error lines: connection errors and handler failures, oldest first."""
        return self.messages.snapshot()[2]

    # -- the notebook's side ----------------------------------------------------------------------------------

    def wait(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait (≤ ``timeout`` s) until ``count`` deliveries arrived and the ack policy handled them; return whether.

        Counts are totals since the start (or :meth:`clear`); redeliveries count again. While paused, arriving
        is enough (held messages get no outcome until :meth:`resume`). Returns early, False, if the stream
        ends first. It waits on the model the worker updates — never on a display refresh — so it is
        safe to call from a notebook cell; the synced traits are refreshed before it returns.
        """
        pump = self._pump

        def reached(counts: dict[str, int]) -> bool:
            return counts["received"] >= count and (counts["settled"] >= count or pump.paused)

        self.messages.wait_for(lambda counts: reached(counts) or not self.active, timeout)
        ok = reached(self.messages.snapshot()[0])
        self.flush()
        return ok

    @property
    def counts(self) -> StreamCounts:
        """Return the current counts, straight from the model (no display refresh needed)."""
        counts = self.messages.snapshot()[0]
        names = (*_COUNTS, "failed")
        return StreamCounts(**{name: counts.get(name, 0) for name in names}, held=self._pump.held)

    @observe("policy")
    def _on_policy(self, change: dict[str, Any]) -> None:
        self._pump.policy = self._handler if change["new"] == "handler" and self._handler else change["new"]
        self._render()

    @observe("paused")
    def _on_paused(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._pump.pause()
        else:
            self._pump.resume()
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
        self.flush()

    def apply(self) -> None:
        """Copy the log's counts and rows into the traits and redraw (kernel loop)."""
        counts, rows, _ = self.messages.snapshot()
        for name in _COUNTS:
            setattr(self, name, counts.get(name, 0))
        self.held, self.rate, self.rows = self._pump.held, self.messages.rate(), rows
        self._render()

    def _render(self) -> None:
        counts = {name: int(getattr(self, name)) for name in (*_COUNTS, "held")}
        self._header.value = render.stream_header(
            self.pubsub, self.topic, self.state, counts, self.rate, paused=self.paused, policy=self.policy
        )
        self._table.value = render.table(render.STREAM_COLUMNS, self.rows)
        self._errors_view.value = render.errors_html(self.errors)

    def snapshot_html(self) -> str:
        """Return the current picture as HTML (also the ``text/html`` of the mime bundle)."""
        self.flush()
        return f"<div>{self._header.value}{self._table.value}{self._errors_view.value}</div>"

    def to_frame(self) -> Any:
        """Return what was received (≤ ``max_records``, oldest first) as a pandas DataFrame."""
        return self.messages.frame()

    def __repr__(self) -> str:
        return f"TopicStream({self.pubsub}/{self.topic}, {self.state}, received={self.received})"
