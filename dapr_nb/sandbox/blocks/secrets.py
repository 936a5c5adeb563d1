"""The secrets building block: GetSecret and GetBulkSecret with daprd's legacy errors.

Rules: errors carry a code and a message only (no ErrorInfo); HTTP ``errorCode`` values are
``ERR_SECRET_STORES_NOT_CONFIGURED`` (500), ``ERR_SECRET_STORE_NOT_FOUND`` (401, as daprd answers)
and ``ERR_SECRET_GET`` (500). Secret scoping (``secrets.scopes`` in a Configuration resource) is
not loaded by the sandbox, so every secret is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, cast

from ..components.secrets_local import SecretLookupError
from ..errors import internal, invalid, precondition
from ..runtime import Runtime

KIND = "secretstores"


class SecretStore(Protocol):
    """What the block needs of a secret store component."""

    def get_secret(self, name: str, metadata: Mapping[str, str]) -> dict[str, str]:
        """Return one secret's key/value map."""

    def bulk_get(self, metadata: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """Return every secret."""


def find_store(runtime: Runtime, name: str) -> SecretStore:
    """Return the secret store ``name`` or raise daprd's not-configured / not-found error."""
    stores = runtime.components(KIND)
    if not stores:
        raise precondition(
            "secret store is not configured", error_code="ERR_SECRET_STORES_NOT_CONFIGURED", http_status=500
        )
    store = stores.get(name)
    if store is None:
        raise invalid(
            f"failed finding secret store with key {name}", error_code="ERR_SECRET_STORE_NOT_FOUND", http_status=401
        )
    return cast(SecretStore, store)


def get_secret(runtime: Runtime, store: str, key: str, metadata: Mapping[str, str]) -> dict[str, str]:
    """Return the secret ``key`` of ``store``."""
    component = find_store(runtime, store)
    try:
        return component.get_secret(key, metadata)
    except SecretLookupError as exc:
        raise internal(
            f"failed getting secret with key {key} from secret store {store}: {exc}", error_code="ERR_SECRET_GET"
        ) from exc


def get_bulk(runtime: Runtime, store: str, metadata: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Return every secret of ``store``."""
    component = find_store(runtime, store)
    try:
        return component.bulk_get(metadata)
    except SecretLookupError as exc:
        raise internal(f"failed getting secrets from secret store {store}: {exc}", error_code="ERR_SECRET_GET") from exc
