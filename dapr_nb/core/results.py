"""Result types: frozen dataclasses, never protobufs; ``Table`` for lists of them.

Rule: every value a user sees from a client call is defined here, immutable, and renders itself as an
escaped HTML table in a notebook (``_repr_html_``). Conversion to DataFrames lives in ``dapr_nb.frames``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .values import decode

T = TypeVar("T")

_MAX_ROWS = 50
_MAX_CELL = 80


def _cell(value: Any) -> str:
    text = repr(value) if isinstance(value, (bytes, dict, list, tuple)) else str(value)
    if len(text) > _MAX_CELL:
        text = text[: _MAX_CELL - 1] + "…"
    return html.escape(text)


def html_table(rows: Iterable[Any], columns: list[str] | None = None) -> str:
    """Render dataclass rows as an escaped HTML table (first 50 rows)."""
    rows = list(rows)
    if columns is None:
        columns = [f.name for f in dataclasses.fields(rows[0])] if rows else []
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(getattr(r, c, ''))}</td>" for c in columns) + "</tr>" for r in rows[:_MAX_ROWS]
    )
    more = f"<p>… {len(rows) - _MAX_ROWS} more rows</p>" if len(rows) > _MAX_ROWS else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


class _HtmlRow:
    """Mixin: render one dataclass as a one-row table."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return html_table([self])


class Table(tuple[T, ...], Generic[T]):
    """An immutable list of results that renders as an HTML table; ``dapr_nb.frames.to_frame`` makes a DataFrame."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        if not self:
            return "<p>(no rows)</p>"
        return html_table(self)


class _LazyValue(_HtmlRow):
    """Mixin: a slot for the content type of a ``value`` not decoded yet (see :meth:`StateItem.from_wire`)."""

    __slots__ = ("_content_type",)


@dataclass(frozen=True, slots=True)
class StateItem(_LazyValue):
    """One state entry: ``value`` decoded by content (JSON/text/bytes), ``raw`` the bytes stored; missing → None.

    Surprise to know: items read from the sidecar decode ``value`` on first access (then keep it), so a call
    that only needs ``raw``, ``etag`` or ``exists`` pays for no JSON parsing. Equality, ``repr``, pickling
    and ``dataclasses.replace`` read ``value`` like any other field, so they behave as for an eager item.
    """

    key: str
    value: Any
    etag: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    raw: bytes = b""
    error: str = ""

    @classmethod
    def from_wire(
        cls,
        key: str,
        raw: bytes,
        content_type: str,
        etag: str | None,
        metadata: Mapping[str, str],
        error: str = "",
        *,
        lazy: bool = True,
    ) -> StateItem:
        """Return an item whose ``value`` is ``raw`` decoded by ``content_type`` (None if empty).

        ``lazy`` decodes on first access of ``value``; ``lazy=False`` decodes now, which is cheaper when every
        value will be read (a first access costs an attribute miss, about 1.5 µs).
        """
        item = _new(cls)
        _set_key(item, key)
        _set_etag(item, etag)
        _set_metadata(item, metadata)
        _set_raw(item, raw)
        _set_error(item, error)
        if not raw:
            _set_value(item, None)
        elif lazy:
            _set_content_type(item, content_type)
        else:
            _set_value(item, decode(raw, content_type))
        return item

    if not TYPE_CHECKING:  # hidden from mypy, so a misspelt attribute is still a type error

        def __getattr__(self, name: str) -> Any:
            # only reached when a slot is unset: ``value`` of an item from ``from_wire`` not read yet
            if name != "value":
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = decode(self.raw, self._content_type)
            _set_value(self, value)
            return value

    @property
    def exists(self) -> bool:
        """Return whether the key holds a value (a missing key is not an error in Dapr)."""
        return bool(self.raw) or bool(self.etag)


# slot setters for StateItem.from_wire: a frozen dataclass refuses setattr, and these skip its checks
_new = object.__new__
_set_key, _set_value, _set_etag, _set_metadata, _set_raw, _set_error = (
    StateItem.__dict__[name].__set__ for name in ("key", "value", "etag", "metadata", "raw", "error")
)
_set_content_type = _LazyValue.__dict__["_content_type"].__set__


@dataclass(frozen=True, slots=True)
class TopicMessage(_HtmlRow):
    """One event delivered to a subscription; ``data`` decoded by content type, ``raw`` the bytes."""

    id: str
    pubsub: str
    topic: str
    data: Any
    raw: bytes = b""
    content_type: str = ""
    type: str = ""
    source: str = ""
    spec_version: str = ""
    path: str = ""
    extensions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FailedEntry:
    """A bulk-publish entry the broker refused."""

    entry_id: str
    error: str


@dataclass(frozen=True, slots=True)
class BulkPublishResult(_HtmlRow):
    """The outcome of a bulk publish: ``failed`` is empty when every entry was accepted."""

    published: int
    failed: tuple[FailedEntry, ...] = ()

    def __bool__(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class ConfigItem(_HtmlRow):
    """One configuration item."""

    key: str
    value: str
    version: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConfigUpdate(_HtmlRow):
    """A change delivered to a configuration subscription (only changed keys)."""

    id: str
    items: Table[ConfigItem]


@dataclass(frozen=True, slots=True)
class LockResult(_HtmlRow):
    """The answer to try_lock; truthy when the lock was acquired."""

    store: str
    resource: str
    owner: str
    acquired: bool

    def __bool__(self) -> bool:
        return self.acquired


@dataclass(frozen=True, slots=True)
class BindingResult(_HtmlRow):
    """What an output binding returned: decoded ``data``, ``raw`` bytes and response metadata."""

    data: Any
    raw: bytes = b""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InvokeResult(_HtmlRow):
    """An HTTP service-invocation response: status, headers, decoded ``data`` and ``raw`` body."""

    status: int
    data: Any
    raw: bytes = b""
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job(_HtmlRow):
    """A scheduled job as the scheduler reports it."""

    name: str
    schedule: str = ""
    repeats: int | None = None
    due_time: str = ""
    ttl: str = ""
    data: Any = None


@dataclass(frozen=True, slots=True)
class ConversationResult(_HtmlRow):
    """The outputs of one conversation request."""

    context_id: str
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Component(_HtmlRow):
    """A component the sidecar has loaded."""

    name: str
    type: str
    version: str = ""
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionInfo(_HtmlRow):
    """A subscription the sidecar knows about."""

    pubsub: str
    topic: str
    type: str = ""
    dead_letter_topic: str = ""


@dataclass(frozen=True, slots=True)
class Metadata(_HtmlRow):
    """The sidecar's metadata: app id, runtime version, components, subscriptions, extended attributes."""

    app_id: str
    runtime_version: str
    components: Table[Component]
    subscriptions: Table[SubscriptionInfo]
    extended: Mapping[str, str] = field(default_factory=dict)
    enabled_features: tuple[str, ...] = ()
    connected_workflow_workers: int | None = None

    def _repr_html_(self) -> str:
        return html_table([self], ["app_id", "runtime_version", "extended"]) + self.components._repr_html_()


@dataclass(frozen=True, slots=True)
class FailureDetails:
    """Why a workflow failed."""

    error_type: str
    message: str
    stack_trace: str = ""


@dataclass(frozen=True, slots=True)
class WorkflowState(_HtmlRow):
    """A workflow instance as the runtime reports it (nothing dropped from the proto)."""

    instance_id: str
    name: str
    status: str
    created_at: _dt.datetime | None = None
    last_updated_at: _dt.datetime | None = None
    input: Any = None
    output: Any = None
    custom_status: Any = None
    failure: FailureDetails | None = None
    execution_id: str = ""
    completed_at: _dt.datetime | None = None
    parent_instance_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    scheduled_start_at: _dt.datetime | None = None
    started_at: _dt.datetime | None = None

    @property
    def is_terminal(self) -> bool:
        """Return whether the instance has finished (completed, failed, terminated, canceled)."""
        return self.status in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "TERMINATED", "CANCELED", "CONTINUED_AS_NEW"})


@dataclass(frozen=True, slots=True)
class HistoryEvent(_HtmlRow):
    """One committed workflow history event; ``kind`` is the proto's oneof name (``taskScheduled``…)."""

    event_id: int
    timestamp: _dt.datetime | None
    kind: str
    name: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
