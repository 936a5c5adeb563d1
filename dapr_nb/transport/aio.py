"""The asyncio driver: runs core operations on a grpc.aio channel, ``asyncio.sleep`` and a worker thread for HTTP.

Rule: the channel is created inside the running loop on first use; a client made in one loop and used in
another gets a fresh channel there, and the old one is closed (on its own loop if that still runs).
Nothing here blocks the loop; deadlines come from ``base.budgeted``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from ..core.ops import Call, HttpCall, Instruction, Op, Sleep
from ..errors import DaprError
from . import http
from .base import DriverBase, Steps
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
        self._retiring: set[asyncio.Future[None]] = set()

    @property
    def channel(self) -> grpc.aio.Channel:
        """Return the channel for the running loop, creating it on first use there (closing a previous loop's)."""
        loop = asyncio.get_running_loop()
        if self._channel is None or self._loop is not loop:
            if self._closed:
                raise RuntimeError("this client is closed")
            if self._channel is not None:
                log.debug("dapr_nb: event loop changed; closing the old channel, opening a new one")
                self._retire(self._channel, self._loop)
            self._channel, self._loop = aio_channel(self.settings), loop
            self._stubs.clear()
            self._methods.clear()
        return self._channel

    def _retire(self, channel: grpc.aio.Channel, owner: asyncio.AbstractEventLoop | None) -> None:
        """Close ``channel``: on its own loop when that still runs (another thread), else here, in the background."""
        if owner is not None and owner.is_running() and owner is not asyncio.get_running_loop():
            future = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_close_quietly(channel), owner))
        else:
            future = asyncio.ensure_future(_close_quietly(channel))
        self._retiring.add(future)
        future.add_done_callback(self._retiring.discard)

    def _method(self, call: Call) -> Callable[..., Any]:
        if self._loop is not asyncio.get_running_loop():
            _ = self.channel  # a new loop gets a new channel (and fresh caches)
        return super()._method(call)

    async def run(self, op: Op[T]) -> T:
        """Run an operation to completion and return its result (DaprError on failure); ``op`` is closed on any exit."""
        steps = Steps(self.prepare(op))
        try:
            instruction = steps.next(None)
            while instruction is not None:
                instruction = steps.next(await self._perform(instruction))
            return steps.result
        finally:
            steps.close()

    async def _perform(self, instruction: Instruction) -> Any:
        """Carry out one instruction without blocking the loop; return its reply, or the DaprError it failed with."""
        if type(instruction) is Call:
            method = self._method(instruction)
            try:
                return await method(instruction.request, timeout=instruction.timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                return self.error(exc, instruction.method)
        if type(instruction) is HttpCall:
            try:
                return await asyncio.to_thread(http.request, self.settings, instruction)
            except DaprError as exc:
                return exc
        if type(instruction) is Sleep:
            await asyncio.sleep(instruction.seconds)
            return None
        raise TypeError(f"unknown instruction {instruction!r}")

    async def close(self) -> None:
        """Close the channel (idempotent), and wait for channels of earlier loops to finish closing."""
        self._closed = True
        channel, self._channel = self._channel, None
        self._stubs.clear()
        self._methods.clear()
        if channel is not None:
            if self._loop is asyncio.get_running_loop():
                await channel.close()
            else:
                self._retire(channel, self._loop)
        loop = asyncio.get_running_loop()
        pending = [f for f in self._retiring if f.get_loop() is loop]  # futures of other loops cannot be awaited
        if pending:
            await asyncio.gather(*pending)


async def _close_quietly(channel: grpc.aio.Channel) -> None:
    """Close a channel left by another loop; calls still open there may refuse to be cancelled from here."""
    try:
        await channel.close()
    except RuntimeError as error:  # e.g. "Event loop is closed" while cancelling that loop's calls
        log.debug("dapr_nb: closing an old channel failed: %s", error)
