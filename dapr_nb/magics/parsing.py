"""Turn the text of a ``%dapr`` line into arguments.

Rules: ``{{name}}`` substitutes text from the user namespace before splitting (store names, keys,
topics); a token ``:name`` binds the Python value itself (dict, list, number, str, DataFrame) and is
resolved only where a command reads *data*; ``k=v`` pairs become metadata; an unquoted ``#`` that starts a
word starts a comment, as in the shell (quote it to pass it: ``'#ff0000'``). Every problem is a
:class:`~IPython.core.error.UsageError` with one short sentence that says what to do.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_BOUND = re.compile(r"^:([A-Za-z_]\w*)$")
_MARK = "\x00bound:"


def _lookup(path: str, namespace: Mapping[str, Any], where: str) -> Any:
    if not _NAME.match(path):
        raise UsageError(f"{where} takes a variable name, not {path!r}")
    head, *rest = path.split(".")
    if head not in namespace:
        raise UsageError(f"unknown variable {head!r} in {where}: define it in a cell first")
    value = namespace[head]
    for attr in rest:
        try:
            value = getattr(value, attr)
        except AttributeError:
            raise UsageError(f"{head} has no attribute {attr!r} (in {where})") from None
    return value


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace every ``{{name}}`` in ``text`` by ``str()`` of that variable."""
    return _TEMPLATE.sub(lambda m: str(_lookup(m.group(1), namespace, "{{" + m.group(1) + "}}")), text)


@dataclass
class Line:
    """A split magic line: plain string tokens, with ``:name`` tokens swapped for markers."""

    tokens: list[str]
    bound: dict[str, Any] = field(default_factory=dict)

    def value(self, token: str | None) -> Any:
        """Return the Python value a data token stands for: a bound object, else JSON if it parses, else text."""
        if token is None:
            return None
        if token.startswith(_MARK):
            return self.bound[token]
        return parse_data(token)

    def text(self, token: str, what: str) -> str:
        """Return a token that must be plain text (a name, key or topic), refusing ``:name`` bindings."""
        if token.startswith(_MARK):
            raise UsageError(f"{what} must be text; use {{{{name}}}} to insert a variable's text")
        return token


def strip_comment(line: str) -> str:
    """Drop a trailing ``# comment``: from an unquoted ``#`` that starts a word (as the shell does)."""
    quote, escaped = "", False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def split(line: str, namespace: Mapping[str, Any]) -> Line:
    """Drop a trailing comment, interpolate ``{{ }}``, split like a shell, and bind ``:name`` tokens."""
    try:
        tokens = shlex.split(interpolate(strip_comment(line), namespace), posix=True)
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"cannot split the line: {exc}; check your quotes") from None
    bound: dict[str, Any] = {}
    out: list[str] = []
    for token in tokens:
        found = _BOUND.match(token)
        if found:
            marker = f"{_MARK}{found.group(1)}"
            bound[marker] = _lookup(found.group(1), namespace, token)
            out.append(marker)
        else:
            out.append(token)
    return Line(out, bound)


def parse_data(text: str) -> Any:
    """Return JSON if ``text`` is JSON (object, array, number, true/false/null, "string"), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(pairs: Iterable[str] | None, what: str = "--meta") -> dict[str, str]:
    """Turn ``["k=v", ...]`` into a dict; a pair without ``=`` is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} takes key=value, got {pair!r}")
        result[key] = value
    return result


def parse_body(cell: str, what: str) -> Any:
    """Parse a cell body as JSON, or YAML when it is not JSON; an empty or invalid body is a usage error."""
    text = cell.strip()
    if not text:
        raise UsageError(f"{what} needs a body in the cell below the magic line")
    try:
        return json.loads(text)
    except ValueError as json_error:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            raise UsageError(f"{what}: the body is neither JSON nor YAML ({json_error})") from None


def parse_cell(cell: str, namespace: Mapping[str, Any], what: str) -> Any:
    """Parse a cell body as data: a lone ``:name`` binds that variable, else fill in ``{{ }}`` and read JSON/YAML."""
    text = cell.strip()
    found = _BOUND.match(text)
    if found:
        return _lookup(found.group(1), namespace, text)
    return parse_body(interpolate(cell, namespace), what)
