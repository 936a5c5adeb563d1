"""Durations as daprd reads them: Go's ``time.ParseDuration`` and the two grammars daprd builds on it.

Rule: every duration the sandbox reads is parsed here, with Go's own error text, in the grammar
daprd uses for that field:

- :func:`parse_go_duration` — Go's grammar exactly (``1h2m3.5s``, ``300ms``, ``1us``/``1µs``, ``-1s``,
  ``0``), in nanoseconds: job schedules' ``@every``, and one form of a job's due time and TTL;
- :func:`metadata_seconds` — a ``time.Duration`` field of component metadata, as contrib's
  decoder reads it: a Go duration, else whole seconds (``30``); the empty string means "not set";
- :func:`parse_iso8601_duration` — dapr/kit's ISO 8601 form (``P1DT2H``, ``R3/PT1M``), the other
  form of a job's due time and TTL.
"""

from __future__ import annotations

import json
import re

_NANOS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}  # fmt: skip
_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_GO_INT = re.compile(r"[+-]?[0-9]+")
_MAX = 2**63


def go_quote(text: str) -> str:
    """Quote like Go's ``%q`` for the printable text durations and names hold."""
    return json.dumps(text, ensure_ascii=False)


def parse_go_duration(text: str) -> int:
    """Parse a Go ``time.Duration`` string into nanoseconds; raise ValueError with Go's message."""
    invalid = ValueError(f"time: invalid duration {go_quote(text)}")
    rest, sign = text, 1
    if rest[:1] in ("+", "-"):
        sign, rest = (-1 if rest[0] == "-" else 1), rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        if not (rest[0] == "." or "0" <= rest[0] <= "9"):
            raise invalid
        found = _PART.match(rest)
        assert found is not None  # every group may be empty
        whole, frac, unit = found[1], found[2], found[3]
        if not whole and not frac:
            raise invalid
        if not unit:
            raise ValueError(f"time: missing unit in duration {go_quote(text)}")
        if unit not in _NANOS:
            raise ValueError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(text)}")
        scale = _NANOS[unit]
        total += int(whole or "0") * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        if total > _MAX - (1 if sign > 0 else 0):
            raise invalid
        rest = rest[found.end() :]
    return sign * total


def metadata_seconds(raw: str) -> float | None:
    """Return a metadata duration in seconds (None when empty): a Go duration, else whole seconds.

    Raises ValueError with both parsers' messages, as contrib's decoder joins them.
    """
    if raw == "":
        return None
    try:
        return parse_go_duration(raw) / 1e9
    except ValueError as exc:
        if _GO_INT.fullmatch(raw):
            return float(int(raw))
        raise ValueError(f"{exc}\nstrconv.ParseInt: parsing {go_quote(raw)}: invalid syntax") from None


def parse_iso8601_duration(text: str) -> tuple[int, int, int, int, int]:
    """Parse dapr/kit's ISO 8601 duration (``P1DT2H``, ``R3/PT1M``): (years, months, days, nanos, repeats)."""
    bad = ValueError(f"unsupported ISO8601 duration format: {text}")
    years = months = days = nanos = 0
    repeats, i = -1, 0
    if len(text) < 2:
        raise bad
    if text[0] == "R":
        slash = text.find("/")
        end = len(text) if slash < 0 else slash
        if end - 1 < 1 or not _GO_INT.fullmatch(text[1:end]):
            raise bad
        repeats, i = int(text[1:end]), end + 1
        if i >= len(text):
            return years, months, days, nanos, repeats
    if text[i] != "P":
        raise bad
    i += 1
    start, in_time = i, False
    units = {"H": 3600 * 10**9, "S": 10**9}
    while i < len(text):
        char = text[i]
        if char == "T":
            if start != i:
                raise bad
            in_time, start = True, i + 1
        elif char in "YWDHSM":
            if start == i or (char in "YWD" and in_time) or (char in "HS" and not in_time):
                raise bad
            if not _GO_INT.fullmatch(text[start:i]):
                raise bad
            value = int(text[start:i])
            if char == "Y":
                years = value
            elif char in "WD":
                days += value * (7 if char == "W" else 1)
            elif char == "M":
                nanos, months = (nanos + value * 60 * 10**9, months) if in_time else (nanos, value)
            else:
                nanos += value * units[char]
            start = i + 1
        i += 1
    return years, months, days, nanos, repeats
