"""Poller: a LiveWidget that polls — one ``poll_once`` every ``poll`` seconds on the worker, or by hand.

Rule: a poller has nothing to open; its first poll is its connection (a failed poll is retried with the
base's back-off and shown in ``state`` / ``error``). :meth:`Poller.refresh` polls on the calling thread
(the worker and the caller never poll at the same time) and redraws at once; every worker poll asks the
Batcher for a redraw even when nothing changed, so times and playheads move.
"""

from __future__ import annotations

import threading
from typing import Any

from traitlets import Float, validate

from .live import LiveWidget, at_least


class Poller(LiveWidget):
    """Base of the polling views (timeline, board): supply ``poll_once``, ``apply`` and ``snapshot_html``."""

    OPEN_FAILED = LOST = "poll failed"

    poll = Float(1.0, help="seconds between polls")

    def __init__(self, children: list[Any], **kwargs: Any) -> None:
        super().__init__(children, **kwargs)
        self._polling = threading.Lock()

    def poll_once(self) -> bool:  # pragma: no cover - every poller overrides it
        """Read from Dapr once (blocking); return whether the picture changed."""
        raise NotImplementedError

    @validate("poll")
    def _check_poll(self, proposal: Any) -> Any:
        return at_least(proposal, 0.01)

    @property
    def pace(self) -> float:
        """Return ``poll``: the worker waits that long between polls."""
        return float(self.poll)

    def ready(self, handle: Any) -> None:
        """Poll for the first time (worker thread)."""
        self._locked_poll()

    def fetch(self, handle: Any) -> bool:
        """Poll, and ask for a redraw (worker thread)."""
        self._locked_poll()
        self._batcher.request()
        return True

    def refresh(self) -> bool:
        """Poll once on the calling thread and redraw; return whether it changed (errors land in ``errors``)."""
        try:
            changed = self._locked_poll()
        except Exception as exc:  # the sidecar is down: keep the last picture, show why
            self.note_error(f"{self.OPEN_FAILED}: {exc}")
            changed = False
        self.flush()
        return changed

    def _locked_poll(self) -> bool:
        with self._polling:
            return self.poll_once()
