"""The kernel's connection: which sidecar ``%dapr`` talks to, the client for it, and a kernel-owned sandbox.

Rule: the endpoint is, in order, what ``%dapr connect`` chose, ``%config Dapr.endpoint``, then the DAPR_*
variables — re-read on every command, so a client follows the environment until ``connect`` pins it.
A sandbox started here runs in a child process, exports its DAPR_* variables (so the official SDK and the
workflow runtime in this kernel follow it) and is stopped at kernel exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError

from ..transport.config import Settings

if TYPE_CHECKING:
    from ..client import Client
    from ..sandbox import Sandbox

log = logging.getLogger("dapr_nb")

DAPR_VARS = (
    "DAPR_RUNTIME_HOST",
    "DAPR_GRPC_PORT",
    "DAPR_HTTP_PORT",
    "DAPR_GRPC_ENDPOINT",
    "DAPR_HTTP_ENDPOINT",
    "DAPR_API_TOKEN",
)


@dataclass(frozen=True)
class Options:
    """A snapshot of the ``%config Dapr.*`` settings a command runs with."""

    endpoint: str = ""
    http_endpoint: str = ""
    token_env: str = ""
    timeout: float = 10.0
    wait_timeout: float = 60.0
    max_rows: int = 50
    reveal: bool = False


class Closable(Protocol):
    """A live widget: ``stop()`` ends its updates and releases its client, ``close()`` also removes it."""

    @property
    def active(self) -> bool:
        """Return whether it still updates."""

    def stop(self) -> None:
        """Stop updating and release resources; the picture stays."""

    def close(self) -> None:
        """Stop and remove the widget."""


class Session:
    """The connection ``%dapr`` uses: endpoint choice, a cached sync client, live views and an own sandbox."""

    def __init__(self) -> None:
        self.endpoint: str | None = None
        self.http_endpoint: str | None = None
        self.token_env: str | None = None
        self.owner = f"notebook-{uuid.uuid4().hex[:8]}"
        self.sandbox: Sandbox | None = None
        self._saved_env: dict[str, str | None] = {}
        self._client: Client | None = None
        self._views: list[Closable] = []
        self._atexit = False

    def connection(self, options: Options) -> dict[str, Any]:
        """Return the Client arguments for this command (UsageError when the token variable is unset)."""
        token_env = self.token_env or options.token_env
        token: str | None = None
        if token_env:
            token = os.environ.get(token_env)
            if token is None:
                raise UsageError(f"environment variable {token_env} is not set (it should hold the API token)")
        return {
            "address": self.endpoint or options.endpoint or None,
            "http_endpoint": self.http_endpoint or options.http_endpoint or None,
            "api_token": token,
            "timeout": options.timeout if options.timeout > 0 else None,
        }

    def client(self, options: Options) -> Client:
        """Return the sync client for the current settings, replacing the cached one when they changed."""
        from ..client import Client

        arguments = self.connection(options)
        try:
            settings = Settings.resolve(**arguments)
            if self._client is not None and self._client.settings == settings:
                return self._client
            client = Client(**arguments)
        except ValueError as error:
            raise UsageError(f"bad endpoint: {error}") from None
        self.close_client()
        self._client = client
        return client

    def close_client(self) -> None:
        """Close the cached client (a new one is made on the next command)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def track(self, view: Closable) -> None:
        """Remember a live widget so that unloading the extension closes it; finished ones are stopped and forgotten.

        Stopping a finished widget (a completed timeline, a stream done after ``--max``) only releases its
        client; its picture stays in the notebook.
        """
        finished = [v for v in self._views if not v.active]
        self._views = [v for v in self._views if v.active]
        for old in finished:
            try:
                old.stop()
            except Exception:  # noqa: BLE001 - one widget's failure must not fail the new command
                log.debug("dapr_nb: stopping %r failed", old, exc_info=True)
        self._views.append(view)

    def settings(self, options: Options) -> Settings:
        """Return the connection settings of this command, for a widget that makes its own client."""
        return self.client(options).settings

    def start_sandbox(self, **kwargs: Any) -> Sandbox:
        """Start a sandbox in a child process, export its DAPR_* variables and follow it."""
        from ..sandbox import Sandbox

        if self.sandbox is not None:
            return self.sandbox
        sandbox = Sandbox(**kwargs).start()
        self._saved_env = {name: os.environ.get(name) for name in DAPR_VARS}
        for name in DAPR_VARS:
            os.environ.pop(name, None)
        os.environ.update(sandbox.env())
        self.sandbox = sandbox
        self.endpoint = self.http_endpoint = self.token_env = None
        self._stop_workflow_runtime()
        if not self._atexit:
            atexit.register(self.close)
            self._atexit = True
        return sandbox

    def stop_sandbox(self) -> bool:
        """Stop the kernel's sandbox and restore the DAPR_* variables; False when none was running."""
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is None:
            return False
        self._stop_workflow_runtime()
        self.close_client()
        sandbox.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        return True

    @staticmethod
    def _stop_workflow_runtime() -> None:
        import sys

        module = sys.modules.get("dapr_nb.workflows")
        host = getattr(module, "default_host", None)
        if host is not None and host.running:
            host.stop()  # it was connected to the previous sidecar

    def close(self) -> None:
        """Close live views and the client, and stop the kernel's sandbox."""
        views, self._views = self._views, []
        for view in views:
            try:
                view.close()
            except Exception:  # noqa: BLE001 - closing the others must go on
                log.debug("dapr_nb: closing %r failed", view, exc_info=True)
        self.close_client()
        self.stop_sandbox()
