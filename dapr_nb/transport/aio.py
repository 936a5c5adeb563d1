"""The asyncio driver: runs core operations on a grpc.aio channel, ``asyncio.sleep`` and a worker thread for HTTP.

Rule: the channel is created inside the running loop on first use (a client made in one loop and used in
another gets a fresh channel there); nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from ..core.ops import Call, HttpCall, Op, Sleep, retrying
from ..errors import DaprError
from . import http
from .base import DriverBase
from .channels import aio_channel
from .config import Settings

T = TypeVar("T")
log = logging.getLogger("dapr_nb")


class AioDriver(DriverBase):
    """Drive operations with asyncio."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def channel(self) -> grpc.aio.Channel:
        """Return the channel for the running loop, creating it on first use there."""
        loop = asyncio.get_running_loop()
        if self._channel is None or self._loop is not loop:
            if self._closed:
                raise RuntimeError("this client is closed")
            if self._channel is not None:
                log.debug("dapr_nb: event loop changed; opening a new channel")
            self._channel, self._loop = aio_channel(self.settings), loop
            self._stubs.clear()
            self._methods.clear()
        return self._channel

    def _method(self, call: Call) -> Callable[..., Any]:
        if self._loop is not asyncio.get_running_loop():
            _ = self.channel  # a new loop gets a new channel (and fresh caches)
        return super()._method(call)

    async def run(self, op: Op[T]) -> T:
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
                        reply = await self._method(instruction)(
                            instruction.request, timeout=timeout, metadata=self._metadata
                        )
                    except grpc.RpcError as exc:
                        error = self.error(exc, instruction.method)
                    else:
                        instruction = op.send(reply)
                        continue
                    instruction = op.throw(error)
                elif type(instruction) is HttpCall:
                    try:
                        http_reply = await asyncio.to_thread(http.request, self.settings, instruction)
                    except DaprError as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(http_reply)
                elif type(instruction) is Sleep:
                    await asyncio.sleep(instruction.seconds)
                    instruction = op.send(None)
                else:
                    raise TypeError(f"unknown instruction {instruction!r}")
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Close the channel (idempotent)."""
        self._closed = True
        channel, self._channel = self._channel, None
        self._stubs.clear()
        self._methods.clear()
        if channel is not None and self._loop is asyncio.get_running_loop():
            await channel.close()
