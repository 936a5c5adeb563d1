"""Python values ⇄ bytes on the wire, one rule for every building block.

Rule — values in: ``bytes`` pass through untouched; ``str`` is UTF-8 text (``text/plain``); dicts,
lists, numbers, booleans and ``None`` are JSON (``application/json``); dataclasses and pydantic models
become JSON objects. Values out: an explicit content type wins; otherwise the bytes are sniffed —
JSON → Python, UTF-8 text → ``str``, anything else stays ``bytes``. Surprise to know: a ``str`` that
happens to be valid JSON (``"42"``) reads back as JSON; keep the raw bytes (``.raw``) when it matters.
Nesting: Python's JSON follows lists and objects about ``sys.getrecursionlimit()`` levels deep; a value
going out nested deeper is a :class:`NestedTooDeeply` error, one coming in stays text.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import sys
from collections.abc import Mapping
from typing import Any

JSON = "application/json"
TEXT = "text/plain"
OCTETS = "application/octet-stream"

_JSON_START = frozenset(b'{["-0123456789tfn')
_JSON_START_TEXT = frozenset('{["-0123456789tfn')


class NestedTooDeeply(ValueError):
    """A value nests lists/objects (dicts) deeper than can be encoded or parsed here."""


def too_deep(what: str = "the value", limit: int | None = None) -> NestedTooDeeply:
    """Return the error for ``what`` nesting deeper than ``limit`` levels (default: Python's recursion limit)."""
    if limit is None:
        return NestedTooDeeply(
            f"{what} is nested too deeply (Python's JSON handles about {sys.getrecursionlimit()} levels)"
        )
    return NestedTooDeeply(f"{what} is nested too deeply (the limit is {limit} levels of lists/objects)")


_NESTED = (dict, list, tuple, set, frozenset)


def check_depth(value: Any, limit: int, what: str = "the value") -> None:
    """Raise NestedTooDeeply if ``value`` nests dicts, lists, tuples or sets more than ``limit`` levels deep.

    Iterative (it cannot hit the recursion limit itself); a container that contains itself counts as too deep.
    """
    deepest: dict[int, int] = {}
    stack = [(value, 1)] if isinstance(value, _NESTED) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise too_deep(what, limit)
        if deepest.get(id(item), 0) >= depth:
            continue  # shared (or cyclic) part already walked at least this deep
        deepest[id(item)] = depth
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, _NESTED))


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"cannot encode a {type(value).__name__} as JSON; pass bytes, str, or a JSON-able value")


# one encoder for every call: json.dumps with non-default options would build a new JSONEncoder per call
_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=False)


_DECODE = json.JSONDecoder().decode


def _loads(data: bytes) -> Any:
    """Parse JSON bytes: UTF-8 straight to the decoder, anything else (BOMs, UTF-16/32) by ``json.loads``'s rules.

    JSON nested deeper than the parser follows is a ValueError too, so callers keep it as text.
    """
    try:
        try:
            return _DECODE(data.decode())
        except ValueError:  # UnicodeDecodeError included
            return json.loads(data)
    except RecursionError:
        raise too_deep("the JSON") from None


def to_json(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON (dataclasses, pydantic models, dates and numpy scalars included).

    NestedTooDeeply (a ValueError) when ``value`` nests deeper than Python's recursion limit.
    """
    try:
        return _ENCODER.encode(value).encode()
    except RecursionError:
        raise too_deep() from None


def encode(value: Any) -> tuple[bytes, str]:
    """Return ``(bytes, content_type)`` for a value going to the sidecar."""
    if isinstance(value, bytes):
        return value, OCTETS
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value), OCTETS
    if isinstance(value, str):
        return value.encode(), TEXT
    return to_json(value), JSON


def is_json_type(content_type: str) -> bool:
    """Return whether a content type is JSON (``application/json``, ``application/*+json``)."""
    base = content_type.split(";", 1)[0].strip().lower()
    return base == JSON or (base.startswith("application/") and base.endswith("+json"))


def decode(data: bytes, content_type: str = "") -> Any:
    """Return the Python value for bytes from the sidecar (see the module rule)."""
    if content_type == JSON:  # the common case, without parsing the content type
        try:
            return _loads(data)
        except ValueError:
            return _text_or_bytes(data)
    if content_type:
        base = content_type.split(";", 1)[0].strip().lower()
        if is_json_type(base):
            try:
                return _loads(data)
            except ValueError:
                return _text_or_bytes(data)
        if base.startswith("text/"):
            return _text_or_bytes(data)
        if base == OCTETS:
            return data
    return sniff(data)


def sniff(data: bytes) -> Any:
    """Decode bytes without a content type: JSON, else text, else the bytes themselves."""
    if not data:
        return None
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data
    if data[0] in _JSON_START or text.lstrip()[:1] in _JSON_START_TEXT:
        try:
            return _DECODE(text)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser follows
            pass
    return text


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data


def json_text(value: Any) -> str | None:
    """Return ``value`` as a JSON string (workflow payloads), or None for None."""
    return None if value is None else to_json(value).decode()


def from_json_text(text: str | None) -> Any:
    """Parse a JSON payload string (workflow inputs/outputs); text that is not JSON is returned as is."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser follows
        return text


def str_map(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """Return metadata as a ``dict[str, str]`` (values converted with ``str``)."""
    return {str(k): str(v) for k, v in metadata.items()} if metadata else {}
