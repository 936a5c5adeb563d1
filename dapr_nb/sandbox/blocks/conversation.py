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
from dataclasses import dataclass
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


# --- PII scrubbing: the default scrubber of github.com/aavaz-ai/pii-scrubber, on UTF-8 bytes as in Go ---

_PATTERNS: dict[str, list[bytes]] = {
    "STREET_ADDRESS": [rb"(?i)\d{1,4} [\w\s]{1,20}(?:street|st|avenue|ave|road|rd|highway|hwy|square|sq|trail|trl"
                       rb"|drive|dr|court|ct|park|parkway|pkwy|circle|cir|boulevard|blvd)\W?"],
    "CREDIT_CARD": [rb"(?:(?:(?:\d{4}[- ]?){3}\d{4}|\d{15,16}))"],
    "PHONE_NUMBER": [
        rb"(?i)(?:(?:\+?1\s*(?:[.-]\s*)?)?(?:\(\s*(?:[2-9]1[02-9]|[2-9][02-8]1|[2-9][02-8][02-9])\s*\)|(?:[2-9]1"
        rb"[02-9]|[2-9][02-8]1|[2-9][02-8][02-9]))\s*(?:[.-]\s*)?)?(?:[2-9]1[02-9]|[2-9][02-9]1|[2-9][02-9]{2})"
        rb"\s*(?:[.-]\s*)?(?:[0-9]{4})(?:\s*(?:#|x\.?|ext\.?|extension)\s*(?:\d+)?)",
        rb"/(?:(?:\+?\d{1,3}[-.\s*]?)?(?:\d\s?){8,11})|(?:(?:\+?\d{1,3}[-.\s*]?)?(?:\(?\d{2,3}\)?[-.\s*]?)?\d{2,3}"
        rb"[-.\s*]?\d{2,6})|(?:(?:(?:\(\+?\d{1,2}\))|(?:\+?\d{1,2}))\s*\d{2}\s*\d{3}\s*\d{4})/gm",
    ],
    "EMAIL_ADDRESS": [rb"(?i)([A-Za-z0-9!#$%&'*+\/=?^_{|.}~-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]"
                      rb"(?:[a-z0-9-]*[a-z0-9])?)"],
    "IP": [rb"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"],
    "ZIP_CODE": [rb"\b\d{5}(?:[-\s]\d{4})?\b"],
    "PO_BOX": [rb"(?i)P\.? ?O\.? Box \d+"],
    "US_SSN": [rb"(?:\d{3}-\d{2}-\d{4})"],
    "ISBN": [rb"(?:[\d]-?){9}[\dxX]", rb"(?:[\d]-?){12}[\dxX]"],
    "MAC_ADDRESS": [rb"(([a-fA-F0-9]{2}[:-]){5}([a-fA-F0-9]{2}))"],
    "IBAN": [rb"[A-Z]{2}\d{2}[A-Z0-9]{4}\d{7}([A-Z\d]?){0,16}"],
}
_LINK = rb"(?:[a-z0-9.\-]+|www|[a-z0-9.\-])[.](?:[^\s()<>]+|\((?:[^\s()<>]+|(?:\([^\s()<>]+\)))*\))+(?:\((?:[^\s()<>]+|(?:\([^\s()<>]+\)))*\)|[^\s!()\[\]{};:\'\".,<>?]))"  # noqa: E501
_IGNORED = [
    rb"(?:(?:https?:\/\/)" + _LINK,
    rb"((git|ssh|http(s)?)|(git@[\w\.]+))(:(\/\/)?)([\w\.@\:/\-~]+)(\.git)(\/)?",
]
_COMPILED = [(placeholder, re.compile(p)) for placeholder, patterns in _PATTERNS.items() for p in patterns]
_COMPILED_IGNORED = [re.compile(p) for p in _IGNORED]


@dataclass
class _Span:
    start: int
    end: int
    kind: str


def scrub(text: str) -> str:
    """Replace e-mail addresses, phone numbers, IPs, card numbers … with ``<KIND>`` placeholders."""
    data = text.encode("utf-8")
    found = _sorted([_Span(m.start(), m.end(), kind) for kind, rx in _COMPILED for m in rx.finditer(data)])
    kept = found[:1]
    for prev, span in zip(found, found[1:], strict=False):
        if span.start <= prev.end:
            if prev.end >= span.end:
                continue
            span.start = prev.end + 1
        kept.append(span)
    ignored = _sorted([_Span(m.start(), m.end(), "") for rx in _COMPILED_IGNORED for m in rx.finditer(data)])
    spans: list[_Span] = []
    i = 0
    for skip in ignored:
        while i < len(kept) and kept[i].end < skip.start:
            spans.append(kept[i])
            i += 1
        while i < len(kept) and kept[i].start <= skip.end:
            i += 1
    spans.extend(kept[i:])
    return _replace(data, spans).decode("utf-8", "replace")


def _sorted(spans: list[_Span]) -> list[_Span]:
    return sorted(spans, key=lambda s: (s.start, -s.end))


def _replace(data: bytes, spans: list[_Span]) -> bytes:
    out, pos, k = bytearray(), 0, 0
    while pos < len(data):
        if k < len(spans) and pos == spans[k].start:
            out += f"<{spans[k].kind}>".encode()
            pos = spans[k].end
            k += 1
            continue
        out.append(data[pos])
        pos += 1
    return bytes(out)
