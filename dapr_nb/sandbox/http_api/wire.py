"""HTTP/1.1 framing on one blocking socket, following Go's net/http server (what daprd runs on).

Rules: nothing here knows Dapr. A request head must fit in ``limits.max_head`` bytes (else 431) and
arrive within ``limits.read_timeout`` (else the connection is closed without an answer); a malformed
head, a bad ``Content-Length`` (``-1``, ``abc``, two different values) is Go's plain ``400 Bad
Request``; a ``Transfer-Encoding`` other than ``chunked`` is 501. Those answers close the connection.
Bodies are read only when the caller asks, never beyond the body limit, and each wait for body
bytes has the read timeout. Nothing is buffered beyond what one read returns.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

from .limits import HttpLimits

DISCARD_LIMIT = 256 << 10
"""Unread body bytes the server reads and drops to keep a connection alive (Go's maxPostHandlerReadBytes)."""
_LINGER = 0.5
"""Seconds to keep reading after a final answer so the client sees it before a reset (Go's rstAvoidanceDelay)."""
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Closed(Exception):
    """The peer closed the connection or stopped sending: nothing more to answer."""


class WireError(Exception):
    """A request Go's server answers itself with a plain-text status, then closes the connection."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail

    def answer(self) -> bytes:
        """Return Go's plain error answer (``HTTP/1.1 400 Bad Request`` … ``400 Bad Request``)."""
        line = f"{self.status} {HTTPStatus(self.status).phrase}"
        body = self.detail or line
        head = f"HTTP/1.1 {line}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
        return f"{head}Content-Length: {len(body.encode())}\r\n\r\n{body}".encode()


class BodyError(Exception):
    """The body could not be read in full: too large, malformed chunks, or the client stalled."""


@dataclass(frozen=True)
class Head:
    """A request line and headers; ``length`` is None for a chunked body."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    length: int | None
    keep_alive: bool
    expect_continue: bool


class Wire:
    """One connection: read heads and bodies, write answers; every wait is bounded by ``limits``."""

    def __init__(self, sock: socket.socket, limits: HttpLimits) -> None:
        self.sock = sock
        self.limits = limits
        self._buf = bytearray()
        self.unread: int | None = 0
        """Body bytes of the current request not read yet; None when unknown (chunked)."""
        self.continue_pending = False

    def read_head(self, first: bool) -> Head | None:
        """Read the next request head; None when the client closed or went idle between requests."""
        try:
            if not first and not self._buf:
                self._fill(time.monotonic() + self.limits.idle_timeout)
            lines = self._head_lines(time.monotonic() + self.limits.read_timeout)
        except Closed:
            return None
        head = _parse_head(lines)
        self.unread = head.length
        self.continue_pending = head.expect_continue and head.length != 0
        return head

    def read_body(self) -> bytes:
        """Read the whole body of the current request; raise BodyError past the limit or on bad framing."""
        limit = self.limits.max_body_size
        if self.unread is not None and 0 < limit < self.unread:  # refused before a 100 Continue invites it
            raise BodyError("stream too large")
        if self.continue_pending:
            self.continue_pending = False
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if self.unread is None:
            return self._read_chunked(limit if limit > 0 else None)
        body = self._read_exact(self.unread)
        self.unread = 0
        return body

    def can_continue(self) -> bool:
        """Drop a small unread body so the connection can serve the next request; False when it must close."""
        if self.continue_pending:  # the client waits for 100 Continue and never sent the body
            return False
        if self.unread is not None and self.unread > DISCARD_LIMIT:
            return False
        try:
            self._read_chunked(DISCARD_LIMIT) if self.unread is None else self._read_exact(self.unread)
        except BodyError:
            return False
        self.unread = 0
        return True

    def send(self, data: bytes) -> None:
        """Write ``data``; a client that stops reading for the idle timeout gets the connection closed."""
        self.sock.settimeout(self.limits.idle_timeout)
        self.sock.sendall(data)

    def finish(self) -> None:
        """Half-close, then read and drop for a moment so the client reads the last answer before the close."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    break
        except OSError:
            pass

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Closed("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except OSError as exc:  # timeout, reset
            raise Closed(str(exc)) from exc
        if not data:
            raise Closed("end of stream")
        self._buf += data

    def _head_lines(self, deadline: float) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end < 0:
                if len(self._buf) > self.limits.max_head:
                    raise WireError(431)
                self._fill(deadline)
                continue
            line = bytes(self._buf[start:end]).rstrip(b"\r")
            start = end + 1
            if line:
                lines.append(line)
            elif lines:  # the blank line ending the head; blank lines before a request line are skipped
                break
            if start > self.limits.max_head:
                raise WireError(431)
        del self._buf[:start]
        return lines

    def _line(self, longest: int) -> bytes:
        while (end := self._buf.find(b"\n")) < 0:
            if len(self._buf) > longest:
                raise BodyError("malformed chunked encoding: line too long")
            self._fill_body()
        line = bytes(self._buf[:end]).rstrip(b"\r")
        del self._buf[: end + 1]
        return line

    def _fill_body(self) -> None:
        try:
            self._fill(time.monotonic() + self.limits.read_timeout)
        except Closed as exc:
            raise BodyError(f"unexpected end of body ({exc})") from exc

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill_body()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_chunked(self, limit: int | None) -> bytes:
        body = bytearray()
        while True:
            size_text = self._line(4096).split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise BodyError("malformed chunked encoding")
            size = int(size_text, 16)
            if size == 0:
                break
            if limit is not None and len(body) + size > limit:
                raise BodyError("stream too large")
            body += self._read_exact(size)
            if self._line(2):
                raise BodyError("malformed chunked encoding")
        trailer = 0
        while line := self._line(self.limits.max_head):  # trailers are read and dropped
            trailer += len(line)
            if trailer > self.limits.max_head:
                raise BodyError("trailer too large")
        self.unread = 0
        return bytes(body)


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """Return a status line and headers with Go's ``Date`` unless one is given; the caller adds Content-Length."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    date = [] if any(k.lower() == "date" for k, _ in headers) else [f"Date: {formatdate(usegmt=True)}"]
    lines = [f"HTTP/1.1 {status} {phrase}", *date, *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(lines: list[bytes]) -> Head:
    try:
        request_line, *header_lines = (line.decode("latin-1") for line in lines)
    except ValueError:
        raise WireError(400) from None
    parts = request_line.split(" ")
    if len(parts) != 3 or not _is_token(parts[0]) or not parts[1] or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise WireError(400)
    method, target, version = parts
    headers: dict[str, str] = {}
    lengths: list[str] = []
    encodings: list[str] = []
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not _is_token(name):
            raise WireError(400)
        value = value.strip(" \t")
        key = name.lower()
        if key == "content-length":
            lengths.append(value)
        elif key == "transfer-encoding":
            encodings.append(value)
        headers.setdefault(name, value)  # like Go's Header.Get, the first value wins
    length = _body_length(version, lengths, encodings)
    connection = {t.strip().lower() for t in _header(headers, "connection").split(",")}
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    expect = _header(headers, "expect").lower()
    if expect and expect != "100-continue":
        raise WireError(417)
    return Head(method, target, version, headers, length, keep_alive, bool(expect) and version == "HTTP/1.1")


def _body_length(version: str, lengths: list[str], encodings: list[str]) -> int | None:
    """Return the body length as Go's transfer.go decides it; None means chunked."""
    if encodings and version == "HTTP/1.1":  # Go ignores Transfer-Encoding on HTTP/1.0
        if len(encodings) != 1 or encodings[0].lower() != "chunked":
            raise WireError(501, "Unsupported transfer encoding")
        return None  # Content-Length is ignored next to chunked
    if not lengths:
        return 0
    if any(value != lengths[0] for value in lengths) or not lengths[0].isdigit() or not lengths[0].isascii():
        raise WireError(400)
    length = int(lengths[0])
    if length >= 1 << 63:
        raise WireError(400)
    return length


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _is_token(text: str) -> bool:
    return bool(text) and all(c in _TOKEN for c in text)
