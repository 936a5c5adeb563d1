"""Turn the text of a ``%dapr`` line into arguments.

Rules: ``{{name}}`` substitutes text from the user namespace before splitting (store names, keys,
topics); a token ``:name`` binds the Python value itself (dict, list, number, str, DataFrame) and is
resolved only where a command reads *data*; ``k=v`` pairs become metadata; an unquoted ``#`` that starts a
word starts a comment, as in the shell (quote it to pass it: ``'#ff0000'``). Data (a JSON token, a body,
a ``:name`` value) may nest lists/objects at most :data:`MAX_DEPTH` levels. Every problem is a
:class:`~IPython.core.error.UsageError` with one short sentence that says what to do (or a ValueError,
which the command table turns into one).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

from ..core.values import check_depth, too_deep

_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_BOUND = re.compile(r"^:([A-Za-z_]\w*)$")
_MARK = "\x00bound:"

MAX_DEPTH = 256
"""How deep the data a magic reads may nest lists/objects: well inside what JSON and YAML parse in Python."""


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


def _as_text(path: str, namespace: Mapping[str, Any]) -> str:
    where = "{{" + path + "}}"
    try:
        return str(_lookup(path, namespace, where))
    except RecursionError:
        deep = f"more than about {sys.getrecursionlimit()} levels"
        raise UsageError(f"{where}: the value is nested too deeply to insert as text ({deep})") from None


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace every ``{{name}}`` in ``text`` by ``str()`` of that variable."""
    return _TEMPLATE.sub(lambda m: _as_text(m.group(1), namespace), text)


@dataclass
class Line:
    """A split magic line: plain string tokens, with ``:name`` tokens swapped for markers."""

    tokens: list[str]
    bound: dict[str, Any] = field(default_factory=dict)

    def value(self, token: str | None) -> Any:
        """Return the Python value a data token stands for: a bound object, else JSON if it parses, else text."""
        if token is None:
            return None
        value = self.bound[token] if token.startswith(_MARK) else parse_data(token)
        check_depth(value, MAX_DEPTH)
        return value

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
    except RecursionError:
        raise too_deep(limit=MAX_DEPTH) from None


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
    """Parse a cell body as JSON, or YAML when it is not JSON; an empty, invalid or too deep body is a usage error."""
    text = cell.strip()
    if not text:
        raise UsageError(f"{what} needs a body in the cell below the magic line")
    try:
        return _json_or_yaml(text, what)
    except RecursionError:
        raise UsageError(f"{what}: {too_deep('the body', MAX_DEPTH)}") from None


def _json_or_yaml(text: str, what: str) -> Any:
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
    value = _lookup(found.group(1), namespace, text) if found else parse_body(interpolate(cell, namespace), what)
    try:
        check_depth(value, MAX_DEPTH, "the body")
    except ValueError as error:
        raise UsageError(f"{what}: {error}") from None
    return value
