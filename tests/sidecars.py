"""Helpers that act on either sidecar the differential tests run against (the sandbox or a real daprd)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from dapr_nb.daprd import Daprd
from dapr_nb.daprd.redis import redis_command
from dapr_nb.sandbox import Sandbox

Sidecar = Sandbox | Daprd


def set_config(sidecar: Sidecar, items: dict[str, str | None]) -> None:
    """Set (``None``: delete) items of ``configstore``: the sandbox's admin route, or daprd's Redis."""
    if isinstance(sidecar, Daprd):
        if sidecar.redis_address is None:
            pytest.skip("daprd runs without Redis here, so it has no configstore")
        sidecar.set_configuration(items)
        return
    body = json.dumps({"items": {k: None if v is None else {"value": v} for k, v in items.items()}}).encode()
    url = f"{sidecar.http_endpoint}/v1.0-sandbox/configuration/configstore"
    request = urllib.request.Request(url, body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback sandbox URL
        assert resp.status == 200


def is_daprd(sidecar: Sidecar) -> bool:
    """Return whether ``sidecar`` is the real daprd."""
    return isinstance(sidecar, Daprd)


def config_watch_live(sidecar: Sidecar, keys: list[str], timeout: float = 10.0) -> None:
    """Wait until a just-opened watch on ``keys`` hears changes (daprd's Redis store subscribes after answering)."""
    if not isinstance(sidecar, Daprd) or sidecar.redis_address is None:
        return  # the sandbox's store registers the watch before it answers with the id
    address, deadline = sidecar.redis_address, time.monotonic() + timeout
    channels = [f"__keyspace@0__:{key}" for key in keys]  # configuration.redis listens on keyspace events
    while True:
        reply = redis_command(address, "PUBSUB", "NUMSUB", *channels)
        counts = reply[1::2] if isinstance(reply, list) else []
        if len(counts) == len(channels) and all(isinstance(n, int) and n > 0 for n in counts):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"daprd's configstore did not subscribe to {keys} within {timeout}s")
        time.sleep(0.02)
