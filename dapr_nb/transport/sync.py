"""The blocking driver: runs core operations on a grpcio channel, ``time.sleep`` and ``http.client``.

Rule: never touches an event loop (notebooks always have one running); the channel is created on the
first call, not in the constructor; every call carries the API token and the default deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from ..core.ops import Call, HttpCall, Op, Sleep, retrying
from ..errors import DaprError
from . import http
from .channels import make_stub, sync_channel, to_dapr_error
from .config import Settings

T = TypeVar("T")


class SyncDriver:
    """Drive operations with blocking I/O."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._channel: grpc.Channel | None = None
        self._stubs: dict[str, Any] = {}
        self._methods: dict[tuple[str, str], Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self._metadata = settings.token_metadata or None
        self._endpoint = str(settings.grpc)
        self._closed = False

    @property
    def channel(self) -> grpc.Channel:
        """Return the channel, creating it on first use."""
        if self._channel is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("this client is closed")
                if self._channel is None:
                    self._channel = sync_channel(self.settings)
        return self._channel

    def stub(self, service: str) -> Any:
        """Return the generated stub for a service on this driver's channel."""
        stub = self._stubs.get(service)
        if stub is None:
            stub = self._stubs[service] = make_stub(service, self.channel)
        return stub

    def _method(self, call: Call) -> Callable[..., Any]:
        key = (call.service, call.method)
        method = self._methods.get(key)
        if method is None:
            method = self._methods[key] = getattr(self.stub(call.service), call.method)
        return method

    def timeout_for(self, call: Call) -> float | None:
        """Return the deadline (seconds) for a call: its own, else the default unless exempt."""
        if call.timeout is not None:
            return call.timeout
        return self.settings.timeout if call.default_deadline else None

    def error(self, exc: grpc.RpcError, operation: str) -> DaprError:
        """Convert a grpcio error raised by a call on this driver."""
        return to_dapr_error(exc, operation, self._endpoint)

    def run(self, op: Op[T]) -> T:
        """Run an operation to completion and return its result (DaprError on failure)."""
        if self.settings.retry.enabled:
            op = retrying(op, self.settings.retry)
        try:
            instruction = op.send(None)
            while True:
                if type(instruction) is Call:
                    timeout = instruction.timeout
                    if timeout is None and instruction.default_deadline:
                        timeout = self.settings.timeout
                    try:
                        reply = self._method(instruction)(instruction.request, timeout=timeout, metadata=self._metadata)
                    except grpc.RpcError as exc:
                        error = self.error(exc, instruction.method)
                    else:
                        instruction = op.send(reply)
                        continue
                    instruction = op.throw(error)
                elif type(instruction) is HttpCall:
                    try:
                        http_reply = http.request(self.settings, instruction)
                    except DaprError as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(http_reply)
                elif type(instruction) is Sleep:
                    time.sleep(instruction.seconds)
                    instruction = op.send(None)
                else:
                    raise TypeError(f"unknown instruction {instruction!r}")
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the channel (idempotent); open streams are cancelled."""
        with self._lock:
            self._closed = True
            channel, self._channel = self._channel, None
            self._stubs.clear()
            self._methods.clear()
        if channel is not None:
            channel.close()
