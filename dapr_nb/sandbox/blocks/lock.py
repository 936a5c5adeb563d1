"""The distributed lock building block (TryLockAlpha1 / UnlockAlpha1) with daprd's validation order.

Rules: daprd's legacy lock errors carry a code and a message only (no ErrorInfo); the HTTP
``errorCode`` values are ``ERR_LOCK_STORE_NOT_CONFIGURED``, ``ERR_MALFORMED_REQUEST``,
``ERR_LOCK_STORE_NOT_FOUND``, ``ERR_TRY_LOCK`` and ``ERR_UNLOCK``. TryLock checks the expiry before
anything else, even before looking for a lock store.
"""

from __future__ import annotations

from ..components.lock_sandbox import SandboxLockStore, UnlockStatus
from ..errors import internal, invalid, precondition
from ..runtime import Runtime

KIND = "lock"


def _find_store(runtime: Runtime, store: str, resource_id: str, owner: str) -> SandboxLockStore:
    """Validate as daprd's ``lockValidateRequest`` does, in its order, and return the store."""
    stores = runtime.components(KIND)
    if not stores:
        raise precondition("lock store is not configured", error_code="ERR_LOCK_STORE_NOT_CONFIGURED", http_status=500)
    if not resource_id:
        raise invalid(f"ResourceId is empty in lock store {store}", error_code="ERR_MALFORMED_REQUEST")
    if not owner:
        raise invalid(f"LockOwner is empty in lock store {store}", error_code="ERR_MALFORMED_REQUEST")
    found = stores.get(store)
    if not isinstance(found, SandboxLockStore):
        raise invalid(f"lock store {store} not found", error_code="ERR_LOCK_STORE_NOT_FOUND")
    return found


def try_lock(runtime: Runtime, store: str, resource_id: str, owner: str, expiry_seconds: int) -> bool:
    """Try to take the lock; return whether it was taken (False when anyone, the owner included, holds it)."""
    if expiry_seconds <= 0:
        raise invalid(f"ExpiryInSeconds is not positive in lock store {store}", error_code="ERR_MALFORMED_REQUEST")
    component = _find_store(runtime, store, resource_id, owner)
    try:
        key = component.key_for(resource_id)
    except ValueError as exc:
        raise internal(f"failed to try acquiring lock: {exc}", error_code="ERR_TRY_LOCK") from exc
    return component.try_lock(key, owner, expiry_seconds)


def unlock(runtime: Runtime, store: str, resource_id: str, owner: str) -> UnlockStatus:
    """Release the lock if ``owner`` holds it; return the UnlockResponse status."""
    component = _find_store(runtime, store, resource_id, owner)
    try:
        key = component.key_for(resource_id)
    except ValueError as exc:
        raise internal(f"failed to release lock: {exc}", error_code="ERR_UNLOCK") from exc
    return component.unlock(key, owner)
