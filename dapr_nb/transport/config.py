"""Where the sidecar is and how to talk to it: endpoints, API token, deadlines, retries — from arguments, then env.

Rule: explicit arguments win over ``DAPR_*`` variables, which win over Dapr's defaults; the environment is
read when a client is made (never at import), and malformed endpoints fail loudly with ValueError.

gRPC endpoint grammar (``DAPR_GRPC_ENDPOINT`` or ``address=``): ``host:port``, ``[::1]:port``, a bare host
(port 443, as Dapr defines it), ``dns:host:port`` / ``dns://authority/host:port``, ``unix:/path``,
``unix:///path``, ``unix-abstract:name``, ``http://host[:port]`` (plaintext, default 80) and
``https://host[:port]`` (TLS, default 443); ``?tls=true|false`` selects TLS for the non-http forms.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from ..core.ops import RetryPolicy

DEFAULT_HOST = "127.0.0.1"
DEFAULT_GRPC_PORT = 50001
DEFAULT_HTTP_PORT = 3500
DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024


@dataclass(frozen=True)
class GrpcEndpoint:
    """A parsed gRPC endpoint: the ``target`` string grpcio dials, whether to use TLS, and how to show it."""

    target: str
    tls: bool = False
    display: str = ""

    def __str__(self) -> str:
        return self.display or self.target


@dataclass(frozen=True)
class HttpEndpoint:
    """A parsed HTTP API base: scheme, host and port."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """Return ``scheme://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __str__(self) -> str:
        return self.url


def _tls_flag(query: str, raw: str) -> bool:
    params = parse_qs(query, keep_blank_values=True)
    unknown = set(params) - {"tls"}
    if unknown:
        raise ValueError(f"unsupported query parameter(s) {sorted(unknown)} in gRPC endpoint {raw!r}")
    values = params.get("tls", ["false"])
    if values[-1].lower() not in ("true", "false"):
        raise ValueError(f"?tls must be true or false in gRPC endpoint {raw!r}")
    return values[-1].lower() == "true"


def _host_port(hostport: str, default_port: int, raw: str) -> str:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError(f"unbalanced '[' in endpoint {raw!r}")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    elif hostport.count(":") > 1:  # bare IPv6 without brackets
        host, port = f"[{hostport}]", ""
    else:
        host, _, port = hostport.partition(":")
    if not host:
        raise ValueError(f"missing host in endpoint {raw!r}")
    if port and not port.isdigit():
        raise ValueError(f"bad port {port!r} in endpoint {raw!r}")
    return f"{host}:{port or default_port}"


def parse_grpc_endpoint(raw: str) -> GrpcEndpoint:
    """Parse a Dapr gRPC endpoint string (see the module docstring)."""
    text = raw.strip()
    if not text:
        raise ValueError("empty gRPC endpoint")
    base, _, query = text.partition("?")
    lowered = base.lower()
    if lowered.startswith(("http://", "https://")):
        if query:
            raise ValueError(f"query parameters are not allowed on http(s) endpoints: {raw!r}")
        url = urlsplit(base)
        if url.path not in ("", "/"):
            raise ValueError(f"paths are not allowed in gRPC endpoints: {raw!r}")
        tls = url.scheme == "https"
        target = _host_port(url.netloc, 443 if tls else 80, raw)
        return GrpcEndpoint(target, tls, text)
    tls = _tls_flag(query, raw)
    if lowered.startswith(("unix:", "unix-abstract:", "vsock:")):
        return GrpcEndpoint(base, tls, text)
    if lowered.startswith("dns:"):
        rest = base[4:]
        authority = ""
        if rest.startswith("//"):
            authority, _, rest = rest[2:].partition("/")
        target = _host_port(rest, 443, raw)
        return GrpcEndpoint(f"dns://{authority}/{target}" if authority else f"dns:{target}", tls, text)
    if "/" in base:
        raise ValueError(f"paths are not allowed in gRPC endpoints: {raw!r}")
    return GrpcEndpoint(_host_port(base, 443, raw), tls, text)


def parse_http_endpoint(raw: str) -> HttpEndpoint:
    """Parse ``http(s)://host[:port]`` (a bare ``host:port`` means http)."""
    text = raw.strip()
    url = urlsplit(text if "://" in text else f"http://{text}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"bad HTTP endpoint {raw!r}: expected http(s)://host[:port]")
    if url.path not in ("", "/"):
        raise ValueError(f"paths are not allowed in the HTTP endpoint {raw!r}")
    return HttpEndpoint(url.scheme, url.hostname, url.port or (443 if url.scheme == "https" else 80))


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


@dataclass(frozen=True)
class Settings:
    """Everything a driver needs to reach a sidecar; build it with :meth:`resolve`."""

    grpc: GrpcEndpoint
    http: HttpEndpoint
    api_token: str = field(default="", repr=False)  # never shown in notebook output
    timeout: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    http_timeout: float = 60.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE

    @classmethod
    def resolve(
        cls,
        address: str | None = None,
        *,
        http_endpoint: str | None = None,
        api_token: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Combine arguments with DAPR_GRPC_ENDPOINT, DAPR_RUNTIME_HOST/DAPR_GRPC_PORT, DAPR_HTTP_*, token, limits."""
        env = os.environ if environ is None else environ
        host = _get(env, "DAPR_RUNTIME_HOST") or DEFAULT_HOST
        raw_grpc = address or _get(env, "DAPR_GRPC_ENDPOINT")
        if raw_grpc:
            grpc_endpoint = parse_grpc_endpoint(raw_grpc)
        else:
            port = _get(env, "DAPR_GRPC_PORT") or str(DEFAULT_GRPC_PORT)
            grpc_endpoint = GrpcEndpoint(_host_port(f"{host}:{port}", DEFAULT_GRPC_PORT, port))
        raw_http = http_endpoint or _get(env, "DAPR_HTTP_ENDPOINT")
        if raw_http:
            http = parse_http_endpoint(raw_http)
        else:
            http = HttpEndpoint("http", host, int(_get(env, "DAPR_HTTP_PORT") or DEFAULT_HTTP_PORT))
        env_timeout = _get(env, "DAPR_API_TIMEOUT_SECONDS")
        if timeout is None and env_timeout and float(env_timeout) > 0:
            timeout = float(env_timeout)
        max_message = int(_get(env, "DAPR_GRPC_MAX_INBOUND_MESSAGE_SIZE_BYTES") or 0) or DEFAULT_MAX_MESSAGE
        return cls(
            grpc=grpc_endpoint,
            http=http,
            api_token=_get(env, "DAPR_API_TOKEN") if api_token is None else api_token,
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy.from_env(env),
            http_timeout=float(_get(env, "DAPR_HTTP_TIMEOUT_SECONDS") or 60),
            max_message_bytes=max_message,
        )

    @property
    def token_metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the call metadata carrying ``dapr-api-token`` (empty without a token)."""
        return (("dapr-api-token", self.api_token),) if self.api_token else ()
