"""daprd's HTTP route for output bindings: ``POST /v1.0/bindings/{name}`` (thin: JSON <-> blocks.bindings).

The body is ``{"data": <any JSON>, "metadata": {str: str}, "operation": str}``; ``data`` reaches the
binding as its JSON encoding (so a string arrives quoted). The answer is the binding's raw data
(200, ``application/json``) or 204 when it returns nothing; its metadata comes back as
``metadata.<key>`` headers. Errors are daprd's legacy HTTP errors (no ``details``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import gojson
from ..blocks import bindings
from ..errors import DaprApiError
from ..gojson import go_json
from ..runtime import Runtime
from ._base import Request, Response, Route, malformed


def _parse(request: Request) -> tuple[Any, dict[str, str], str]:
    body = request.json_first()
    if not isinstance(body, dict):
        kind = gojson.kind(body)
        raise malformed(f"json: cannot unmarshal {kind} into Go value of type http.OutputBindingRequest")
    metadata = body.get("metadata") or {}
    operation = body.get("operation") or ""
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise malformed("json: cannot unmarshal metadata into Go struct field OutputBindingRequest.metadata")
    if not isinstance(operation, str):
        raise malformed("json: cannot unmarshal operation into Go struct field OutputBindingRequest.operation")
    return body.get("data"), metadata, operation


def invoke_binding(runtime: Runtime, request: Request) -> Response:
    """Invoke an output binding."""
    data, metadata, operation = _parse(request)
    name = request.params["name"]
    try:
        response = bindings.invoke(runtime, name, operation, go_json(data), metadata)
    except DaprApiError as error:
        raise dataclasses.replace(error, reason="", error_code=error.error_code or error.reason) from error
    headers = {f"metadata.{k}": v for k, v in response.metadata.items()}
    if response.data is None:
        return Response(204, headers=headers)
    return Response(200, response.data, "application/json", headers)


ROUTES = [Route("POST", "/v1.0/bindings/{name}", invoke_binding), Route("PUT", "/v1.0/bindings/{name}", invoke_binding)]
