"""Keep-alive HTTP/1.1 connections to one host, reused across calls like Go's ``http.Transport``.

Rules: a connection goes back to the pool only after its response was read in full and did not ask to
close; at most ``max_idle`` idle connections are kept. A call on a reused connection that fails before
any response byte arrives (the peer had closed it while idle) is sent once more on a new connection,
as Go's transport retries such requests; a new connection's failure is the caller's error.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)


@dataclass(frozen=True)
class Answer:
    """A response read in full."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ConnectionPool:
    """Idle keep-alive connections to ``host:port``."""

    def __init__(self, host: str, port: int, timeout: float, max_idle: int = 32) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def request(self, verb: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        """Send one request and read its response; OSError/HTTPException when it cannot be done."""
        conn, reused = self._take()
        try:
            answer = self._send(conn, verb, target, headers, body)
        except _STALE:
            conn.close()
            if not reused:
                raise
            conn = self._new()
            answer = self._send(conn, verb, target, headers, body)
        except BaseException:
            conn.close()
            raise
        if any(k.lower() == "connection" and "close" in v.lower() for k, v in answer.headers):
            conn.close()
        else:
            self._give(conn)
        return answer

    def _send(self, conn: http.client.HTTPConnection, verb: str, target: str, headers: list[tuple[str, str]],
              body: bytes) -> Answer:  # fmt: skip
        conn.putrequest(verb, target, skip_accept_encoding=True)
        for key, value in headers:
            conn.putheader(key, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        if response.will_close:
            conn.close()
        return Answer(response.status, response.getheaders(), data)

    def _new(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new(), False

    def _give(self, conn: http.client.HTTPConnection) -> None:
        if conn.sock is None:  # closed by will_close
            return
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
