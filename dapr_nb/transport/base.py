"""What the blocking and the grpc.aio drivers share: settings, stub and method caches, error conversion.

Rule: only channel creation and the ``run`` loop differ between the two drivers; everything else is here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from ..core.ops import Call
from ..errors import DaprError
from .channels import make_stub, to_dapr_error
from .config import Settings


class DriverBase:
    """Caches stubs and bound RPC methods per channel; subclasses provide ``channel``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stubs: dict[str, Any] = {}
        self._methods: dict[tuple[str, str], Callable[..., Any]] = {}
        self._metadata = settings.token_metadata or None
        self._endpoint = str(settings.grpc)
        self._closed = False

    @property
    def channel(self) -> Any:
        """Return the channel (created on first use by the subclass)."""
        raise NotImplementedError

    def stub(self, service: str) -> Any:
        """Return the generated stub for a service on this driver's current channel."""
        channel = self.channel  # first: a new channel (aio: new loop) clears the caches
        stub = self._stubs.get(service)
        if stub is None:
            stub = self._stubs[service] = make_stub(service, channel)
        return stub

    def _method(self, call: Call) -> Callable[..., Any]:
        key = (call.service, call.method)
        method = self._methods.get(key)
        if method is None:
            method = self._methods[key] = getattr(self.stub(call.service), call.method)
        return method

    def error(self, exc: grpc.RpcError, operation: str) -> DaprError:
        """Convert a grpc error raised by a call on this driver into the DaprError hierarchy."""
        return to_dapr_error(exc, operation, self._endpoint)
