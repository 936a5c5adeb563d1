"""daprd's HTTP routes for the state building block (thin: JSON <-> blocks.state).

A saved ``value`` is any JSON and is stored as Go's JSON encoding of it (a JSON string stays a quoted
string). Reads return the stored bytes untouched: ``GET`` as the body (``ETag`` and ``metadata.*``
headers, 204 when missing), bulk and query results as raw JSON inside the answer (bytes that are not JSON,
which only gRPC clients can save, are embedded as a string). ``metadata.*`` query parameters are merged
into every item's metadata, as daprd does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import gojson
from ..blocks import state
from ..components.state_sqlite import DeleteRequest, SetRequest
from ..errors import DaprApiError, invalid
from ..runtime import Runtime
from ._base import Request, Response, Route, malformed, no_content

JSON = "application/json"


def _malformed(message: str) -> DaprApiError:
    return invalid(message, error_code="ERR_MALFORMED_REQUEST")


_kind = gojson.kind


def _strings(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        kind = _kind(value)
        raise _malformed(f"json: cannot unmarshal {kind} into Go struct field {field} of type map[string]string")
    return {str(k): v for k, v in value.items()}


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(f"json: cannot unmarshal {_kind(value)} into Go struct field {field} of type string")
    return value


def _set_request(raw: Any, query_metadata: Mapping[str, str]) -> SetRequest:
    """Decode one ``state.SetRequest`` object (field names match case-insensitively, as in Go)."""
    if not isinstance(raw, dict):
        raise _malformed(f"json: cannot unmarshal {_kind(raw)} into Go value of type state.SetRequest")
    fields = {str(k).lower(): v for k, v in raw.items()}
    options = fields.get("options") or {}
    if not isinstance(options, dict):
        raise _malformed(f"json: cannot unmarshal {_kind(options)} into Go struct field SetRequest.options")
    options = {str(k).lower(): v for k, v in options.items()}
    etag = fields.get("etag")
    return SetRequest(
        key=_text(fields.get("key"), "SetRequest.key"),
        value=fields.get("value"),
        etag=None if etag is None else _text(etag, "SetRequest.etag"),
        metadata={**_strings(fields.get("metadata"), "SetRequest.metadata"), **query_metadata},
        concurrency=_text(options.get("concurrency"), "SetStateOption.concurrency"),
        consistency=_text(options.get("consistency"), "SetStateOption.consistency"),
    )


def _raw_json(data: bytes) -> str:
    """Return stored bytes as a JSON fragment: themselves when they are JSON, else a JSON string."""
    try:
        text = data.decode("utf-8")
        gojson.loads(text)
    except (UnicodeDecodeError, ValueError):
        return json.dumps(data.decode("utf-8", "replace"))
    return text.strip()


def _object(fields: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{json.dumps(name)}:{fragment}" for name, fragment in fields) + "}"


def _json(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, body.encode("utf-8"), JSON, headers or {})


def save(runtime: Runtime, request: Request) -> Response:
    """``POST|PUT /v1.0/state/{storeName}``: save ``[{key, value, etag?, metadata?, options?}]``."""
    store = request.params["storeName"]
    state.find_store(runtime, store, http=True)
    body = request.json_first(prefix="")  # daprd answers Go's decoder error as is here, without a prefix
    if not isinstance(body, list):
        raise _malformed(f"json: cannot unmarshal {_kind(body)} into Go value of type []state.SetRequest")
    metadata = request.metadata()
    state.save_state(runtime, store, [_set_request(item, metadata) for item in body], http=True)
    return no_content()


def get(runtime: Runtime, request: Request) -> Response:
    """``GET /v1.0/state/{storeName}/{key}``: the stored bytes, ``ETag``; 204 when missing."""
    item = state.get_state(runtime, request.params["storeName"], request.params["key"], request.metadata(), http=True)
    if item.data is None:
        return no_content()
    headers = {"ETag": item.etag or ""} if item.etag is not None else {}
    headers.update({f"metadata.{k}": v for k, v in item.metadata.items()})
    return Response(200, item.data, JSON, headers)


def delete(runtime: Runtime, request: Request) -> Response:
    """``DELETE /v1.0/state/{storeName}/{key}``: etag from ``If-Match``, options from the query string."""
    if_match = next((v for k, v in request.headers.items() if k.lower() == "if-match"), None)
    delete_request = DeleteRequest(
        request.params["key"],
        if_match,
        request.metadata(),
        request.arg("concurrency"),
        request.arg("consistency"),
    )
    state.delete_state(runtime, request.params["storeName"], delete_request, http=True)
    return no_content()


def _store_and_body(runtime: Runtime, request: Request, go_type: str) -> tuple[str, dict[str, Any]]:
    """Check the store named in the path, then decode the body into daprd's request struct ``go_type``."""
    store = request.params["storeName"]
    state.find_store(runtime, store, http=True)
    body = request.json_first()
    if not isinstance(body, dict):
        raise malformed(f"json: cannot unmarshal {_kind(body)} into Go value of type {go_type}")
    return store, body


def bulk_get(runtime: Runtime, request: Request) -> Response:
    """``POST|PUT /v1.0/state/{storeName}/bulk``: ``{keys, parallelism, metadata}`` -> ``[{key, data, etag}]``."""
    store, body = _store_and_body(runtime, request, "http.BulkGetRequest")
    keys = body.get("keys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise malformed("keys must be an array of strings")
    metadata = {**_strings(body.get("metadata"), "BulkGetRequest.metadata"), **request.metadata()}
    items = state.get_bulk_state(runtime, store, keys, metadata, http=True)
    rendered = []
    for item in items:
        fields = [("key", json.dumps(item.key))]
        if item.data is not None:
            fields += [("data", _raw_json(item.data)), ("etag", json.dumps(item.etag or ""))]
        if item.metadata:
            fields.append(("metadata", json.dumps(item.metadata)))
        rendered.append(_object(fields))
    return _json("[" + ",".join(rendered) + "]\n")  # json.Encoder's newline


def transaction(runtime: Runtime, request: Request) -> Response:
    """``POST|PUT /v1.0/state/{storeName}/transaction``: ``{operations: [{operation, request}], metadata}``."""
    store, body = _store_and_body(runtime, request, "http.stateTransactionRequestBody")
    operations = body.get("operations") or []
    if not isinstance(operations, list):
        raise malformed("operations must be an array")
    metadata = request.metadata()
    ops = []
    for op in operations:
        if not isinstance(op, dict):
            raise malformed(f"cannot unmarshal {_kind(op)} into an operation")
        name = op.get("operation") if isinstance(op.get("operation"), str) else ""
        if name not in (state.UPSERT, state.DELETE):  # daprd checks the type before decoding the request
            raise state.unsupported_operation(str(name), True)
        item = _set_request(op.get("request"), metadata)
        ops.append(state.TransactionOp(name, item))
    state.execute_transaction(runtime, store, ops, http=True)
    return no_content()


def query(runtime: Runtime, request: Request) -> Response:
    """``POST|PUT /v1.0-alpha1/state/{storeName}/query``: one page of results; 204 when it is empty."""
    text = request.body.decode("utf-8", "replace")
    page = state.query_state(runtime, request.params["storeName"], text, request.metadata())
    if not page.results:
        return no_content()
    results = [
        _object([("key", json.dumps(d.key)), ("data", _raw_json(d.data)), ("etag", json.dumps(d.etag))])
        for d in page.results
    ]
    fields = [("results", "[" + ",".join(results) + "]")]
    if page.token:
        fields.append(("token", json.dumps(page.token)))
    return _json(_object(fields) + "\n")  # json.Encoder's newline


ROUTES: list[Route] = [
    Route("GET", "/v1.0/state/{storeName}/{key}", get),
    Route("DELETE", "/v1.0/state/{storeName}/{key}", delete),
    *(Route(method, "/v1.0/state/{storeName}", save) for method in ("POST", "PUT")),
    *(Route(method, "/v1.0/state/{storeName}/bulk", bulk_get) for method in ("POST", "PUT")),
    *(Route(method, "/v1.0/state/{storeName}/transaction", transaction) for method in ("POST", "PUT")),
    *(Route(method, "/v1.0-alpha1/state/{storeName}/query", query) for method in ("POST", "PUT")),
]
