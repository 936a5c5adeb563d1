"""Python values ⇄ bytes on the wire, one rule for every building block.

Rule — values in: ``bytes`` pass through untouched; ``str`` is UTF-8 text (``text/plain``); dicts,
lists, numbers, booleans and ``None`` are JSON (``application/json``); dataclasses and pydantic models
become JSON objects. Values out: an explicit content type wins; otherwise the bytes are sniffed —
JSON → Python, UTF-8 text → ``str``, anything else stays ``bytes``. Surprise to know: a ``str`` that
happens to be valid JSON (``"42"``) reads back as JSON; keep the raw bytes (``.raw``) when it matters.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

JSON = "application/json"
TEXT = "text/plain"
OCTETS = "application/octet-stream"

_JSON_START = frozenset(b'{["-0123456789tfn')
_JSON_START_TEXT = frozenset('{["-0123456789tfn')


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
    """Parse JSON bytes: UTF-8 straight to the decoder, anything else (BOMs, UTF-16/32) by ``json.loads``'s rules."""
    try:
        return _DECODE(data.decode())
    except ValueError:  # UnicodeDecodeError included
        return json.loads(data)


def to_json(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON (dataclasses, pydantic models, dates and numpy scalars included)."""
    return _ENCODER.encode(value).encode()


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
        except ValueError:
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
    except ValueError:
        return text


def str_map(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """Return metadata as a ``dict[str, str]`` (values converted with ``str``)."""
    return {str(k): str(v) for k, v in metadata.items()} if metadata else {}
