"""``conversation.echo``: the LLM stand-in of components-contrib (``conversation/echo/echo.go``).

Rules: one output with one choice whose content is every text part of every message, and every
tool response rendered as ``Tool Response for tool ID '<id>' with name '<name>': <content>``, joined
with newlines. Each tool in the request becomes a tool call (id = its index, arguments = the sorted
names of ``parameters.properties`` joined with commas), as do tool calls already in the messages;
any tool call makes the finish reason ``tool_calls`` instead of ``stop``. Usage counts words of the
content for both prompt and completion tokens (total = twice that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..resources import ComponentSpec
from . import BuildContext, Component


class ConversationError(Exception):
    """A conversation component rejected a request; the message is the component's own."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call requested by the model (or replayed from an earlier assistant turn)."""

    id: str
    type: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResponse:
    """A tool's answer fed back to the model."""

    tool_call_id: str
    name: str
    content: str


Part = str | ToolCall | ToolResponse
"""A message part: text, a tool call, or a tool response."""


@dataclass(frozen=True)
class Message:
    """One chat message: a role (``human``, ``system``, ``ai``, ``tool`` …) and its parts."""

    role: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Tool:
    """A function the model may call; ``parameters`` is its JSON schema as a dict (or None)."""

    type: str
    name: str
    description: str = ""
    parameters: Any = None


@dataclass(frozen=True)
class Usage:
    """Token counts as the component reports them."""

    completion_tokens: int
    prompt_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class Choice:
    """One candidate answer."""

    finish_reason: str
    index: int
    content: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class ConversationResult:
    """One output: its choices, usage and model name (empty for echo)."""

    choices: tuple[Choice, ...]
    usage: Usage | None = None
    model: str = ""


@dataclass(frozen=True)
class ConversationRequest:
    """What daprd hands a conversation component."""

    messages: Sequence[Message] | None
    tools: Sequence[Tool] | None = None
    temperature: float = 0.0
    tool_choice: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class EchoConversation(Component):
    """Answers with what it was told."""

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> EchoConversation:
        """Build the component; echo has no metadata."""
        return cls(spec)

    def converse(self, request: ConversationRequest) -> list[ConversationResult]:
        """Echo the request back as one result (none when the request carries no messages)."""
        if request.messages is None:
            return []
        calls = tool_calls_for(request.tools) if request.tools is not None else []
        texts: list[str] = []
        for message in request.messages:
            for part in message.parts:
                if isinstance(part, str):
                    texts.append(part)
                elif isinstance(part, ToolCall):
                    calls.append(part)
                else:
                    texts.append(
                        f"Tool Response for tool ID '{part.tool_call_id}' with name '{part.name}': {part.content}"
                    )
        content = "\n".join(texts)
        reason = "tool_calls" if calls else "stop"
        tokens = len(content.split())
        choice = Choice(finish_reason=reason, index=0, content=content, tool_calls=tuple(calls))
        return [ConversationResult((choice,), Usage(tokens, tokens, 2 * tokens))]


def tool_calls_for(tools: Sequence[Tool]) -> list[ToolCall]:
    """Turn each tool into the call echo makes of it; raise ConversationError on a malformed schema."""
    calls: list[ToolCall] = []
    for index, tool in enumerate(tools):
        parameters = tool.parameters
        if parameters is not None and not isinstance(parameters, dict):
            raise ConversationError(
                f"tool function parameters must be a map[string]any, got {type(parameters).__name__}"
            )
        names: list[str] = []
        properties = (parameters or {}).get("properties")
        if properties is not None:
            if not isinstance(properties, dict):
                raise ConversationError(
                    f"tool function properties must be a map[string]any, got {type(properties).__name__}"
                )
            names = sorted(properties)
        calls.append(ToolCall(id=str(index), type=tool.type, name=tool.name, arguments=",".join(names)))
    return calls
