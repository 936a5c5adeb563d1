"""Service invocation over the sidecar's HTTP API (``/v1.0/invoke/<app>/method/<path>``): any verb.

Rule: the request is plain HTTP — verb, query, headers, content type — and the answer keeps the app's
status; a status ≥ 400 raises DaprError (daprd's ``errorCode`` as ``reason`` when it sent one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .errors import from_http
from .ops import HttpCall, HttpReply, Op
from .results import InvokeResult
from .values import decode, encode


def invoke_method(
    app_id: str,
    method: str,
    data: Any = None,
    *,
    verb: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = None,
    timeout: float | None = None,
) -> Op[InvokeResult]:
    """Call ``method`` on app ``app_id``; the verb defaults to GET without data and POST with data."""
    body = b"" if data is None else encode(data)[0]
    sent_headers = dict(headers or {})
    if data is not None:
        sent_headers.setdefault("Content-Type", content_type or encode(data)[1])
    path = f"/v1.0/invoke/{quote(app_id, safe='')}/method/{method.lstrip('/')}"
    call = HttpCall(
        method=(verb or ("POST" if data is not None else "GET")).upper(),
        path=path,
        query=tuple((str(k), str(v)) for k, v in (query or {}).items()),
        headers=tuple(sent_headers.items()),
        body=body,
        timeout=timeout,
    )
    reply: HttpReply = yield call
    if reply.status >= 400:
        raise from_http(reply.status, reply.body, operation=f"invoke {app_id}/{method}")
    ctype = reply.headers.get("content-type", "")
    value = decode(reply.body, ctype) if reply.body else None
    return InvokeResult(reply.status, value, reply.body, ctype, dict(reply.headers))
