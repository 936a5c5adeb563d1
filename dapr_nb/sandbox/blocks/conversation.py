"""Conversation (ConverseAlpha1 / ConverseAlpha2) as daprd's universal API runs it.

Rules (``dapr/dapr: pkg/api/universal/conversation.go``): an unknown component is
``failed finding conversation component <name>``; no inputs is ``… missing inputs in request``;
malformed messages, tool calls and tool choices are ``… invalid params: <why>``; a component
failure is ``failed conversing with component <name>: <err>`` (INTERNAL). These are daprd's legacy
API errors: a code and a message, no ErrorInfo. ``scrubPII`` replaces personal data with
placeholders such as ``<EMAIL_ADDRESS>`` using the rules of the ``pii-scrubber`` library daprd uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import grpc

from ..components.conversation_echo import (
    ConversationError,
    ConversationRequest,
    ConversationResult,
    Message,
    Tool,
)
from ..errors import DaprApiError
from ..runtime import Runtime

ROLES = {"user": "human", "human": "human", "system": "system", "assistant": "ai", "ai": "ai", "tool": "tool",
         "function": "function", "generic": "generic"}  # fmt: skip
"""daprd's Alpha1 role names → langchaingo chat message types (anything else is ``human``)."""


class Conversation(Protocol):
    """What the block needs of a conversation component."""

    def converse(self, request: ConversationRequest) -> list[ConversationResult]:
        """Answer a request."""
        ...


def not_found(name: str) -> DaprApiError:
    """Return daprd's error for an unknown conversation component."""
    return DaprApiError(grpc.StatusCode.INVALID_ARGUMENT, f"failed finding conversation component {name}",
                        error_code="ERR_CONVERSATION_NOT_FOUND")  # fmt: skip


def missing_inputs(name: str) -> DaprApiError:
    """Return daprd's error for a request without inputs."""
    return DaprApiError(grpc.StatusCode.INVALID_ARGUMENT,
                        f"failed conversing with component {name}: missing inputs in request",
                        error_code="ERR_CONVERSATION_MISSING_INPUTS")  # fmt: skip


def invalid_params(name: str, why: str) -> DaprApiError:
    """Return daprd's error for malformed messages, tool calls or tool choices."""
    return DaprApiError(grpc.StatusCode.INVALID_ARGUMENT,
                        f"failed conversing with component {name}: invalid params: {why}",
                        error_code="ERR_CONVERSATION_INVALID_PARMS")  # fmt: skip


def invoke_failed(name: str, why: str) -> DaprApiError:
    """Return daprd's error for a component failure."""
    return DaprApiError(grpc.StatusCode.INTERNAL, f"failed conversing with component {name}: {why}",
                        error_code="ERR_CONVERSATION_INVOKE")  # fmt: skip


def find(runtime: Runtime, name: str) -> Conversation:
    """Return the conversation component ``name`` or raise daprd's not-found error."""
    component = runtime.components("conversation").get(name)
    if component is None:
        raise not_found(name)
    return component  # type: ignore[return-value]


def converse_alpha1(
    runtime: Runtime, name: str, inputs: Sequence[tuple[str, str, bool]], scrub_output: bool, temperature: float
) -> list[str]:
    """Run Alpha1: ``inputs`` are ``(content, role, scrubPII)``; return one result string per output."""
    component = find(runtime, name)
    if not inputs:
        raise missing_inputs(name)
    messages = [
        Message(ROLES.get(role, "human"), (scrub(content) if scrub_it else content,))
        for content, role, scrub_it in inputs
    ]
    results = _invoke(component, name, ConversationRequest(messages, tools=[], temperature=temperature))
    outputs = []
    for result in results:
        content = result.choices[0].content if result.choices else ""
        outputs.append(scrub(content) if scrub_output else content)
    return outputs


def converse_alpha2(
    component: Conversation,
    name: str,
    messages: Sequence[Message],
    tools: Sequence[Tool] | None,
    tool_choice: str,
    temperature: float,
    metadata: dict[str, str],
) -> list[ConversationResult]:
    """Run Alpha2 on already converted messages: check the tool choice, then ask the component."""
    if not tool_choice and tools:
        tool_choice = "auto"
    if tool_choice == "required" and not tools:
        raise invalid_params(name, "tool choice must be 'auto', 'none', 'required', or a specific tool name "
                                   "matching the tools available to be used")  # fmt: skip
    if tool_choice not in ("auto", "none", "", "required") and tools and tool_choice not in {t.name for t in tools}:
        raise invalid_params(name, "tool choice selected was not found. Must be 'auto', 'none', 'required', or a "
                                   "specific tool name matching the tools available to be used")  # fmt: skip
    request = ConversationRequest(
        messages, tools=tools, temperature=temperature, tool_choice=tool_choice or None, metadata=metadata
    )
    return _invoke(component, name, request)


def _invoke(component: Conversation, name: str, request: ConversationRequest) -> list[ConversationResult]:
    try:
        return component.converse(request)
    except ConversationError as exc:
        raise invoke_failed(name, str(exc)) from exc


# --- PII scrubbing: the sandbox's own small scrubber (daprd uses a larger third-party one) ---

_PII = [
    ("EMAIL_ADDRESS", re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")),
    ("IP", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")),
    ("CREDIT_CARD", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("US_SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("PHONE_NUMBER", re.compile(r"(?<!\w)\+?\d[\d ().-]{7,}\d\b")),
]


def scrub(text: str) -> str:
    """Replace e-mail addresses, IPs, card numbers, SSNs and phone numbers with ``<KIND>`` placeholders."""
    for kind, pattern in _PII:
        text = pattern.sub(f"<{kind}>", text)
    return text
