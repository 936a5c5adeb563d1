"""Conversation (LLM) API: send inputs to a conversation component, get its outputs (ConverseAlpha1).

Rule: inputs are plain strings (or ``(role, content)`` pairs); outputs come back as strings in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dapr.proto.runtime.v1 import ai_pb2

from .ops import Call, Op
from .results import ConversationResult
from .values import str_map


def converse(
    name: str,
    inputs: str | Iterable[str | tuple[str, str]],
    *,
    context_id: str | None = None,
    temperature: float | None = None,
    scrub_pii: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> Op[ConversationResult]:
    """Send ``inputs`` to the conversation component ``name`` and return its outputs."""
    items = [inputs] if isinstance(inputs, str) else list(inputs)
    messages = [
        ai_pb2.ConversationInput(content=i, role="user") if isinstance(i, str)
        else ai_pb2.ConversationInput(role=i[0], content=i[1])
        for i in items
    ]
    request = ai_pb2.ConversationRequest(name=name, inputs=messages, scrubPII=scrub_pii, metadata=str_map(metadata))
    if context_id is not None:
        request.contextID = context_id
    if temperature is not None:
        request.temperature = temperature
    reply: ai_pb2.ConversationResponse = yield Call("ConverseAlpha1", request)
    return ConversationResult(reply.contextID, tuple(o.result for o in reply.outputs))
