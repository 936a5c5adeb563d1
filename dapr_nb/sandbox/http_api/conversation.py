"""daprd's HTTP routes for conversation: ``POST /v1.0-alpha1|/v1.0-alpha2/conversation/{name}/converse``.

Thin: protojson <-> ``ai_pb2`` messages <-> blocks.conversation, as daprd's universal handler does
(``pkg/api/http/conversation.go``). Bodies are ``ConversationRequest`` (alpha1) and
``ConversationRequestAlpha2`` (alpha2) in protobuf's JSON mapping: json names (``scrubPII``,
``contextID``; ``contextId``, ``scrubPii``, ``toolChoice``, ``ofUser`` …), proto names accepted too,
unknown fields ignored, an empty body is an empty request. The component name comes from the path
and wins over a ``name`` in the body. Answers are the response messages as protojson with status
200: unset fields are left out and 64-bit integers (``index``, token counts) are strings. Errors are
daprd's legacy ones: 400 for an unknown component, missing inputs or invalid params, 500 when the
component fails.
"""

from __future__ import annotations

from typing import Any

import grpc
from dapr.proto.runtime.v1 import ai_pb2
from google.protobuf import json_format

from ..blocks import conversation
from ..errors import DaprApiError

# The protobuf -> component conversions are written once, next to the gRPC methods.
from ..grpc_api.conversation import _message, _result, _tool
from ..runtime import Runtime
from ._base import Request, Response, Route, json_response


def _malformed(why: str) -> DaprApiError:
    return DaprApiError(
        grpc.StatusCode.INVALID_ARGUMENT, f"failed deserializing HTTP body: {why}", error_code="ERR_MALFORMED_REQUEST"
    )


def _parse(request: Request, message: Any) -> Any:
    """Fill ``message`` from the JSON body (protojson rules) and set its name from the path."""
    if request.body:
        body = request.json()
        if not isinstance(body, dict):
            raise _malformed("proto: syntax error: unexpected token, expected '{'")
        try:
            json_format.ParseDict(body, message, ignore_unknown_fields=True)
        except (json_format.ParseError, TypeError, ValueError) as exc:
            raise _malformed(f"proto: {exc}") from exc
    message.name = request.params["name"]
    return message


def _protojson(message: Any) -> Response:
    return json_response(json_format.MessageToDict(message))


def converse_alpha1(runtime: Runtime, request: Request) -> Response:
    """Converse with the deprecated single-string API; parameters are echoed on every output."""
    body = _parse(request, ai_pb2.ConversationRequest())
    inputs = [(i.content, i.role, i.scrubPII) for i in body.inputs]
    results = conversation.converse_alpha1(runtime, body.name, inputs, body.scrubPII, body.temperature)
    response = ai_pb2.ConversationResponse(
        outputs=[ai_pb2.ConversationResult(result=r, parameters=dict(body.parameters)) for r in results]
    )
    if body.contextID:
        response.contextID = body.contextID
    return _protojson(response)


def converse_alpha2(runtime: Runtime, request: Request) -> Response:
    """Converse with messages, tools and tool choice."""
    body = _parse(request, ai_pb2.ConversationRequestAlpha2())
    name = body.name
    component = conversation.find(runtime, name)
    if not body.inputs:
        raise conversation.missing_inputs(name)
    messages = [_message(name, m, i.scrub_pii) for i in body.inputs for m in i.messages]
    tools = [_tool(t) for t in body.tools if t.WhichOneof("tool_types") == "function"]
    results = conversation.converse_alpha2(
        component, name, messages, tools or None, body.tool_choice, body.temperature, dict(body.metadata)
    )
    response = ai_pb2.ConversationResponseAlpha2(outputs=[_result(r, body.scrub_pii) for r in results])
    if body.context_id:
        response.context_id = body.context_id
    return _protojson(response)


ROUTES: list[Route] = [
    Route("POST", "/v1.0-alpha1/conversation/{name}/converse", converse_alpha1),
    Route("POST", "/v1.0-alpha2/conversation/{name}/converse", converse_alpha2),
]
