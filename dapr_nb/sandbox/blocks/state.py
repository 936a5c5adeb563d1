"""The state building block for both API surfaces: store lookup, key prefixes, daprd's errors, query.

Rules: keys are prefixed here, as daprd's runtime does (``keyPrefix`` = ``appid`` (default) | ``name`` |
``namespace`` (= appid in the sandbox) | ``none`` | a literal), and stripped from every key handed back;
a user key containing ``||`` is DAPR_STATE_ILLEGAL_KEY. Saves and deletes of several items run one by one
and are not atomic (daprd's bulk semantics); transactions are atomic. Component failures become daprd's
``ERR_STATE_*`` errors: an etag conflict is ABORTED (HTTP 409), anything else INTERNAL. The ``http`` flags
mark the few places where daprd's HTTP handlers differ from its gRPC ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import grpc

from .. import gojson
from ..components.state_sqlite import (
    DeleteRequest,
    ETagError,
    SetRequest,
    SqlStateStore,
    StateStoreError,
    StoredItem,
)
from ..errors import DaprApiError, illegal_key, internal, invalid, precondition
from ..runtime import Runtime
from .query import Document, QueryError, decode_document, parse_query, run_query

KIND = "state"
SEPARATOR = "||"
UPSERT, DELETE = "upsert", "delete"
UNSUPPORTED_OPERATION = "ERR_NOT_SUPPORTED_STATE_OPERATION"
JSON_CONTENT_TYPE = "application/json"


def find_store(runtime: Runtime, name: str, *, http: bool = False) -> SqlStateStore:
    """Return the named store or raise daprd's not-configured / not-found error (HTTP adds the app id)."""
    stores = runtime.components(KIND)
    meta = {"appID": runtime.app_id} if http else {}
    if not stores:
        raise precondition(
            f"state store {name} is not configured",
            "DAPR_STATE_NOT_CONFIGURED",
            error_code="ERR_STATE_STORE_NOT_CONFIGURED",
            http_status=500,
            metadata=meta,
        )
    store = stores.get(name)
    if not isinstance(store, SqlStateStore):
        message = f"state store {name} is not found"
        raise invalid(message, "DAPR_STATE_NOT_FOUND", error_code="ERR_STATE_STORE_NOT_FOUND", metadata=meta)
    return store


def key_prefix(runtime: Runtime, store: SqlStateStore) -> str:
    """Return what daprd puts before every user key of this store (``app||``, ``store||``, ``prefix||`` or ``""``)."""
    strategy = store.key_prefix
    if strategy == "none":
        return ""
    if strategy == "name":
        return store.name + SEPARATOR
    if strategy in ("appid", "namespace"):
        return runtime.app_id + SEPARATOR if runtime.app_id else ""
    return strategy + SEPARATOR


def store_key(runtime: Runtime, store: SqlStateStore, key: str) -> str:
    """Return the key as stored; raise DAPR_STATE_ILLEGAL_KEY when it contains ``||``."""
    if SEPARATOR in key:
        raise illegal_key(key, KIND, store.name)
    return key_prefix(runtime, store) + key


def original_key(stored: str) -> str:
    """Strip daprd's prefix from a stored key (``GetOriginalStateKey``)."""
    parts = stored.split(SEPARATOR, 2)
    return parts[1] if len(parts) > 1 else stored


def decode_json_value(value: bytes, metadata: Mapping[str, str]) -> object:
    """Return the value daprd's gRPC SaveState stores: the decoded JSON with ``contentType=application/json``."""
    if metadata.get("contentType") != JSON_CONTENT_TYPE:
        return value
    try:
        return gojson.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        message = "unexpected end of JSON input" if not value.strip() else f"invalid JSON value: {exc}"
        raise DaprApiError(grpc.StatusCode.UNKNOWN, message) from exc


def get_state(
    runtime: Runtime, store_name: str, key: str, metadata: Mapping[str, str] | None = None, *, http: bool = False
) -> StoredItem:
    """Read one key; a missing key is an empty item (``data`` None), not an error."""
    store = find_store(runtime, store_name, http=http)
    stored = store_key(runtime, store, key)
    try:
        item = store.engine.get(stored)
    except StateStoreError as exc:
        raise internal(f"fail to get {key} from state store {store_name}: {exc}", "ERR_STATE_GET") from exc
    return replace(item, key=key)


def get_bulk_state(
    runtime: Runtime,
    store_name: str,
    keys: Sequence[str],
    metadata: Mapping[str, str] | None = None,
    *,
    http: bool = False,
) -> list[StoredItem]:
    """Read several keys in request order; missing keys come back as empty items."""
    store = find_store(runtime, store_name, http=http)
    if not keys:
        return []
    stored = [store_key(runtime, store, key) for key in keys]
    try:
        items = store.engine.bulk_get(stored)
    except StateStoreError as exc:
        raise internal(str(exc), "ERR_STATE_BULK_GET") from exc
    return [replace(item, key=original_key(item.key)) for item in items]


def _failure(error: StateStoreError, message: str, reason: str, http: bool = False) -> DaprApiError:
    """Return daprd's error for a failed save or delete; its HTTP API sends these without details (legacy)."""
    code = grpc.StatusCode.INTERNAL
    if isinstance(error, ETagError):
        code = grpc.StatusCode.INVALID_ARGUMENT if error.kind == "invalid" else grpc.StatusCode.ABORTED
    if http:
        return DaprApiError(code, message, error_code=reason)
    return DaprApiError(code, message, reason)


R = TypeVar("R", SetRequest, DeleteRequest)


def _one_by_one(requests: Sequence[R], run: Callable[[R], None]) -> None:
    """Run requests independently, as daprd's bulk store does, and join their failures."""
    if len(requests) == 1:
        run(requests[0])
        return
    failures: list[StateStoreError] = []
    for request in requests:
        try:
            run(request)
        except StateStoreError as exc:
            failures.append(exc)
    if not failures:
        return
    joined = "\n".join(str(f) for f in failures)
    if all(isinstance(f, ETagError) for f in failures):
        invalid_etag = any(isinstance(f, ETagError) and f.kind == "invalid" for f in failures)
        raise ETagError("invalid" if invalid_etag else "mismatch", joined)
    raise StateStoreError(joined)


def save_state(runtime: Runtime, store_name: str, items: Sequence[SetRequest], *, http: bool = False) -> None:
    """Save items (unprefixed keys); zero items is a no-op after the store lookup."""
    store = find_store(runtime, store_name, http=http)
    if not items:
        return
    requests = []
    for item in items:
        if not item.key:
            if http:
                raise invalid('"key" is a required field', error_code="ERR_MALFORMED_REQUEST")
            raise invalid("state key cannot be empty", "ERR_STATE_SAVE")
        requests.append(replace(item, key=store_key(runtime, store, item.key)))
    try:
        _one_by_one(requests, store.engine.set)
    except StateStoreError as exc:
        raise _failure(exc, f"failed saving state in state store {store_name}: {exc}", "ERR_STATE_SAVE", http) from exc


def delete_state(runtime: Runtime, store_name: str, request: DeleteRequest, *, http: bool = False) -> None:
    """Delete one key; with a non-empty etag only if it still matches."""
    store = find_store(runtime, store_name, http=http)
    stored = replace(request, key=store_key(runtime, store, request.key))
    try:
        store.engine.delete(stored)
    except StateStoreError as exc:
        message = f"failed deleting state with key {request.key}: {exc}"
        raise _failure(exc, message, "ERR_STATE_DELETE", http) from exc


def delete_bulk_state(runtime: Runtime, store_name: str, requests: Sequence[DeleteRequest]) -> None:
    """Delete several keys one by one, each with its own etag (DeleteBulkState)."""
    store = find_store(runtime, store_name)
    stored = [replace(r, key=store_key(runtime, store, r.key)) for r in requests]
    if not stored:
        return
    try:
        _one_by_one(stored, store.engine.delete)
    except StateStoreError as exc:
        message = f"failed deleting state in state store {store_name}: {exc}"
        raise _failure(exc, message, "ERR_STATE_BULK_DELETE") from exc


@dataclass(frozen=True)
class TransactionOp:
    """One transaction operation as received: its type string and its item (deletes use key/etag/options)."""

    operation: str
    request: SetRequest


def unsupported_operation(operation: str, http: bool) -> DaprApiError:
    """Return daprd's error for a transaction operation type other than upsert and delete."""
    message = f"operation type {operation} not supported"
    if http:  # a legacy error on daprd's HTTP API: no details
        return DaprApiError(grpc.StatusCode.UNIMPLEMENTED, message, error_code=UNSUPPORTED_OPERATION, http_status=400)
    return DaprApiError(grpc.StatusCode.UNIMPLEMENTED, message, UNSUPPORTED_OPERATION, http_status=500)


def execute_transaction(
    runtime: Runtime, store_name: str, operations: Sequence[TransactionOp], *, http: bool = False
) -> None:
    """Apply upserts and deletes atomically; any failure (an etag conflict included) applies none of them."""
    store = find_store(runtime, store_name, http=http)
    ops: list[SetRequest | DeleteRequest] = []
    for op in operations:
        if http and op.operation not in (UPSERT, DELETE):
            raise unsupported_operation(op.operation, http)  # daprd's HTTP handler checks the type before the key
        item = replace(op.request, key=store_key(runtime, store, op.request.key))
        if op.operation == UPSERT:
            ops.append(item)
        elif op.operation == DELETE:
            ops.append(DeleteRequest(item.key, item.etag, item.metadata, item.concurrency, item.consistency))
        else:
            raise unsupported_operation(op.operation, http)
    try:
        store.engine.multi(ops)
    except StateStoreError as exc:
        raise internal(f"error while executing state transaction: {exc}", "ERR_STATE_TRANSACTION") from exc


@dataclass(frozen=True)
class QueryResult:
    """One page of query results (keys without prefix) and the token of the next page."""

    results: list[Document]
    token: str = ""


def _query_error(store_name: str, message: str, reason: str, error_code: str) -> DaprApiError:
    return internal(message, reason, error_code=error_code, resource=(KIND, store_name))


def query_state(
    runtime: Runtime, store_name: str, query_text: str, metadata: Mapping[str, str] | None = None
) -> QueryResult:
    """Run a state query over this app's keys; bad queries are DAPR_STATE_QUERY_FAILED."""
    store = find_store(runtime, store_name)
    if not store.supports_query:
        raise _query_error(
            store_name, "state store does not support querying", "DAPR_STATE_QUERYING_NOT_SUPPORTED",
            "ERR_STATE_STORE_NOT_SUPPORTED",
        )  # fmt: skip
    try:
        query = parse_query(query_text)
        prefix = key_prefix(runtime, store)
        docs = [
            decode_document(row.key[len(prefix) :], row.data, row.etag)
            for row in store.engine.rows(prefix)
            if SEPARATOR not in row.key[len(prefix) :]
        ]
        page, token = run_query(query, docs)
    except (QueryError, StateStoreError) as exc:
        raise _query_error(
            store_name, f"state store {store_name} query failed: {exc}", "DAPR_STATE_QUERY_FAILED", "ERR_STATE_QUERY"
        ) from exc
    return QueryResult(page, token)
