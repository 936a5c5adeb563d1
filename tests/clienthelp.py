"""Helpers for the client tests: clients pointed at a sidecar, and running a coroutine from a sync test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from dapr_nb.client import AsyncClient, Client
from dapr_nb.sidecar import SidecarEndpoints

T = TypeVar("T")


def client_for(sb: SidecarEndpoints, **kwargs: Any) -> Client:
    """Return a sync Client pointed at sidecar ``sb`` (explicit endpoints, not the environment)."""
    kwargs.setdefault("api_token", sb.api_token)
    return Client(sb.grpc_endpoint, http_endpoint=sb.http_endpoint, **kwargs)


def async_client_for(sb: SidecarEndpoints, **kwargs: Any) -> AsyncClient:
    """Return an AsyncClient pointed at ``sb``."""
    kwargs.setdefault("api_token", sb.api_token)
    return AsyncClient(sb.grpc_endpoint, http_endpoint=sb.http_endpoint, **kwargs)


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion in a fresh event loop (pytest-asyncio is not installed)."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())
