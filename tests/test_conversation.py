"""Conversation: the echo component through the official SDK's converse_alpha1/alpha2 (sync and aio), raw stubs
and daprd's HTTP routes (raw urllib)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
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


# --- HTTP: POST /v1.0-alpha1|/v1.0-alpha2/conversation/{name}/converse (protojson in and out) ---


def converse_http(sb: Sandbox, version: str, name: str, body: bytes | dict[str, Any], method: str = "POST") -> Any:
    """Send a raw HTTP converse request; return (status, parsed JSON body)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(
        f"{sb.http_endpoint}/v1.0-{version}/conversation/{name}/converse",
        data=data if method == "POST" else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"] == "application/json"
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_http_alpha1_scrubs_and_echoes_context_and_parameters(sandbox: Sandbox) -> None:
    int64 = {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "7"}
    body = {
        "name": "ignored: the path names the component",
        "contextID": "ctx-h1",
        "inputs": [{"content": "mail jane@example.com", "role": "user"}, {"content": "ip 10.1.2.3", "scrubPII": True}],
        "parameters": {"k": int64},
        "unknownField": "ignored",
    }
    status, answer = converse_http(sandbox, "alpha1", ECHO, body)
    assert status == 200
    assert answer == {
        "contextID": "ctx-h1",
        "outputs": [{"result": "mail jane@example.com\nip <IP>", "parameters": {"k": int64}}],
    }
    status, answer = converse_http(sandbox, "alpha1", ECHO, {"inputs": [{"content": "a@b.io"}], "scrubPII": True})
    assert (status, answer) == (200, {"outputs": [{"result": "<EMAIL_ADDRESS>"}]})


def test_http_alpha2_messages_tools_and_usage(sandbox: Sandbox) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}}
    body = {
        "context_id": "ctx-h2",  # proto names work as well as json names
        "inputs": [{"messages": [
            {"ofSystem": {"content": [{"text": "be brief"}]}},
            {"of_user": {"content": [{"text": "weather in Paris?"}]}},
        ]}],
        "tools": [{"function": {"name": "weather", "parameters": schema}}, {"function": {"name": "time"}}],
        "toolChoice": "weather",
    }  # fmt: skip
    status, answer = converse_http(sandbox, "alpha2", ECHO, body)
    assert status == 200
    assert answer == {
        "contextId": "ctx-h2",
        "outputs": [{
            "choices": [{  # index 0 is protojson's default: left out
                "finishReason": "tool_calls",
                "message": {
                    "content": "be brief\nweather in Paris?",
                    "toolCalls": [
                        {"id": "0", "function": {"name": "weather", "arguments": "city,unit"}},
                        {"id": "1", "function": {"name": "time"}},
                    ],
                },
            }],
            "usage": {"completionTokens": "5", "promptTokens": "5", "totalTokens": "10"},  # 64-bit ints: strings
        }],
    }  # fmt: skip


def test_http_alpha2_tool_exchange_and_scrubbing(sandbox: Sandbox) -> None:
    body = {
        "scrubPii": True,
        "inputs": [
            {"messages": [{"ofUser": {"content": [{"text": "go"}]}}]},
            {"messages": [
                {"ofAssistant": {"toolCalls": [{"id": "call-9", "function": {"name": "f", "arguments": "{}"}}]}},
                {"ofTool": {"toolId": "call-9", "name": "f", "content": [{"text": "mail jane@example.com"}]}},
            ]},
        ],
    }  # fmt: skip
    status, answer = converse_http(sandbox, "alpha2", ECHO, body)
    assert status == 200
    (choice,) = answer["outputs"][0]["choices"]
    expected = "go\nTool Response for tool ID 'call-9' with name 'f': mail <EMAIL_ADDRESS>"
    assert choice["message"] == {"content": expected, "toolCalls": [{"id": "call-9", "function": {"name": "f",
                                                                                                   "arguments": "{}"}}]}
    assert choice["finishReason"] == "tool_calls"


@pytest.mark.parametrize(
    ("version", "name", "body", "status", "error_code", "message"),
    [
        ("alpha1", "nope", {"inputs": [{"content": "hi"}]}, 400, "ERR_CONVERSATION_NOT_FOUND",
         "failed finding conversation component nope"),
        ("alpha2", "nope", b"", 400, "ERR_CONVERSATION_NOT_FOUND", "failed finding conversation component nope"),
        ("alpha1", ECHO, b"", 400, "ERR_CONVERSATION_MISSING_INPUTS",
         "failed conversing with component echo: missing inputs in request"),
        ("alpha2", ECHO, {"inputs": []}, 400, "ERR_CONVERSATION_MISSING_INPUTS",
         "failed conversing with component echo: missing inputs in request"),
        ("alpha2", ECHO, {"inputs": [{"messages": [{}]}]}, 400, "ERR_CONVERSATION_INVALID_PARMS",
         "failed conversing with component echo: invalid params: message type cannot be nil"),
        ("alpha2", ECHO, {"inputs": [{"messages": [{"ofUser": {}}]}], "toolChoice": "required"}, 400,
         "ERR_CONVERSATION_INVALID_PARMS", "failed conversing with component echo: invalid params: tool choice must "
         "be 'auto', 'none', 'required', or a specific tool name matching the tools available to be used"),
        ("alpha2", ECHO, {"inputs": [{"messages": [{"ofUser": {}}]}],
                          "tools": [{"function": {"name": "f", "parameters": {"properties": "x"}}}]}, 500,
         "ERR_CONVERSATION_INVOKE",
         "failed conversing with component echo: tool function properties must be a map[string]any, got str"),
    ],
)  # fmt: skip
def test_http_errors(sandbox: Sandbox, version: str, name: str, body: Any, status: int, error_code: str,
                     message: str) -> None:
    assert converse_http(sandbox, version, name, body) == (status, {"errorCode": error_code, "message": message})


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"inputs": 3}'])
def test_http_malformed_body(sandbox: Sandbox, body: bytes) -> None:
    for version in ("alpha1", "alpha2"):
        status, answer = converse_http(sandbox, version, ECHO, body)
        assert (status, answer["errorCode"]) == (400, "ERR_MALFORMED_REQUEST")
        assert answer["message"].startswith("failed deserializing HTTP body: ")


def test_http_routes_are_post_only(sandbox: Sandbox) -> None:
    # daprd's router hands wrong methods and unknown paths to service invocation, which finds no dapr-app-id
    status, answer = converse_http(sandbox, "alpha2", ECHO, b"", method="GET")
    assert (status, answer["errorCode"]) == (404, "ERR_DIRECT_INVOKE")
    status, answer = converse_http(sandbox, "alpha3", ECHO, {"inputs": [{"content": "x"}]})
    assert (status, answer["errorCode"]) == (404, "ERR_DIRECT_INVOKE")
