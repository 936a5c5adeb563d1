"""The app channel's life in one sandbox: direct messaging, the registry entry, the start-up wait, health probes.

Rules: the sandbox registers once both listeners are bound (so its ports are known) and unregisters
first thing on stop; with an app port it then waits for the app as daprd does, probes its health
once (when health checks are on) and keeps probing in the background.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import ComponentError
from .channel import AppSettings, wait_for_app
from .direct import DirectMessaging, make_channel
from .nameres import Entry, Registry
from .proxy import ProxyHandler

log = logging.getLogger("dapr_nb.sandbox.appchannel")

_ANY_HOST = ("0.0.0.0", "::", "")  # noqa: S104 - names of the wildcard addresses, not a bind


class AppChannelService:
    """Own the app channel of one sandbox from start to stop."""

    def __init__(self, app_id: str, settings: AppSettings | None, nameres_dir: Path | None = None,
                 wait_timeout: float | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.wait_timeout = wait_timeout
        self.registry = Registry(nameres_dir)
        self.direct = DirectMessaging(app_id, make_channel(settings) if settings is not None else None, self.registry)

    def proxy(self, bracket: str) -> ProxyHandler:
        """Return the gRPC proxy handler; ``bracket`` is the app's address as a gRPC target host."""
        settings = self.settings
        app_grpc = None
        if settings is not None and settings.protocol == "grpc":
            app_grpc = (f"{bracket}:{settings.port}", settings.token)
        return ProxyHandler(self.direct, app_grpc)

    def register(self, host: str, http_port: int, grpc_port: int) -> None:
        """Enter this sandbox in the name-resolution registry, so other sandboxes can invoke its app."""
        host = "127.0.0.1" if host in _ANY_HOST else host
        entry = Entry(self.direct.app_id, os.getpid(), host, http_port, grpc_port, self.direct.secret)
        try:
            self.registry.register(entry)
        except OSError as exc:
            log.warning("cannot register app id %s in %s: %s; other sandboxes will not find it",
                        entry.app_id, self.registry.directory, exc)  # fmt: skip

    def wait_for_app(self) -> None:
        """Wait for the app's port as daprd does, then start the health probes; ComponentError after the timeout."""
        settings = self.settings
        if settings is None:
            return
        log.info("waiting for the app on %s:%d (%s)", settings.address, settings.port, settings.protocol)
        timeout = self.wait_timeout
        if not wait_for_app(settings, float("inf") if timeout is None else timeout):
            raise ComponentError(
                f"the app did not listen on {settings.address}:{settings.port} within {timeout:.0f}s "
                "(--app-port): start the app first, or check its port"
            )
        log.info("the app is listening on %s:%d", settings.address, settings.port)
        health = self.direct.health
        if health is not None:
            health.probe_once()  # daprd probes at once, so a healthy app is reachable when the sandbox is ready
            health.start()

    def unregister(self) -> None:
        """Remove this sandbox's registry entry."""
        self.registry.unregister()
