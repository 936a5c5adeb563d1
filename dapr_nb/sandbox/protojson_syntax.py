"""The syntax errors Go's ``protojson.Unmarshal`` reports, for the HTTP routes daprd decodes with it.

Rule: :func:`syntax_error` walks the body token by token as protobuf-go's JSON decoder does
(``internal/encoding/json``) and returns the first error in its words, without the ``proto: ``
prefix: ``unexpected EOF``, or ``syntax error (line L:C): …`` (``unexpected token X``, ``invalid
value X``, ``unexpected character X, missing ":" after field name``, ``invalid escape code "\\q" in
string``, ``invalid character '\\x01' in string``); ``None`` when the body is one well-formed JSON
object (protojson refuses any other top-level value with ``unexpected token``). Type errors inside a
well-formed object are not its business.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NOT_DELIM = re.compile(r"[-+._a-zA-Z0-9]")
_ERR_TOKEN = re.compile(r"[-+._a-zA-Z0-9]{1,32}|.", re.DOTALL)
_WHITESPACE = " \n\r\t"
_ESCAPES = '"\\/bfnrt'
_HEX = frozenset("0123456789abcdefABCDEF")
_SCALAR, _OPEN_OBJ, _CLOSE_OBJ, _OPEN_ARR, _CLOSE_ARR, _COMMA, _NAME, _EOF = range(8)


class _Stop(Exception):
    """The decoder's error (its text)."""


def _quote(text: str) -> str:
    """Return Go's ``%q`` of a string."""
    out = ['"']
    for char in text:
        out.append(_go_escape(char, '"'))
    return "".join(out) + '"'


def _quote_rune(char: str) -> str:
    """Return Go's ``%q`` of a rune."""
    return "'" + _go_escape(char, "'") + "'"


def _go_escape(char: str, quote: str) -> str:
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    if char in (quote, "\\"):
        return "\\" + char
    if char in named:
        return named[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{ord(char):02x}"
    return char


class _Decoder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.stack: list[int] = []
        self.last = -1

    def error(self, at: int, message: str) -> _Stop:
        before = self.text[:at]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        return _Stop(f"syntax error (line {line}:{column}): {message}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def next_token(self) -> tuple[int, int, str]:
        """Return (kind, start, raw text) of the next token (parseNext)."""
        self.skip()
        text, start = self.text, self.pos
        if start >= len(text):
            return _EOF, start, ""
        char = text[start]
        for word in ("null", "true", "false"):
            end = start + len(word)
            if text.startswith(word, start) and not (end < len(text) and _NOT_DELIM.match(text[end])):
                self.pos = end
                return _SCALAR, start, word
        if char in "-0123456789":
            found = _NUMBER.match(text, start)
            if found and not (found.end() < len(text) and _NOT_DELIM.match(text[found.end()])):
                self.pos = found.end()
                return _SCALAR, start, found.group()
        if char == '"':
            self.pos = self.string_end(start)
            return _SCALAR + 100, start, text[start : self.pos]
        kinds = {"{": _OPEN_OBJ, "}": _CLOSE_OBJ, "[": _OPEN_ARR, "]": _CLOSE_ARR, ",": _COMMA}
        if char in kinds:
            self.pos = start + 1
            return kinds[char], start, char
        bad = _ERR_TOKEN.match(text, start)
        raise self.error(start, f"invalid value {bad.group() if bad else char}")

    def string_end(self, start: int) -> int:
        """Return the index after the string starting at ``start`` (parseString)."""
        text, i = self.text, start + 1
        while i < len(text):
            char = text[i]
            if char == '"':
                return i + 1
            if char == "\ufffd":
                raise self.error(start, "invalid UTF-8 in string")
            if ord(char) < 0x20:
                raise self.error(start, f"invalid character {_quote_rune(char)} in string")
            if char == "\\":
                if i + 1 >= len(text):
                    raise _Stop("unexpected EOF")
                escape = text[i + 1]
                if escape == "u":
                    if i + 6 > len(text):
                        raise _Stop("unexpected EOF")
                    if not all(c in _HEX for c in text[i + 2 : i + 6]):
                        raise self.error(start, f"invalid escape code {_quote(text[i : i + 6])} in string")
                    i += 6
                    continue
                if escape not in _ESCAPES:
                    raise self.error(start, f"invalid escape code {_quote(text[i : i + 2])} in string")
                i += 2
                continue
            i += 1
        raise _Stop("unexpected EOF")

    def value_next(self) -> bool:
        if not self.stack:
            return self.last == -1
        if self.stack[-1] == _OPEN_OBJ:
            return self.last == _NAME
        return self.last in (_OPEN_ARR, _COMMA)

    def read(self) -> tuple[int, int, str]:
        """Return the next token in a valid sequence (Decoder.Read); commas are consumed."""
        while True:
            kind, start, raw = self.next_token()
            unexpected = self.error(start, f"unexpected token {raw}")
            if kind == _EOF:
                if self.stack or self.last not in (_SCALAR, _CLOSE_OBJ, _CLOSE_ARR):
                    raise _Stop("unexpected EOF")
            elif kind == _SCALAR + 100:  # a string: a value, or a field name
                if self.value_next():
                    kind = _SCALAR
                else:
                    if self.last not in (_OPEN_OBJ, _COMMA):
                        raise unexpected
                    self.skip()
                    if self.pos >= len(self.text):
                        raise _Stop("unexpected EOF")
                    if self.text[self.pos] != ":":
                        got = self.text[self.pos]
                        raise self.error(self.pos, f'unexpected character {got}, missing ":" after field name')
                    self.pos += 1
                    kind = _NAME
            elif kind in (_SCALAR, _OPEN_OBJ, _OPEN_ARR):
                if not self.value_next():
                    raise unexpected
                if kind != _SCALAR:
                    self.stack.append(kind)
            elif kind in (_CLOSE_OBJ, _CLOSE_ARR):
                opener = _OPEN_OBJ if kind == _CLOSE_OBJ else _OPEN_ARR
                bad_last = (_NAME, _COMMA) if kind == _CLOSE_OBJ else (_COMMA,)
                if not self.stack or self.last in bad_last or self.stack[-1] != opener:
                    raise unexpected
                self.stack.pop()
            elif kind == _COMMA and (not self.stack or self.last not in (_SCALAR, _CLOSE_OBJ, _CLOSE_ARR)):
                raise unexpected
            self.last = kind
            if kind != _COMMA:
                return kind, start, raw


def syntax_error(text: str) -> str | None:
    """Return protojson's error for ``text`` as a message body, or None when it is one well-formed object."""
    decoder = _Decoder(text)
    try:
        kind, start, raw = decoder.read()
        if kind != _OPEN_OBJ:
            raise decoder.error(start, f"unexpected token {raw}")
        while decoder.stack:
            decoder.read()
        kind, start, raw = decoder.read()
        if kind != _EOF:
            raise decoder.error(start, f"unexpected token {raw}")
    except _Stop as stop:
        return str(stop)
    return None
