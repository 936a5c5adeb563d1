"""One invocation as daprd carries it between its API, its app channel and other sidecars.

Rules (dapr/dapr ``pkg/messaging/v1``): a request is a method, an HTTP verb and query string (the
``http_extension``), a content type, the data and the caller's headers or gRPC metadata kept as
they came (``from_grpc`` says which); a result is either an HTTP answer (``http=True``, ``status``
is the HTTP status) or a gRPC one (``status`` is the gRPC code, ``message``/``details`` its
status). Both travel between sandboxes as JSON with base64 data.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, replace
from typing import Any

Pairs = tuple[tuple[str, str], ...]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class InvokeRequest:
    """A method invocation on an app, from either API surface."""

    method: str
    verb: str = "POST"
    """The HTTP verb (``""`` when a gRPC caller gave no ``http_extension``)."""
    query: str = ""
    content_type: str = ""
    data: bytes = b""
    type_url: str = ""
    headers: Pairs = ()
    from_grpc: bool = False
    traceparent: str = ""
    """The span context the app sees (a child of the caller's), set by the sidecar that calls the app."""

    def header(self, name: str) -> str:
        """Return the first header named ``name`` (case-insensitive), ``""`` when absent."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), "")

    def with_headers(self, extra: Pairs) -> InvokeRequest:
        """Return a copy with ``extra`` headers appended."""
        return replace(self, headers=(*self.headers, *extra))

    def to_json(self) -> dict[str, Any]:
        """Encode for the hop to another sandbox."""
        return {
            "method": self.method, "verb": self.verb, "query": self.query, "contentType": self.content_type,
            "data": base64.b64encode(self.data).decode(), "typeUrl": self.type_url,
            "headers": [list(p) for p in self.headers], "fromGrpc": self.from_grpc, "traceparent": self.traceparent,
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InvokeRequest:
        """Decode what :meth:`to_json` encoded; KeyError/ValueError/TypeError on a malformed body."""
        return cls(
            method=str(raw["method"]), verb=str(raw["verb"]), query=str(raw["query"]),
            content_type=str(raw["contentType"]), data=base64.b64decode(raw["data"]), type_url=str(raw["typeUrl"]),
            headers=tuple((str(k), str(v)) for k, v in raw["headers"]), from_grpc=bool(raw["fromGrpc"]),
            traceparent=str(raw.get("traceparent", "")),
        )  # fmt: skip


@dataclass(frozen=True)
class InvokeResult:
    """What the app answered: an HTTP response, or a gRPC response or status."""

    status: int
    http: bool
    headers: Pairs = ()
    content_type: str = ""
    data: bytes = b""
    type_url: str = ""
    message: str = ""
    details: tuple[bytes, ...] = ()
    """Serialized ``google.protobuf.Any`` details of a gRPC status."""
    trailers: Pairs = ()
    traceparent: str = ""
    """The span context the app was called with (daprd answers it to an HTTP caller)."""

    @property
    def ok(self) -> bool:
        """Return True for a 2xx HTTP status or gRPC OK."""
        return 200 <= self.status < 300 if self.http else self.status == 0

    def to_json(self) -> dict[str, Any]:
        """Encode for the hop back to the calling sandbox."""
        return {
            "status": self.status, "http": self.http, "headers": [list(p) for p in self.headers],
            "contentType": self.content_type, "data": base64.b64encode(self.data).decode(), "typeUrl": self.type_url,
            "message": self.message, "details": [base64.b64encode(d).decode() for d in self.details],
            "trailers": [list(p) for p in self.trailers], "traceparent": self.traceparent,
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InvokeResult:
        """Decode what :meth:`to_json` encoded; KeyError/ValueError/TypeError on a malformed body."""
        return cls(
            status=int(raw["status"]), http=bool(raw["http"]), headers=_pairs(raw["headers"]),
            content_type=str(raw["contentType"]), data=base64.b64decode(raw["data"]), type_url=str(raw["typeUrl"]),
            message=str(raw["message"]), details=tuple(base64.b64decode(d) for d in raw["details"]),
            trailers=_pairs(raw["trailers"]), traceparent=str(raw.get("traceparent", "")),
        )  # fmt: skip


def _pairs(raw: Any) -> Pairs:
    return tuple((str(k), str(v)) for k, v in raw)


def child_traceparent(parent: str) -> str:
    """Return a W3C ``traceparent`` for a new span: a child of ``parent`` when it is valid, else a new trace.

    daprd samples every span with the default configuration, so the flags are ``01``.
    """
    found = _TRACEPARENT.match(parent.strip().lower())
    trace_id = found.group(1) if found and found.group(1) != "0" * 32 else os.urandom(16).hex()
    return f"00-{trace_id}-{os.urandom(8).hex()}-01"
