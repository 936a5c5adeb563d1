"""Helpers that act on either sidecar the differential tests run against (the sandbox or a real daprd)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from dapr_nb.daprd import Daprd
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
