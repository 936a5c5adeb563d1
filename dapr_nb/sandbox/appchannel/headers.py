"""daprd's header and metadata translation between HTTP callers, gRPC callers and apps.

Rules (dapr/dapr ``pkg/messaging/v1/util.go``): trace headers, ``destination-app-id``, hop-by-hop
headers (and those a ``Connection`` header names), ``content-type`` and ``content-length`` never
pass as such; towards HTTP, ``grpc-*`` and ``:authority``-style keys get a ``dapr-`` prefix and
``-bin`` keys are dropped; towards gRPC, keys are lower-cased and HTTP's "permanent" headers
(``Accept``, ``Content-Type``, ``Date`` …) get a ``dapr-`` prefix.
"""

from __future__ import annotations

from .messages import Pairs

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "te",
    "trailer", "proxy-authorization", "proxy-authenticate",
})  # fmt: skip
PERMANENT = frozenset({
    "accept", "accept-charset", "accept-language", "accept-ranges", "connection", "keep-alive", "proxy-connection",
    "transfer-encoding", "upgrade", "cache-control", "content-type", "content-length", "cookie", "date", "expect",
    "from", "host", "if-match", "if-modified-since", "if-none-match", "if-schedule-tag-match", "if-unmodified-since",
    "max-forwards", "origin", "pragma", "referer", "via", "warning",
})  # fmt: skip
_TRACE = frozenset({"traceparent", "tracestate", "grpc-trace-bin", "destination-app-id"})
_GRPC_RESERVED = frozenset({":method", ":scheme", ":path", ":authority"})
_NOT_TO_GRPC = frozenset({"content-type", "user-agent", "te", "host"})
"""Metadata grpcio sets itself on an outgoing call."""


def canonical(key: str) -> str:
    """Return Go's canonical form of an HTTP header name (``x-my-header`` → ``X-My-Header``)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


def _nominated(pairs: Pairs) -> set[str]:
    """Return the header names a ``Connection`` header nominates as hop-by-hop."""
    return {t.strip().lower() for k, v in pairs if k.lower() == "connection" for t in v.split(",") if t.strip()}


def to_http(pairs: Pairs) -> Pairs:
    """Translate headers or metadata into the HTTP headers daprd sets (on a call to an app, or an answer)."""
    nominated = _nominated(pairs)
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        low = key.lower()
        if low in _TRACE or low.endswith("-bin") or low in ("content-type", "content-length", "host"):
            continue
        if low in HOP_BY_HOP or low in nominated:
            continue
        if low in _GRPC_RESERVED or low.startswith("grpc-"):
            low = "dapr-" + low.lstrip(":")
        out.append((canonical(low), value))
    return tuple(out)


def to_grpc(pairs: Pairs, from_http: bool) -> Pairs:
    """Translate headers or metadata into the gRPC metadata daprd sends (to an app, or to a gRPC caller)."""
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        low = key.lower()
        if low in _TRACE or (low in HOP_BY_HOP and not from_http):
            continue
        if from_http and low in PERMANENT:
            if low in ("host", "connection", "transfer-encoding"):
                continue
            low = "dapr-" + low
        elif low in _NOT_TO_GRPC or low.startswith((":", "grpc-")):
            continue
        out.append((low, value))
    return tuple(out)
