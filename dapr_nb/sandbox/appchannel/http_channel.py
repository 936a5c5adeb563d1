"""The HTTP app channel: ``VERB http://<address>:<port>/<method>?<query>`` as daprd builds it.

Rules (dapr/dapr ``pkg/channel/http/http_channel.go``): the caller's headers pass through
:func:`.headers.to_http`; ``content-type`` is the request's (``application/x-protobuf`` when the
data has a type URL), ``traceparent`` the new span's, ``dapr-api-token`` the app token when set.
The app's status, headers (without hop-by-hop ones and ``Content-Length``) and body come back as
they are. A request without an HTTP verb is daprd's ``missing HTTP extension field``.
"""

from __future__ import annotations

import http.client

from . import headers as headers_mod
from .channel import AppSettings, ChannelError, clean_method
from .messages import InvokeRequest, InvokeResult
from .pool import ConnectionPool

TIMEOUT = 60.0
"""Seconds to wait for the app's answer (daprd has no channel timeout; resiliency policies add one)."""
PROTOBUF = "application/x-protobuf"


class HttpChannel:
    """Call an HTTP app over pooled keep-alive connections."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._pool = ConnectionPool(settings.address, settings.port, TIMEOUT)

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        """Send ``request`` to the app and return its answer; ChannelError when it cannot be reached."""
        if not request.verb:
            raise ChannelError("missing HTTP extension field", "InvalidArgument")
        if request.verb in ("CONNECT", "NONE"):
            raise ChannelError("invalid HTTP verb", "InvalidArgument")
        target = "/" + clean_method(request.method).lstrip("/")
        if request.query:
            target += "?" + request.query
        base = f"http://{self.settings.address}:{self.settings.port}"
        headers = self._headers(request)
        if request.data or request.verb in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(request.data))))
        try:
            answer = self._pool.request(request.verb, target, headers, request.data)
        except ConnectionRefusedError as exc:
            where = f"dial tcp {self.settings.address}:{self.settings.port}: connect: connection refused"
            raise ChannelError(f'{request.verb.title()} "{base}{target}": {where}') from exc
        except OSError as exc:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ChannelError(f'{request.verb.title()} "{base}{target}": {why.lower()}') from exc
        except http.client.HTTPException as exc:
            raise ChannelError(f'{request.verb.title()} "{base}{target}": {exc or type(exc).__name__}') from exc
        nominated = {t.strip().lower() for k, v in answer.headers if k.lower() == "connection" for t in v.split(",")}
        kept = tuple(
            (k, v)
            for k, v in answer.headers
            if k.lower() not in headers_mod.HOP_BY_HOP and k.lower() not in nominated and k.lower() != "content-length"
        )
        content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), "")
        return InvokeResult(status=answer.status, http=True, headers=kept, content_type=content_type,
                            data=answer.body, traceparent=request.traceparent)  # fmt: skip

    def probe(self, path: str, timeout: float) -> bool:
        """Return whether ``GET path`` answers 2xx within ``timeout`` seconds (OSError when the app is not there)."""
        conn = http.client.HTTPConnection(self.settings.address, self.settings.port, timeout=timeout)
        try:
            headers = {"Dapr-Api-Token": self.settings.token} if self.settings.token else {}
            conn.request("GET", "/" + path.lstrip("/"), headers=headers)
            response = conn.getresponse()
            response.read()
            return 200 <= response.status < 300
        finally:
            conn.close()

    def _headers(self, request: InvokeRequest) -> list[tuple[str, str]]:
        out = list(headers_mod.to_http(request.headers))
        content_type = PROTOBUF if request.type_url else request.content_type
        if content_type:
            out.append(("Content-Type", content_type))
        if request.traceparent:
            out.append(("Traceparent", request.traceparent))
        if self.settings.token:
            out = [(k, v) for k, v in out if k.lower() != "dapr-api-token"]
            out.append(("Dapr-Api-Token", self.settings.token))
        return out

    def close(self) -> None:
        """Close the idle keep-alive connections to the app."""
        self._pool.close()
