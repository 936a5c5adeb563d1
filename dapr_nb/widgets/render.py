"""Pure HTML rendering for the live widgets: headers, tables, badges, error lists.

Rule: functions here take plain values and return HTML strings; every value goes through
``html.escape``. No widgets, no I/O — the same output is the live view and the static snapshot.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STATE_COLORS = {
    "connected": "#2e7d32",
    "connecting": "#f9a825",
    "reconnecting": "#ef6c00",
    "paused": "#1565c0",
    "closed": "#757575",
    "error": "#c62828",
}
STATUS_COLORS = {
    "RUNNING": "#1565c0",
    "COMPLETED": "#2e7d32",
    "FAILED": "#c62828",
    "TERMINATED": "#6a1b9a",
    "SUSPENDED": "#ef6c00",
    "PENDING": "#757575",
    "STALLED": "#ad1457",
    "CONTINUED_AS_NEW": "#00838f",
    "CANCELED": "#6d4c41",
}
_TABLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL = "padding:2px 6px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap"


def esc(value: Any) -> str:
    """Escape any value for HTML (None → empty)."""
    return "" if value is None else html.escape(str(value))


def badge(text: str, color: str) -> str:
    """Return a small colored label."""
    return (
        f'<span style="background:{esc(color)};color:#fff;border-radius:3px;padding:1px 6px;'
        f'font-size:11px">{esc(text)}</span>'
    )


def state_badge(state: str) -> str:
    """Return a badge for a connection state."""
    return badge(state, STATE_COLORS.get(state, "#757575"))


def status_badge(status: str) -> str:
    """Return a badge for a workflow runtime status."""
    return badge(status, STATUS_COLORS.get(status, "#757575"))


def table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, empty: str = "(nothing yet)") -> str:
    """Return an HTML table of ``rows`` (dicts) showing ``columns``; every cell escaped."""
    head = "".join(f'<th style="{_CELL}">{esc(c)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{esc(row.get(c, ""))}</td>' for c in columns) + "</tr>" for row in rows
    )
    if not body:
        body = f'<tr><td style="{_CELL};color:#888" colspan="{len(columns)}">{esc(empty)}</td></tr>'
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def counts_line(counts: Mapping[str, int | float], keys: Sequence[str]) -> str:
    """Return ``key n · key n …`` for the given keys."""
    return " · ".join(f"{esc(k)} <b>{esc(counts.get(k, 0))}</b>" for k in keys)


def errors_html(errors: Sequence[str], *, limit: int = 5) -> str:
    """Return the newest errors as a red list (empty string when there are none)."""
    if not errors:
        return ""
    items = "".join(f"<li>{esc(e)}</li>" for e in list(errors)[-limit:])
    return f'<ul style="color:#c62828;font-family:monospace;font-size:12px;margin:2px 0">{items}</ul>'


def stream_header(
    pubsub: str, topic: str, state: str, counts: Mapping[str, int], rate: float, *, paused: bool, policy: str
) -> str:
    """Return the TopicStream header: pubsub/topic, connection state, counts, rate, ack policy."""
    keys = ("received", "acked", "retried", "dropped", "redelivered", "failed", "unacked")
    shown = [k for k in keys if k in ("received", "acked", "retried", "dropped") or counts.get(k)]
    held = f" {badge('paused', STATE_COLORS['paused'])}" if paused else ""
    return (
        f"<div><b>{esc(pubsub)}/{esc(topic)}</b> {state_badge(state)}{held} "
        f'<span style="font-size:12px">{counts_line(counts, shown)} · {rate:.1f} msg/s · ack: {esc(policy)}</span>'
        "</div>"
    )


STREAM_COLUMNS = ("id", "time", "type", "data", "delivery", "outcome")


def stream_snapshot(header: str, rows: Sequence[Mapping[str, Any]], errors: Sequence[str]) -> str:
    """Return the whole TopicStream picture for a static notebook."""
    return f"<div>{header}{table(STREAM_COLUMNS, rows)}{errors_html(errors)}</div>"


CONFIG_COLUMNS = ("key", "value", "version")
HISTORY_COLUMNS = ("time", "key", "old", "new", "version")


def config_header(store: str, keys: Sequence[str], state: str, changes: int) -> str:
    """Return the ConfigWatch header: store, watched keys, state and number of changes."""
    watched = ", ".join(keys) if keys else "all keys"
    return f"<div><b>{esc(store)}</b> ({esc(watched)}) {state_badge(state)} · changes <b>{changes}</b></div>"


def config_snapshot(
    header: str, values: Sequence[Mapping[str, Any]], history: Sequence[Mapping[str, Any]], errors: Sequence[str]
) -> str:
    """Return the whole ConfigWatch picture: current values, then the change history (newest first)."""
    return (
        f"<div>{header}{table(CONFIG_COLUMNS, values, empty='(no items)')}"
        f"<div style='margin-top:4px'><i>changes</i></div>{table(HISTORY_COLUMNS, history, empty='(no changes)')}"
        f"{errors_html(errors)}</div>"
    )


def fmt_time(value: _dt.datetime | None) -> str:
    """Format a timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC), empty for None."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    """Format a duration compactly: ``850ms``, ``12.3s``, ``4m05s``, ``2h03m``."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


BOARD_COLUMNS = ("name", "id", "status", "custom status", "age")


def board_snapshot(
    title: str, counts: Mapping[str, int], rows: Sequence[Mapping[str, Any]], errors: Sequence[str]
) -> str:
    """Return the WorkflowBoard picture: status counts, then a table like ``dapr workflow list``."""
    chips = " ".join(f"{status_badge(s)} <b>{n}</b>" for s, n in sorted(counts.items()) if n)
    return (
        f"<div><b>{esc(title)}</b> · {sum(counts.values())} instances {chips}"
        f"{table(BOARD_COLUMNS, rows, empty='(no instances)')}{errors_html(errors)}</div>"
    )
