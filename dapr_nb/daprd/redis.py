"""A few Redis commands over a plain socket, for the Redis server that backs daprd's lock and configuration stores.

Rule: only what dapr_nb and its tests need (``SET``/``DEL`` of configuration items, ``PING``, ``PUBSUB``);
replies are parsed for the simple, error, integer, bulk-string and array types Redis answers those with.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

RedisReply = bytes | int | list["RedisReply"] | None


class RedisError(RuntimeError):
    """Redis answered a command with an error reply."""


def _encode(args: tuple[str, ...]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _read_reply(reader: socket.SocketIO) -> RedisReply:
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:size]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(reader) for _ in range(count)]
    raise RedisError(f"unexpected Redis reply {line[:40]!r}")


def redis_command(address: str, *args: str, timeout: float = 5.0) -> RedisReply:
    """Send one command to the Redis server at ``host:port`` and return its reply."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(_encode(args))
        with conn.makefile("rb") as reader:
            return _read_reply(reader)  # type: ignore[arg-type]


def set_configuration_items(address: str, items: Mapping[str, str | None]) -> None:
    """Set (or, for ``None``, delete) configuration items the way ``configuration.redis`` reads them."""
    for key, value in items.items():
        if value is None:
            redis_command(address, "DEL", key)
        else:
            redis_command(address, "SET", key, value)
