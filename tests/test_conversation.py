"""Conversation: the echo component through the official SDK's converse_alpha1/alpha2 (sync and aio) and raw stubs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from dapr.proto.runtime.v1 import ai_pb2, dapr_pb2_grpc
from google.protobuf import any_pb2, wrappers_pb2

from dapr_nb.sandbox import Sandbox

ECHO = "echo"


@pytest.fixture
def stub(sandbox: Sandbox) -> Iterator[Any]:
    with grpc.insecure_channel(sandbox.grpc_endpoint) as channel:
        yield dapr_pb2_grpc.DaprStub(channel)


def cv() -> Any:
    from dapr.clients.grpc import conversation

    return conversation


def test_alpha1_joins_inputs_and_echoes_context_and_parameters(dapr_client: Any) -> None:
    c = cv()
    inputs = [c.ConversationInput(content="first words", role="user"), c.ConversationInput(content="second")]
    response = dapr_client.converse_alpha1(ECHO, inputs, context_id="ctx-1", parameters={"p": "v"})
    assert response.context_id == "ctx-1"
    assert [o.result for o in response.outputs] == ["first words\nsecond"]
    value = wrappers_pb2.StringValue()
    assert response.outputs[0].parameters["p"].Unpack(value) and value.value == "v"


def test_alpha1_scrubs_pii_on_input_and_output(dapr_client: Any) -> None:
    c = cv()
    inputs = [c.ConversationInput(content="mail jane@example.com", scrub_pii=True), c.ConversationInput("ip 10.1.2.3")]
    assert dapr_client.converse_alpha1(ECHO, inputs).outputs[0].result == "mail <EMAIL_ADDRESS>\nip 10.1.2.3"
    scrubbed = dapr_client.converse_alpha1(ECHO, inputs, scrub_pii=True).outputs[0].result
    assert scrubbed == "mail <EMAIL_ADDRESS>\nip <IP>"


def test_alpha2_text_and_usage(dapr_client: Any) -> None:
    c = cv()
    messages = [c.create_system_message("be brief"), c.create_user_message("hello there echo")]
    response = dapr_client.converse_alpha2(ECHO, [c.ConversationInputAlpha2(messages=messages)], context_id="c2")
    assert response.context_id == "c2"
    (output,) = response.outputs
    (choice,) = output.choices
    assert (choice.finish_reason, choice.index, choice.message.content) == ("stop", 0, "be brief\nhello there echo")
    assert choice.message.tool_calls == []
    usage = output.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (5, 5, 10)


def test_alpha2_tools_become_tool_calls(dapr_client: Any) -> None:
    c = cv()
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}}
    tools = [
        c.ConversationTools(function=c.ConversationToolsFunction(name="weather", parameters=schema)),
        c.ConversationTools(function=c.ConversationToolsFunction(name="time")),
    ]
    inputs = [c.ConversationInputAlpha2(messages=[c.create_user_message("weather in Paris?")])]
    (choice,) = dapr_client.converse_alpha2(ECHO, inputs, tools=tools).outputs[0].choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "weather in Paris?"
    calls = [(t.id, t.function.name, t.function.arguments) for t in choice.message.tool_calls]
    assert calls == [("0", "weather", "city,unit"), ("1", "time", "")]


def test_alpha2_multi_turn_tool_exchange(dapr_client: Any) -> None:
    c = cv()
    call = c.ConversationToolCalls(id="call-9", function=c.ConversationToolCallsOfFunction(name="f", arguments="{}"))
    messages = [
        c.create_user_message("go"),
        c.ConversationMessage(of_assistant=c.ConversationMessageOfAssistant(tool_calls=[call])),
        c.create_tool_message(tool_id="call-9", name="f", content="42"),
    ]
    (choice,) = dapr_client.converse_alpha2(ECHO, [c.ConversationInputAlpha2(messages=messages)]).outputs[0].choices
    assert choice.message.content == "go\nTool Response for tool ID 'call-9' with name 'f': 42"
    assert [(t.id, t.function.name) for t in choice.message.tool_calls] == [("call-9", "f")]
    assert choice.finish_reason == "tool_calls"


def test_unknown_component_and_missing_inputs(dapr_client: Any) -> None:
    from dapr.clients.exceptions import DaprGrpcError

    c = cv()
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.converse_alpha1("nope", [c.ConversationInput(content="hi")])
    assert (info.value.code(), info.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "failed finding conversation component nope",
    )
    assert info.value.error_code() == "UNKNOWN"  # a legacy daprd error: no ErrorInfo
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.converse_alpha2(ECHO, [])
    assert info.value.details() == "failed conversing with component echo: missing inputs in request"
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.converse_alpha2("nope", [])
    assert info.value.details() == "failed finding conversation component nope"


@pytest.mark.parametrize(
    ("tool_choice", "with_tools", "why"),
    [
        ("required", False, "tool choice must be 'auto', 'none', 'required', or a specific tool name matching the "
                            "tools available to be used"),  # fmt: skip
        ("other", True, "tool choice selected was not found. Must be 'auto', 'none', 'required', or a specific tool "
                        "name matching the tools available to be used"),  # fmt: skip
    ],
)
def test_tool_choice_is_checked(dapr_client: Any, tool_choice: str, with_tools: bool, why: str) -> None:
    from dapr.clients.exceptions import DaprGrpcError

    c = cv()
    tools = [c.ConversationTools(function=c.ConversationToolsFunction(name="f"))] if with_tools else None
    inputs = [c.ConversationInputAlpha2(messages=[c.create_user_message("x")])]
    with pytest.raises(DaprGrpcError) as info:
        dapr_client.converse_alpha2(ECHO, inputs, tools=tools, tool_choice=tool_choice)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == f"failed conversing with component echo: invalid params: {why}"
    response = dapr_client.converse_alpha2(ECHO, inputs, tools=tools, tool_choice="f" if with_tools else "none")
    assert response.outputs[0].choices[0].message.content == "x"


def test_message_without_a_type_is_invalid(stub: Any) -> None:
    request = ai_pb2.ConversationRequestAlpha2(
        name=ECHO, inputs=[ai_pb2.ConversationInputAlpha2(messages=[ai_pb2.ConversationMessage()])]
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.ConverseAlpha2(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "failed conversing with component echo: invalid params: message type cannot be nil"


def test_alpha1_raw_parameters_round_trip(stub: Any) -> None:
    packed = any_pb2.Any()
    packed.Pack(wrappers_pb2.Int64Value(value=7))
    request = ai_pb2.ConversationRequest(
        name=ECHO, inputs=[ai_pb2.ConversationInput(content="a b c")], parameters={"k": packed}
    )
    response = stub.ConverseAlpha1(request, timeout=10)
    assert not response.HasField("contextID")
    assert [o.result for o in response.outputs] == ["a b c"]
    assert response.outputs[0].parameters["k"] == packed


def test_aio_client(sdk_env: Sandbox) -> None:
    from dapr.aio.clients import DaprClient

    c = cv()

    async def run() -> Any:
        async with DaprClient() as client:
            inputs = [c.ConversationInputAlpha2(messages=[c.create_user_message("async hello")])]
            return await client.converse_alpha2(ECHO, inputs)

    assert asyncio.run(run()).outputs[0].choices[0].message.content == "async hello"
