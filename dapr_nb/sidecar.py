"""The address surface every sidecar runner shares (the sandbox's ``Sandbox``, real daprd's ``Daprd``).

Rule: a runner sets ``grpc_port``/``http_port`` once it listens and overrides ``host``/``api_token`` when they
are not the defaults; everything a client needs to find it is derived here, so both runners answer alike.
"""

from __future__ import annotations


def bracket(host: str) -> str:
    """Return ``host`` as it goes before ``:port`` (an IPv6 literal in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class SidecarEndpoints:
    """Mixin: ``grpc_endpoint``, ``http_endpoint`` and ``env()`` from ``host``, ``grpc_port`` and ``http_port``."""

    grpc_port: int = 0
    http_port: int = 0
    app_id: str = ""

    @property
    def host(self) -> str:
        """Return the host the listeners are bound to."""
        return "127.0.0.1"

    @property
    def api_token(self) -> str:
        """Return the API token the sidecar requires ("" for none)."""
        return ""

    @property
    def grpc_endpoint(self) -> str:
        """Return ``host:port`` of the gRPC API."""
        return f"{bracket(self.host)}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Return ``http://host:port`` of the HTTP API."""
        return f"http://{bracket(self.host)}:{self.http_port}"

    def env(self) -> dict[str, str]:
        """Return the DAPR_* variables that point the official SDK and dapr_nb's client at this sidecar."""
        env = {
            "DAPR_RUNTIME_HOST": self.host,
            "DAPR_GRPC_PORT": str(self.grpc_port),
            "DAPR_HTTP_PORT": str(self.http_port),
            "DAPR_GRPC_ENDPOINT": self.grpc_endpoint,
            "DAPR_HTTP_ENDPOINT": self.http_endpoint,
        }
        if self.api_token:
            env["DAPR_API_TOKEN"] = self.api_token
        return env
