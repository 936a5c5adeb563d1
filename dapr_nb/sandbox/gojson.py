"""JSON as Go writes it, for every place daprd re-encodes a value it decoded into ``any``.

Rule: input is what ``json.loads`` returns; output is what Go's ``json.Marshal`` (or ``protojson``,
with ``sort_keys=False, escape_html=False``) writes for the same document. Go decodes every JSON
number into a float64, so numbers are rendered from that float (``1.0`` -> ``1``, ``1e-7`` ->
``1e-7``, ``0.00001`` -> ``0.00001``, ``-0.0`` -> ``-0``, and an integer beyond 2**53 loses the
digits a float64 cannot hold); strings escape ``<``, ``>``, ``&``, U+2028 and U+2029, and lone
surrogates become U+FFFD; object keys are sorted. NaN, infinities and non-JSON types raise
:class:`UnsupportedValueError` with Go's message, where Go's encoder fails too; :func:`loads` keeps
them out in the first place, as Go's decoder does.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPED = re.compile("[<>&\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnsupportedValueError(ValueError):
    """Go's ``json: unsupported value`` / ``json: unsupported type`` (``str()`` is Go's message)."""


def loads(data: str | bytes) -> Any:
    """Parse JSON as Go's decoder does: like ``json.loads``, but ``NaN`` and ``Infinity`` are errors (ValueError)."""
    return json.loads(data, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def go_json(value: Any) -> bytes:
    """Encode like Go's ``json.Marshal``: compact, sorted keys, HTML characters escaped; UTF-8 bytes."""
    return dumps(value).encode("utf-8")


def dumps(value: Any, *, sort_keys: bool = True, escape_html: bool = True) -> str:
    """Encode ``value`` as Go would; ``sort_keys=False, escape_html=False`` is protojson's output."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_number(float(value))
    if isinstance(value, str):
        return _string(value, escape_html)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v, sort_keys=sort_keys, escape_html=escape_html) for v in value) + "]"
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
        members = [
            f"{_string(k, escape_html)}:{dumps(v, sort_keys=sort_keys, escape_html=escape_html)}"
            for k, v in (sorted(items, key=lambda kv: kv[0]) if sort_keys else items)
        ]
        return "{" + ",".join(members) + "}"
    raise UnsupportedValueError(f"json: unsupported type: {type(value).__name__}")


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
