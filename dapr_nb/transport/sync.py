"""The blocking driver: runs core operations on a grpcio channel, ``time.sleep`` and ``http.client``.

Rule: never touches an event loop (notebooks always have one running); the channel is created on the
first call, not in the constructor; every call carries the API token; deadlines come from ``base.budgeted``.
"""

from __future__ import annotations

import threading
import time
from typing import TypeVar

import grpc

from ..core.ops import Call, HttpCall, Op, Sleep
from ..errors import DaprError
from . import http
from .base import DriverBase
from .channels import sync_channel
from .config import Settings

T = TypeVar("T")


class SyncDriver(DriverBase):
    """Drive operations with blocking I/O."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._channel: grpc.Channel | None = None
        self._lock = threading.Lock()

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

    def run(self, op: Op[T]) -> T:
        """Run an operation to completion and return its result (DaprError on failure); ``op`` is closed on any exit."""
        op = self.prepare(op)
        try:
            instruction = op.send(None)
            while True:
                if type(instruction) is Call:
                    try:
                        reply = self._method(instruction)(
                            instruction.request, timeout=instruction.timeout, metadata=self._metadata
                        )
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
        finally:
            op.close()

    def close(self) -> None:
        """Close the channel (idempotent); open streams are cancelled."""
        with self._lock:
            self._closed = True
            channel, self._channel = self._channel, None
            self._stubs.clear()
            self._methods.clear()
        if channel is not None:
            channel.close()
