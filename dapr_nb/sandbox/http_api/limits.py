"""The HTTP server's limits, with daprd's defaults, and daprd's size syntax (Kubernetes resource quantities).

Rules (dapr/dapr ``cmd/daprd/options/options.go``, ``pkg/api/http/server.go``): ``--max-body-size``
(default ``4Mi``; zero or less means no limit) and ``--read-buffer-size`` (default ``4Ki``, the header
limit; Go adds 4 KiB of slack) take quantities such as ``16Mi``, ``4M`` or ``1e6``; headers must arrive
within Go's ``ReadHeaderTimeout`` (10 s in daprd). Go serves any number of connections on goroutines
and lets idle keep-alives and stalled bodies wait forever; the sandbox holds a thread per connection,
so it bounds them: a stalled body read or idle connection is closed after a timeout, and connections
beyond ``max_connections`` get 503 at once.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, fields
from decimal import Decimal

from ..durations import metadata_seconds

MIB = 1 << 20
KIB = 1 << 10

_SUFFIXES = {
    "": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|([A-Za-z]*))$")


@dataclass(frozen=True)
class HttpLimits:
    """What one HTTP connection may cost; every default is daprd's where daprd has one."""

    max_body_size: int = 4 * MIB
    """Largest request body in bytes (``--max-body-size``); 0 or less: no limit."""
    read_buffer_size: int = 4 * KIB
    """Largest request head in bytes, plus Go's 4 KiB slack (``--read-buffer-size``)."""
    read_timeout: float = 10.0
    """Seconds for a whole request head, and for each wait on body bytes (``--http-read-timeout``)."""
    idle_timeout: float = 120.0
    """Seconds an idle keep-alive connection, or a stalled response write, may hold its thread."""
    max_connections: int = 512
    """Open connections served at once (``--http-max-connections``); more are answered 503 and closed."""

    @property
    def max_head(self) -> int:
        """Return the most bytes a request line plus headers may take (Go's MaxHeaderBytes + 4096)."""
        return self.read_buffer_size + 4096

    def arguments(self) -> list[str]:
        """Return the ``dapr-nb sandbox`` flags that reproduce these limits (for a child process)."""
        return [
            "--max-body-size", str(self.max_body_size),
            "--read-buffer-size", str(self.read_buffer_size),
            "--http-read-timeout", f"{self.read_timeout}s",
            "--http-idle-timeout", f"{self.idle_timeout}s",
            "--http-max-connections", str(self.max_connections),
        ]  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the HTTP limit flags: daprd's names where daprd has the setting, ``--http-…`` for the sandbox's own."""
    group = parser.add_argument_group("HTTP limits")
    group.add_argument("--max-body-size", type=_size, help="largest request body (default 4Mi; 0: none)")
    group.add_argument("--dapr-http-max-request-size", type=int, help=argparse.SUPPRESS)  # daprd's older flag, MB
    group.add_argument("--read-buffer-size", type=_positive_size, help="largest request head (default 4Ki)")
    group.add_argument("--dapr-http-read-buffer-size", type=int, help=argparse.SUPPRESS)  # daprd's older flag, KB
    group.add_argument("--http-read-timeout", type=_seconds, help="for a request head, and each body read (10s)")
    group.add_argument("--http-idle-timeout", type=_seconds, help="an idle keep-alive connection closes (120s)")
    group.add_argument("--http-max-connections", type=_count, help="more are answered 503 (default 512)")


def from_arguments(args: argparse.Namespace) -> HttpLimits:
    """Build the limits from parsed flags; daprd's new size flags win over its older MB/KB ones."""
    body = args.max_body_size
    if body is None and args.dapr_http_max_request_size is not None:
        body = args.dapr_http_max_request_size << 20 if args.dapr_http_max_request_size > 0 else 0
    head = args.read_buffer_size
    if head is None and args.dapr_http_read_buffer_size is not None:
        head = args.dapr_http_read_buffer_size << 10
    given = {
        "max_body_size": body,
        "read_buffer_size": head,
        "read_timeout": args.http_read_timeout,
        "idle_timeout": args.http_idle_timeout,
        "max_connections": args.http_max_connections,
    }
    return HttpLimits(**{f.name: given[f.name] for f in fields(HttpLimits) if given[f.name] is not None})


def _size(text: str) -> int:
    try:
        return parse_quantity(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_size(text: str) -> int:
    size = _size(text)
    if size <= 0:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: must be positive, e.g. 4Ki")
    return size


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: use a whole number of at least 1")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = metadata_seconds(text)
    except ValueError:
        seconds = None
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: use a positive duration such as 10s, 2m or 30")
    return seconds


def parse_quantity(text: str) -> int:
    """Parse a daprd size such as ``4Mi``, ``16M``, ``1e6`` or ``4096`` into bytes; raise ValueError otherwise."""
    found = _QUANTITY.match(text.strip())
    if not found or (found[3] is not None and found[3] not in _SUFFIXES):
        raise ValueError(f"invalid size {text!r}: use a number with an optional suffix, e.g. 4Mi, 512Ki, 16M, 1e6")
    exponent, suffix = found[2], found[3] or ""
    try:
        number = Decimal(found[1]) * (Decimal(10) ** int(exponent[1:]) if exponent else _SUFFIXES[suffix])
    except (ArithmeticError, ValueError) as exc:
        raise ValueError(f"invalid size {text!r}") from exc
    if number != number.to_integral_value():
        raise ValueError(f"invalid size {text!r}: not a whole number of bytes")
    return int(number)
