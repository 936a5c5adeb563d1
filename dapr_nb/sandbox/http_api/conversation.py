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

from typing import TypeVar

from dapr.proto.runtime.v1 import ai_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from ..blocks import conversation_proto
from ..runtime import Runtime
from ._base import Request, Response, Route, json_response

_Converse = TypeVar("_Converse", ai_pb2.ConversationRequest, ai_pb2.ConversationRequestAlpha2)


def _parse(request: Request, message_cls: type[_Converse]) -> _Converse:
    """Read the body as ``message_cls`` and take the component name from the path."""
    message = request.proto(message_cls)
    message.name = request.params["name"]
    return message


def _protojson(message: Message) -> Response:
    return json_response(json_format.MessageToDict(message))


def converse_alpha1(runtime: Runtime, request: Request) -> Response:
    """Converse with the deprecated single-string API."""
    return _protojson(conversation_proto.converse_alpha1(runtime, _parse(request, ai_pb2.ConversationRequest)))


def converse_alpha2(runtime: Runtime, request: Request) -> Response:
    """Converse with messages, tools and tool choice."""
    return _protojson(conversation_proto.converse_alpha2(runtime, _parse(request, ai_pb2.ConversationRequestAlpha2)))


ROUTES: list[Route] = [
    Route("POST", "/v1.0-alpha1/conversation/{name}/converse", converse_alpha1),
    Route("POST", "/v1.0-alpha2/conversation/{name}/converse", converse_alpha2),
]
