"""Sandbox-only admin calls from Python, over the sandbox's HTTP API (so they reach a child-process sandbox).

Rule: these routes exist only in the sandbox (``/v1.0-sandbox/...``); against real daprd they answer 404.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def _http_base() -> str:
    endpoint = os.environ.get("DAPR_HTTP_ENDPOINT", "").rstrip("/")
    if endpoint:
        return endpoint
    host = os.environ.get("DAPR_RUNTIME_HOST") or "127.0.0.1"
    return f"http://{host}:{os.environ.get('DAPR_HTTP_PORT') or '3500'}"


def set_configuration(store: str, items: Mapping[str, Any], *, http_endpoint: str | None = None) -> dict[str, Any]:
    """Upsert configuration items (``{"key": {"value": ..., "version"?: ..., "metadata"?: {...}}}``; None deletes).

    Subscribers of ``store`` are notified. Returns the sandbox's answer (the items as now stored).
    """
    url = f"{(http_endpoint or _http_base()).rstrip('/')}/v1.0-sandbox/configuration/{store}"
    body = json.dumps({"items": dict(items)}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    token = os.environ.get("DAPR_API_TOKEN")
    if token:
        request.add_header("dapr-api-token", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        raise RuntimeError(f"setting configuration in {store!r} failed ({error.code}): {detail}") from None
    except urllib.error.URLError as error:
        raise RuntimeError(f"no sandbox answers at {url}: {error.reason}; start one with `dapr-nb sandbox`") from None
    return json.loads(raw) if raw else {}
