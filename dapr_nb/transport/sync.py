"""The blocking driver: runs core operations on a grpcio channel, ``time.sleep`` and ``http.client``.

Rule: never touches an event loop (notebooks always have one running); the channel is created on the
first call, not in the constructor; every call carries the API token; deadlines come from ``base.budgeted``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TypeVar

import grpc

from ..core.ops import Call, HttpCall, Instruction, Op, Sleep
from ..errors import DaprError
from . import http
from .base import DriverBase, Steps
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
        steps = Steps(self.prepare(op))
        try:
            instruction = steps.next(None)
            while instruction is not None:
                instruction = steps.next(self._perform(instruction))
            return steps.result
        finally:
            steps.close()

    def _perform(self, instruction: Instruction) -> Any:
        """Carry out one instruction, blocking; return its reply, or the DaprError it failed with."""
        if type(instruction) is Call:
            method = self._method(instruction)
            try:
                return method(instruction.request, timeout=instruction.timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                return self.error(exc, instruction.method)
        if type(instruction) is HttpCall:
            try:
                return http.request(self.settings, instruction)
            except DaprError as exc:
                return exc
        if type(instruction) is Sleep:
            time.sleep(instruction.seconds)
            return None
        raise TypeError(f"unknown instruction {instruction!r}")

    def close(self) -> None:
        """Close the channel (idempotent); open streams are cancelled."""
        with self._lock:
            self._closed = True
            channel, self._channel = self._channel, None
            self._stubs.clear()
            self._methods.clear()
        if channel is not None:
            channel.close()
