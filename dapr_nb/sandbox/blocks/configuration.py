"""The configuration building block: store lookup, get, subscribe, unsubscribe and the sandbox admin upsert.

Errors follow daprd 1.18 (``pkg/api/grpc/grpc.go``, ``pkg/api/http/http.go``): ErrorInfo reasons
``ERR_CONFIGURATION_*``; an unknown subscription id on gRPC Unsubscribe is an ``ok=false`` answer,
not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..components.configuration_sandbox import ConfigItem, ConfigSubscription, SandboxConfigurationStore
from ..errors import invalid, precondition
from ..runtime import Runtime

KIND = "configuration"


def unsubscribe_message(sub_id: str, cause: str) -> str:
    """Return daprd's message for a failed unsubscribe."""
    return f"failed to unsubscribe to configuration request {sub_id}: {cause}"


def find_store(runtime: Runtime, name: str, *, http: bool = False) -> SandboxConfigurationStore:
    """Return the configuration store ``name`` or raise daprd's not-configured / not-found error."""
    stores = runtime.components(KIND)
    error = None
    if not stores:
        error = precondition(
            "configuration stores not configured", "ERR_CONFIGURATION_STORE_NOT_CONFIGURED", http_status=500
        )
    store = stores.get(name)
    if error is None and not isinstance(store, SandboxConfigurationStore):
        error = invalid(
            f"configuration store {name} not found",
            "ERR_CONFIGURATION_STORE_NOT_FOUND",
            http_status=400 if http else 500,
        )
    if error is not None:
        raise error.legacy() if http else error  # daprd's HTTP API sends these without details
    assert isinstance(store, SandboxConfigurationStore)
    return store


def get_items(runtime: Runtime, store: str, keys: Iterable[str], *, http: bool = False) -> dict[str, ConfigItem]:
    """Return the items named by ``keys`` (all items when empty); unknown keys are left out."""
    return find_store(runtime, store, http=http).get(keys)


def subscribe(runtime: Runtime, store: str, keys: Iterable[str]) -> ConfigSubscription:
    """Start a subscription (daprd sorts the keys; so do we)."""
    return find_store(runtime, store).subscribe(sorted(keys))


def unsubscribe_any(runtime: Runtime, sub_id: str) -> bool:
    """End subscription ``sub_id`` in whichever store holds it (gRPC Unsubscribe ignores the store name)."""
    return any(
        store.unsubscribe(sub_id)
        for store in runtime.components(KIND).values()
        if isinstance(store, SandboxConfigurationStore)
    )


def unsubscribe_from(runtime: Runtime, store: str, sub_id: str) -> str:
    """End subscription ``sub_id`` of ``store`` (HTTP); return daprd's failure message, or "" on success."""
    if find_store(runtime, store, http=True).unsubscribe(sub_id):
        return ""
    return unsubscribe_message(sub_id, f"subscription with id {sub_id} does not exist")


def set_items(runtime: Runtime, store: str, body: Any) -> dict[str, ConfigItem]:
    """Apply the sandbox admin route's ``{"items": {...}}`` body; return the changed items."""
    target = find_store(runtime, store, http=True)
    if not isinstance(body, Mapping) or "items" not in body:
        raise invalid(
            'the body must be a JSON object {"items": {"key": item-or-null, ...}}', error_code="ERR_MALFORMED_REQUEST"
        )
    try:
        return target.set_items(body["items"])
    except ValueError as exc:
        raise invalid(f"invalid configuration items: {exc}", error_code="ERR_MALFORMED_REQUEST") from exc
