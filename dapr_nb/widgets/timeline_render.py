"""Pure SVG/HTML rendering of a :class:`~dapr_nb.widgets.timeline_model.Timeline`.

Rule: one function per picture part; every label and tooltip is escaped; tooltips are SVG ``<title>``
elements carrying inputs, outputs and errors so a static notebook keeps them.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from .render import STATUS_COLORS, esc, fmt_duration, fmt_time, status_badge
from .timeline_model import Span, Timeline

WIDTH = 860
LABEL = 190
ROW = 20
AXIS = 22
COLORS = {
    "completed": "#43a047",
    "failed": "#e53935",
    "running": "#1e88e5",
    "pending": "#90caf9",
    "fired": "#8e24aa",
    "no timeout": "#b0bec5",
    "event received": "#ce93d8",
    "canceled": "#9e9e9e",
    "suspended": "#fb8c00",
    "resumed": "#ffb74d",
    "aggregate": "#26a69a",
    "raised": "#6d4c41",
    "sent": "#00897b",
}
_TIP_LIMIT = 400


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= _TIP_LIMIT else text[: _TIP_LIMIT - 1] + "…"


def tooltip(span: Span, now: _dt.datetime | None = None) -> str:
    """Return the tooltip text of a span: name, status, attempt, duration, input, output, error, detail."""
    lines = [f"{span.kind} {span.name} — {span.status}" + (f" (attempt {span.attempt})" if span.attempt > 1 else "")]
    duration = span.duration(now)
    if duration is not None and not span.marker:
        lines.append(f"duration {fmt_duration(duration)}" + ("" if span.end else " (so far)"))
    for label, value in (("input", span.input), ("output", span.output)):
        if value is not None:
            lines.append(f"{label}: {_short(value)}")
    if span.error:
        lines.append(f"error: {span.error}")
    if span.detail:
        lines.append(span.detail)
    return "\n".join(lines)


class _Scale:
    def __init__(self, start: _dt.datetime, end: _dt.datetime) -> None:
        self.start = start
        self.seconds = max((end - start).total_seconds(), 1e-3)

    def x(self, at: _dt.datetime) -> float:
        offset = min(max((at - self.start).total_seconds(), 0.0), self.seconds)
        return LABEL + (WIDTH - LABEL - 10) * offset / self.seconds


def _bar(span: Span, y: float, scale: _Scale, now: _dt.datetime) -> str:
    color = COLORS.get(span.status, "#1e88e5")
    title = f"<title>{esc(tooltip(span, now))}</title>"
    if span.marker:
        x = scale.x(span.start)
        points = f"{x:.1f},{y + 2} {x + 5:.1f},{y + ROW / 2 - 1} {x:.1f},{y + ROW - 4} {x - 5:.1f},{y + ROW / 2 - 1}"
        return f'<polygon points="{points}" fill="{color}">{title}</polygon>'
    x0 = scale.x(span.start)
    x1 = max(scale.x(span.end or now), x0 + 2)
    dash = ' stroke="#555" stroke-dasharray="3,2"' if span.end is None else ""
    height = ROW - 8 if span.kind == "backoff" else ROW - 6
    top = y + (ROW - height) / 2 - 1
    text = f" ×{span.count}" if span.count > 1 else ""
    label = f'<text x="{x1 + 3:.1f}" y="{y + ROW - 7}" font-size="10">{esc(text)}</text>' if text else ""
    return (
        f'<rect x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" height="{height}" rx="2" fill="{color}"{dash}>'
        f"{title}</rect>{label}"
    )


def _axis(scale: _Scale, height: float) -> str:
    parts = []
    for i in range(5):
        seconds = scale.seconds * i / 4
        x = LABEL + (WIDTH - LABEL - 10) * i / 4
        parts.append(f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{height}" stroke="#eee"/>')
        tick = f"+{fmt_duration(seconds)}"
        parts.append(f'<text x="{x:.1f}" y="{AXIS - 8}" font-size="10" text-anchor="middle">{tick}</text>')
    return "".join(parts)


def timeline_svg(timeline: Timeline, now: _dt.datetime | None = None, *, playhead: bool = False) -> str:
    """Return the rows of a timeline as an SVG (a 'now' playhead when ``playhead``)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    start = timeline.start or now
    end = timeline.end or now
    scale = _Scale(start, end)
    height = AXIS + ROW * max(len(timeline.rows), 1) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif">',
        _axis(scale, height),
    ]
    for index, row in enumerate(timeline.rows):
        y = AXIS + index * ROW
        label = row.label if len(row.label) <= 28 else row.label[:27] + "…"
        parts.append(f'<text x="4" y="{y + ROW - 6}" font-size="11">{esc(label)}<title>{esc(row.key)}</title></text>')
        parts.extend(_bar(span, y, scale, now) for span in row.spans)
    if not timeline.rows:
        parts.append(f'<text x="{LABEL}" y="{AXIS + 14}" font-size="11" fill="#888">(no activity yet)</text>')
    if playhead and timeline.end is None:
        x = scale.x(now)
        parts.append(f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{height}" stroke="#d32f2f">'
                     "<title>now</title></line>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def status_header(timeline: Timeline, state: Any = None, now: _dt.datetime | None = None) -> str:
    """Return the status header: name, id, status, custom status, created, duration, failure."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    status = getattr(state, "status", None) or timeline.status
    created = getattr(state, "created_at", None) or timeline.start
    end = timeline.end or getattr(state, "completed_at", None)
    duration = (end or now) - created if created else None
    custom = getattr(state, "custom_status", None)
    failure = timeline.failure
    state_failure = getattr(state, "failure", None)
    if state_failure is not None:
        failure = f"{state_failure.error_type}: {state_failure.message}"
    parts = [
        f"<b>{esc(timeline.name or getattr(state, 'name', ''))}</b>",
        f"<code>{esc(timeline.instance_id or getattr(state, 'instance_id', ''))}</code>",
        status_badge(status),
    ]
    if custom is not None:
        parts.append(f"custom status <code>{esc(_short(custom))}</code>")
    parts.append(f"created {esc(fmt_time(created))}")
    if duration is not None:
        parts.append(f"duration {esc(fmt_duration(duration.total_seconds()))}" + ("" if end else " (running)"))
    if timeline.aggregated:
        parts.append(f"{timeline.event_count} events, bars aggregated by name")
    line = " · ".join(parts)
    error = f'<div style="color:{STATUS_COLORS["FAILED"]}">{esc(failure)}</div>' if failure else ""
    return f'<div style="font-size:13px">{line}{error}</div>'


def timeline_html(timeline: Timeline, state: Any = None, now: _dt.datetime | None = None, *, playhead: bool = False,
                  depth: int = 0) -> str:  # fmt: skip
    """Return header + SVG, with child workflows as nested, indented sections."""
    body = status_header(timeline, state, now) + timeline_svg(timeline, now, playhead=playhead)
    for child in timeline.children.values():
        body += timeline_html(child, None, now, playhead=playhead, depth=depth + 1)
    margin = "margin-left:24px;border-left:2px solid #ddd;padding-left:6px;" if depth else ""
    return f'<div style="{margin}margin-top:4px">{body}</div>'
