"""Conversation requests and responses as protobuf messages, for the gRPC and HTTP surfaces alike.

Rules: each function takes the request message daprd's API receives (gRPC as sent, HTTP as decoded
from protojson with the component name from the path) and returns the response message. Alpha2
messages become component messages as daprd builds them: developer and user messages are
``human``, assistant tool calls become tool-call parts, tool messages become tool responses; each
input's ``scrub_pii`` scrubs its texts before the component sees them, the request's ``scrub_pii``
scrubs the answers. Alpha1 parameters are echoed on every output.
"""

from __future__ import annotations

from dapr.proto.runtime.v1 import ai_pb2
from google.protobuf import json_format

from ..components.conversation_echo import ConversationResult, Message, Part, Tool, ToolCall, ToolResponse
from ..runtime import Runtime
from . import conversation

_ROLES = {"of_developer": "human", "of_system": "system", "of_user": "human", "of_assistant": "ai"}


def converse_alpha1(runtime: Runtime, request: ai_pb2.ConversationRequest) -> ai_pb2.ConversationResponse:
    """Answer a ``ConversationRequest`` with a ``ConversationResponse``."""
    inputs = [(i.content, i.role, i.scrubPII) for i in request.inputs]
    results = conversation.converse_alpha1(runtime, request.name, inputs, request.scrubPII, request.temperature)
    response = ai_pb2.ConversationResponse(
        outputs=[ai_pb2.ConversationResult(result=r, parameters=dict(request.parameters)) for r in results]
    )
    if request.contextID:
        response.contextID = request.contextID
    return response


def converse_alpha2(
    runtime: Runtime, request: ai_pb2.ConversationRequestAlpha2
) -> ai_pb2.ConversationResponseAlpha2:
    """Answer a ``ConversationRequestAlpha2`` with a ``ConversationResponseAlpha2``."""
    name = request.name
    component = conversation.find(runtime, name)
    if not request.inputs:
        raise conversation.missing_inputs(name)
    messages = [_message(name, m, i.scrub_pii) for i in request.inputs for m in i.messages]
    tools = [_tool(t) for t in request.tools if t.WhichOneof("tool_types") == "function"]
    results = conversation.converse_alpha2(
        component, name, messages, tools or None, request.tool_choice, request.temperature, dict(request.metadata)
    )
    response = ai_pb2.ConversationResponseAlpha2(outputs=[_result(r, request.scrub_pii) for r in results])
    if request.context_id:
        response.context_id = request.context_id
    return response


def _message(component: str, message: ai_pb2.ConversationMessage, scrub: bool) -> Message:
    kind = message.WhichOneof("message_types")
    if kind is None:
        raise conversation.invalid_params(component, "message type cannot be nil")
    body = getattr(message, kind)
    texts = [conversation.scrub(c.text) if scrub else c.text for c in body.content]
    if kind == "of_tool":
        tool_id = body.tool_id if body.HasField("tool_id") else ""
        return Message("tool", tuple(ToolResponse(tool_id, body.name, text) for text in texts))
    parts: list[Part] = list(texts)
    if kind == "of_assistant":
        for call in body.tool_calls:
            if call.WhichOneof("tool_types") is None:
                raise conversation.invalid_params(component, "tool types cannot be nil")
            parts.append(ToolCall(call.id, "function", call.function.name, call.function.arguments))
    return Message(_ROLES[kind], tuple(parts))


def _tool(tool: ai_pb2.ConversationTools) -> Tool:
    function = tool.function
    parameters = json_format.MessageToDict(function.parameters) if function.HasField("parameters") else {}
    return Tool("function", function.name, function.description, parameters)


def _result(result: ConversationResult, scrub: bool) -> ai_pb2.ConversationResultAlpha2:
    choices = []
    for choice in result.choices:
        message = ai_pb2.ConversationResultMessage()
        if choice.content:
            message.content = conversation.scrub(choice.content) if scrub else choice.content
        for call in choice.tool_calls:
            out = message.tool_calls.add()
            out.function.name, out.function.arguments = call.name, call.arguments
            if call.id:
                out.id = call.id
        choices.append(
            ai_pb2.ConversationResultChoices(finish_reason=choice.finish_reason, index=choice.index, message=message)
        )
    output = ai_pb2.ConversationResultAlpha2(choices=choices)
    if result.usage is not None:
        output.usage.completion_tokens = result.usage.completion_tokens
        output.usage.prompt_tokens = result.usage.prompt_tokens
        output.usage.total_tokens = result.usage.total_tokens
    if result.model:
        output.model = result.model
    return output
