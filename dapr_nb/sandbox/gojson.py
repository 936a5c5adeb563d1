"""JSON as Go writes it, for every place daprd re-encodes a value it decoded into ``any``.

Rule: input is what ``json.loads`` returns; output is what Go's ``json.Marshal`` (or ``protojson``,
with ``sort_keys=False, escape_html=False``) writes for the same document. Go decodes every JSON
number into a float64, so numbers are rendered from that float (``1.0`` -> ``1``, ``1e-7`` ->
``1e-7``, ``0.00001`` -> ``0.00001``, ``-0.0`` -> ``-0``, and an integer beyond 2**53 loses the
digits a float64 cannot hold); strings escape ``<``, ``>``, ``&``, U+2028 and U+2029, and lone
surrogates become U+FFFD; object keys are sorted. NaN, infinities and non-JSON types raise
:class:`UnsupportedValueError` with Go's message, where Go's encoder fails too; :func:`loads` keeps
them out in the first place, as Go's decoder does.

Depth is no limit short of Go's: :func:`loads` decodes up to ``MAX_DEPTH`` (10,000) nested arrays and
objects, as Go's decoder does, and refuses deeper input with Go's ``exceeded max depth`` (a
ValueError); the encoders here never recurse, so whatever was decoded can be written back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPED = re.compile("[<>&\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_HUGE_NUMBER = re.compile(r"[eE]\+?0*\d{3}|\d{309}")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

MAX_DEPTH = 10_000
"""Nesting Go's ``encoding/json`` decodes before it answers ``exceeded max depth``."""


class UnsupportedValueError(ValueError):
    """Go's ``json: unsupported value`` / ``json: unsupported type`` (``str()`` is Go's message)."""


def loads(data: str | bytes, parse_float: Callable[[str], Any] | None = None) -> Any:
    """Parse JSON as Go's decoder does into ``any``; raise ValueError (Go's message) where Go fails.

    Unlike ``json.loads``: ``NaN``/``Infinity`` and numbers beyond float64 (``1e400``) are errors; lone
    surrogates (``"\\ud800"``) and invalid UTF-8 inside strings become U+FFFD; nesting up to
    ``MAX_DEPTH`` decodes. ``parse_float``, if given, turns each non-integer number's text into a value
(and then decides about ``1e400`` itself).
    """
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    number = _checked_float(parse_float)
    try:
        if _HUGE_NUMBER.search(text) or parse_float is not None:
            value = json.loads(text, parse_constant=_reject_constant, parse_float=number, parse_int=_checked_int)
        else:
            value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        return _loads_deep(text, number)
    except json.JSONDecodeError as exc:
        raise ValueError(syntax_error(exc)) from None
    return _replace_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


def loads_first(text: str) -> Any:
    """Decode the first JSON value of ``text`` as :func:`loads` does; trailing text is ignored (json.Decoder)."""
    number = _checked_float(None)
    decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=number, parse_int=_checked_int)
    try:
        value = decoder.raw_decode(text, _WHITESPACE.match(text, 0).end())[0]  # type: ignore[union-attr]
    except RecursionError:
        return _loads_deep(text, number, first=True)
    except json.JSONDecodeError as exc:
        raise ValueError(syntax_error(exc)) from None
    return _replace_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


_LITERALS = ("null", "true", "false")
_AFTER = {
    "Expecting value": "looking for beginning of value",
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting ':' delimiter": "after object key",
    "Extra data": "after top-level value",
    "Invalid control character at": "in string literal",
}


def syntax_error(exc: json.JSONDecodeError) -> str:
    """Return Go's ``encoding/json`` message for the syntax error Python's decoder reported.

    Input that ends too soon is ``unexpected EOF`` (what ``json.Decoder`` says); otherwise ``invalid
    character 'c' <where>`` with Go's wording for the place the character was found.
    """
    text, pos = exc.doc, exc.pos
    rest = text[pos:].strip(" \t\r\n")
    if exc.msg.startswith("Unterminated string") or not rest or any(w.startswith(rest) for w in _LITERALS):
        return "unexpected EOF"
    if exc.msg.startswith("Invalid \\uXXXX escape"):
        digits = text[pos + 2 : pos + 6]
        bad = next((c for c in digits if c not in "0123456789abcdefABCDEF"), None)
        if bad is None:
            return "unexpected EOF"
        return f"invalid character '{bad}' in \\u hexadecimal character escape"
    escape = exc.msg.startswith("Invalid") and "escape" in exc.msg
    char = text[pos + 1] if escape and pos + 1 < len(text) else text[pos]
    quoted = "'\\''" if char == "'" else f"'{char}'" if char.isprintable() else repr(char)
    if escape:
        return f"invalid character {quoted} in string escape code"
    if exc.msg == "Expecting ',' delimiter":
        where = "after object key:value pair" if _innermost(text[:pos]) == "{" else "after array element"
    else:
        where = next((w for m, w in _AFTER.items() if exc.msg.startswith(m)), "looking for beginning of value")
    return f"invalid character {quoted} {where}"


def kind(value: Any) -> str:
    """Return the JSON kind Go's ``UnmarshalTypeError`` names for a decoded value (``number``, ``array`` …)."""
    names = {dict: "object", list: "array", str: "string", bool: "bool", type(None): "null"}
    return names.get(type(value), "number")


def _innermost(prefix: str) -> str:
    """Return the bracket (``{`` or ``[``) still open at the end of ``prefix``, skipping strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in prefix:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def _checked_float(parse_float: Callable[[str], Any] | None) -> Callable[[str], Any]:
    def number(literal: str) -> Any:
        if parse_float is not None:
            return parse_float(literal)
        if math.isinf(float(literal)):
            raise ValueError(f"json: cannot unmarshal number {literal} into Go value of type float64")
        return float(literal)

    return number


def _checked_int(literal: str) -> int:
    if len(literal) > 309 and math.isinf(float(literal)):
        raise ValueError(f"json: cannot unmarshal number {literal} into Go value of type float64")
    return int(literal)


def _replace_surrogates(value: Any) -> Any:
    """Replace lone surrogates in every string and key (in place, without recursion); return ``value``."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = _SURROGATE.sub("\ufffd", item)
                elif isinstance(item, (list, dict)):
                    todo.append(item)
        elif isinstance(node, dict):
            for key in [k for k in node if _SURROGATE.search(k)]:
                node[_SURROGATE.sub("\ufffd", key)] = node.pop(key)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = _SURROGATE.sub("\ufffd", item)
                elif isinstance(item, (list, dict)):
                    todo.append(item)
    return value


def _loads_deep(text: str, number: Callable[[str], Any], first: bool = False) -> Any:
    """Decode JSON nested too deeply for ``json.loads`` with an explicit stack (same results, Go's depth limit)."""
    stack: list[tuple[list[Any] | dict[str, Any], list[str]]] = []
    pos = _skip(text, 0)
    while True:
        value, pos, opened = _scalar_or_open(text, pos, number)
        if opened is not None:
            if len(stack) >= MAX_DEPTH:
                raise ValueError(f"invalid character {text[pos - 1]!r} exceeded max depth")
            pos = _skip(text, pos)
            closer = "]" if isinstance(opened, list) else "}"
            if text.startswith(closer, pos):
                value, pos = opened, pos + 1
            else:
                key: list[str] = []
                stack.append((opened, key))
                if isinstance(opened, dict):
                    pos = _key(text, pos, key)
                continue
        while True:
            if not stack:
                if not first and _skip(text, pos) != len(text):
                    raise ValueError("invalid character after top-level value")
                return value
            container, key = stack[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[key[0]] = value
            pos = _skip(text, pos)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
                if isinstance(container, dict):
                    pos = _key(text, pos, key)
                break
            if not text.startswith("]" if isinstance(container, list) else "}", pos):
                raise ValueError(f"invalid character at offset {pos} after array element or object value")
            stack.pop()
            value, pos = container, pos + 1


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _key(text: str, pos: int, into: list[str]) -> int:
    if not text.startswith('"', pos):
        raise ValueError(f"invalid character at offset {pos} looking for beginning of object key string")
    key, pos = _scanstring(text, pos + 1, True)
    pos = _skip(text, pos)
    if not text.startswith(":", pos):
        raise ValueError(f"invalid character at offset {pos} after object key")
    into[:] = [_SURROGATE.sub("\ufffd", key)]
    return _skip(text, pos + 1)


def _scalar_or_open(text: str, pos: int, number: Callable[[str], Any]) -> tuple[Any, int, Any]:
    """Read the value at ``pos``: (scalar, end, None), or (None, end, new container) for ``[``/``{``."""
    char = text[pos : pos + 1]
    if char in ("[", "{"):
        return None, pos + 1, [] if char == "[" else {}
    if char == '"':
        string, end = _scanstring(text, pos + 1, True)
        return _SURROGATE.sub("\ufffd", string), end, None
    for word, constant in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, pos):
            return constant, pos + len(word), None
    match = _NUMBER.match(text, pos)
    if match is None:
        raise ValueError("unexpected end of JSON input" if not char else
                         f"invalid character {char!r} looking for beginning of value")  # fmt: skip
    literal = match.group(0)
    parsed = number(literal) if match.group(1) or match.group(2) else _checked_int(literal)
    return parsed, match.end(), None


def go_json(value: Any) -> bytes:
    """Encode like Go's ``json.Marshal``: compact, sorted keys, HTML characters escaped; UTF-8 bytes."""
    return dumps(value).encode("utf-8")


def dumps(value: Any, *, sort_keys: bool = True, escape_html: bool = True) -> str:
    """Encode ``value`` as Go would; ``sort_keys=False, escape_html=False`` is protojson's output."""
    return encode(value, lambda n: go_number(float(n)), lambda t: _string(t, escape_html), sort_keys)


def compact(value: Any) -> str:
    """Return ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``, at any nesting depth."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        return encode(value, lambda n: json.dumps(n), lambda t: json.dumps(t, ensure_ascii=False), False)


class _Token(str):
    """Literal output queued between the values still to encode."""


def encode(value: Any, number: Callable[[int | float], str], string: Callable[[str], str], sort_keys: bool) -> str:
    """Encode decoded JSON without recursion, formatting numbers and strings with the given functions.

    Raises UnsupportedValueError for anything that is not JSON (or a number ``number`` refuses).
    """
    out: list[str] = []
    todo: list[Any] = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, _Token):
            out.append(item)
        elif item is None:
            out.append("null")
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float)):
            out.append(number(item))
        elif isinstance(item, str):
            out.append(string(item))
        elif isinstance(item, (list, tuple)):
            todo.append(_Token("]"))
            for i in range(len(item) - 1, -1, -1):
                todo.extend((item[i], _Token(",")) if i else (item[i],))
            out.append("[")
        elif isinstance(item, dict):
            members = [(str(k), v) for k, v in item.items()]
            if sort_keys:
                members.sort(key=lambda kv: kv[0])
            todo.append(_Token("}"))
            for i in range(len(members) - 1, -1, -1):
                key, member = members[i]
                todo.extend((member, _Token(("," if i else "") + string(key) + ":")))
            out.append("{")
        else:
            raise UnsupportedValueError(f"json: unsupported type: {type(item).__name__}")
    return "".join(out)


def go_number(number: float) -> str:
    """Format a float64 as Go's encoder does: shortest digits, exponent only below 1e-6 or from 1e21."""
    if math.isnan(number) or math.isinf(number):
        raise UnsupportedValueError(f"json: unsupported value: {number}")
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    if 1e-6 <= abs(number) < 1e21:
        digits = Decimal(repr(number))
        return format(digits.to_integral_value() if number.is_integer() else digits, "f")
    mantissa, _, exponent = repr(number).partition("e")
    sign, power = (exponent[0], exponent[1:]) if exponent[0] in "+-" else ("+", exponent)
    return f"{mantissa}e{sign}{power.lstrip('0') or '0'}"


def _string(text: str, escape_html: bool) -> str:
    encoded = json.dumps(_SURROGATE.sub("\ufffd", text), ensure_ascii=False)
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group(0)], encoded) if escape_html else encoded
