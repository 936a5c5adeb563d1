"""The app channel's common surface: settings, errors, start-up wait and Go's path cleaning.

Rules (dapr/dapr ``pkg/runtime/runtime.go``, ``pkg/channel``): daprd waits for the app's port
before it serves the app channel and logs while it waits; the app is called on
``--app-channel-address`` (127.0.0.1 by default). Failures of the call itself are
:class:`ChannelError` with the text daprd puts after ``err:``.
"""

from __future__ import annotations

import logging
import posixpath
import socket
import time
from dataclasses import dataclass
from typing import Protocol

from .health import HealthSettings
from .messages import InvokeRequest, InvokeResult

log = logging.getLogger("dapr_nb.sandbox.appchannel")

PROTOCOLS = ("http", "grpc")


class ChannelError(Exception):
    """The app could not be called; the message is what daprd reports after ``err:``."""

    def __init__(self, message: str, grpc_code: str = "") -> None:
        super().__init__(message)
        self.grpc_code = grpc_code
        """The gRPC code name when daprd reports this as a status (``InvalidArgument`` …)."""

    @property
    def reason(self) -> str:
        """Return the text as Go prints the error (``rpc error: code = … desc = …`` for a status)."""
        text = str(self)
        return f"rpc error: code = {self.grpc_code} desc = {text}" if self.grpc_code else text


@dataclass(frozen=True)
class AppSettings:
    """``--app-port``, ``--app-protocol``, ``--app-channel-address`` and the app's own API token."""

    port: int
    protocol: str = "http"
    address: str = "127.0.0.1"
    token: str = ""
    """``APP_API_TOKEN``: sent to the app as ``dapr-api-token``."""
    max_concurrency: int = -1
    """``--app-max-concurrency``: calls into the app at once (more wait for a slot); -1 for no limit."""
    health: HealthSettings | None = None
    """``--enable-app-health-check`` and its settings (None: no health checks, the app counts as healthy)."""

    def metadata(self) -> dict[str, object]:
        """Return daprd's ``appConnectionProperties`` (without health checks: the sandbox has none yet)."""
        props: dict[str, object] = {"port": self.port, "protocol": self.protocol, "channelAddress": self.address}
        if self.max_concurrency > 0:
            props["maxConcurrency"] = self.max_concurrency
        if self.health is not None:
            props["health"] = self.health.metadata(self.protocol)
        return props


class AppChannel(Protocol):
    """A channel into the app: HTTP or gRPC."""

    settings: AppSettings

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        """Call the app; raise ChannelError when it cannot be reached."""

    def probe(self, path: str, timeout: float) -> bool:
        """Return whether the app answers its health check (``path`` for HTTP apps) within ``timeout`` seconds."""

    def close(self) -> None:
        """Release connections."""


def port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    """Return True when a TCP connection to ``address:port`` succeeds."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_app(settings: AppSettings, timeout: float, interval: float = 0.05) -> bool:
    """Wait until the app's port accepts connections, logging every few seconds as daprd does."""
    deadline = time.monotonic() + timeout
    last_log = time.monotonic()
    while not port_open(settings.address, settings.port):
        now = time.monotonic()
        if now >= deadline:
            return False
        if now - last_log >= 2.0:
            log.warning("waiting for the app on port %d (%s)", settings.port, settings.address)
            last_log = now
        time.sleep(interval)
    return True


def clean_method(method: str) -> str:
    """Return the method as daprd normalizes it (Go's ``path.Clean``; ``.``, leading ``../`` and ``..`` dropped).

    Raise ChannelError (InvalidArgument) for ``#``, ``?``, NUL or control characters, as daprd does.
    """
    if any(c in method for c in "#?\x00") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in method):
        raise ChannelError(f"invalid method: method contains forbidden character: {method!r}", "InvalidArgument")
    cleaned = go_clean(method)
    while cleaned.startswith("../"):
        cleaned = cleaned[3:]
    return "" if cleaned in ("..", ".") else cleaned


def go_clean(path: str) -> str:
    """Return Go's ``path.Clean(path)``."""
    if path.startswith("/"):
        return "/" + posixpath.normpath(path).lstrip("/")
    return posixpath.normpath(path) if path else "."
