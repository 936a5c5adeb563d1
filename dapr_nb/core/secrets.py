"""Secrets: one secret (a small dict of named values) or every secret a store allows.

Rule: secret values are returned as given and never logged or shown in reprs of errors.
"""

from __future__ import annotations

from collections.abc import Mapping

from dapr.proto.runtime.v1 import secret_pb2

from .ops import Call, Op
from .values import str_map


def get_secret(store: str, key: str, *, metadata: Mapping[str, str] | None = None) -> Op[dict[str, str]]:
    """Return the named values of one secret (most stores give ``{key: value}``)."""
    request = secret_pb2.GetSecretRequest(store_name=store, key=key, metadata=str_map(metadata))
    reply: secret_pb2.GetSecretResponse = yield Call("GetSecret", request)
    return dict(reply.data)


def get_bulk_secret(store: str, *, metadata: Mapping[str, str] | None = None) -> Op[dict[str, dict[str, str]]]:
    """Return every secret the store lets this app read (denied keys are silently left out)."""
    request = secret_pb2.GetBulkSecretRequest(store_name=store, metadata=str_map(metadata))
    reply: secret_pb2.GetBulkSecretResponse = yield Call("GetBulkSecret", request)
    return {name: dict(secret.secrets) for name, secret in reply.data.items()}
