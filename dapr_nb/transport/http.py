"""The sidecar's HTTP API over the standard library (``http.client``): one request, one answer.

Rule: this is the only HTTP code. The sync driver calls it directly; the aio driver runs it in a worker
thread (``asyncio.to_thread``) — service invocation is not latency-critical, and one implementation keeps
both clients identical. Every request carries ``dapr-api-token`` when one is configured; a refused
connection becomes SidecarUnavailable naming the endpoint.
"""

from __future__ import annotations

import http.client
import ssl
from urllib.parse import quote, urlencode

from ..core.errors import unreachable
from ..core.ops import HttpCall, HttpReply
from ..errors import DeadlineExceeded
from .config import HttpEndpoint, Settings


def _connection(endpoint: HttpEndpoint, timeout: float) -> http.client.HTTPConnection:
    if endpoint.scheme == "https":
        return http.client.HTTPSConnection(
            endpoint.host, endpoint.port, timeout=timeout, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)


def request(settings: Settings, call: HttpCall) -> HttpReply:
    """Send ``call`` to the sidecar's HTTP API and return its status, headers and body."""
    timeout = call.timeout if call.timeout is not None else settings.http_timeout
    target = quote(call.path, safe="/%:@!$&'()*+,;=-._~")
    if call.query:
        target += "?" + urlencode(list(call.query))
    headers = dict(call.headers)
    if settings.api_token:
        headers["dapr-api-token"] = settings.api_token
    conn = _connection(settings.http, timeout)
    try:
        conn.request(call.method.upper(), target, body=call.body or None, headers=headers)
        response = conn.getresponse()
        body = response.read()
        reply_headers = {k.lower(): v for k, v in response.getheaders()}
        return HttpReply(response.status, reply_headers, body)
    except TimeoutError:
        message = f"no answer from {settings.http} within {timeout}s"
        raise DeadlineExceeded(message, code="DEADLINE_EXCEEDED", operation=f"HTTP {call.method} {call.path}") from None
    except OSError as error:
        raise unreachable(str(settings.http), str(error), operation=f"HTTP {call.method} {call.path}") from None
    finally:
        conn.close()
