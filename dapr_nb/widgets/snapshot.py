"""Static snapshots: every live widget's mime bundle also carries HTML/SVG of its current picture.

Rule: ``_repr_mimebundle_`` = the widget view + ``text/html`` from ``snapshot_html()``, so a notebook
saved after execution shows a picture without a kernel. Widgets are displayed under a display id, and
when a widget stops (stream closed, workflow finished) the output is updated once with the final
picture — not on every change, which would re-render the live view.
"""

from __future__ import annotations

import uuid
from typing import Any


class Snapshot:
    """Mixin for ipywidgets classes that define ``snapshot_html()``."""

    _display_id: str | None = None
    _view_closing = False  # set by close(): the final output keeps only the static HTML

    def snapshot_html(self) -> str:  # pragma: no cover - every widget overrides it
        """Return the current picture as HTML."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/html"] = self.snapshot_html()
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._display_id = uuid.uuid4().hex
        display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]

    def publish_final(self) -> None:
        """Replace the displayed output's static HTML with the final picture (once, when the widget stops)."""
        if self._display_id is None:
            return
        from IPython.display import update_display

        bundle = self._repr_mimebundle_()
        if self._view_closing:
            bundle = {k: v for k, v in bundle.items() if k != "application/vnd.jupyter.widget-view+json"}
        try:
            update_display(bundle, raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]
        except Exception:  # no kernel anymore (atexit): the saved picture is the last one shown
            pass
