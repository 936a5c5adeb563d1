"""Conversation (``conversation.echo``) on the sandbox and on daprd: alpha1 and alpha2, gRPC and HTTP, errors."""

from __future__ import annotations

from typing import Any

from dapr.proto.runtime.v1 import ai_pb2
from differential import OnBoth, Sidecar, Stub, as_dict, http, raises, same

ECHO = "echo"


def user(text: str) -> Any:
    """Return an alpha2 user message."""
    content = ai_pb2.ConversationMessageContent(text=text)
    return ai_pb2.ConversationMessage(of_user=ai_pb2.ConversationMessageOfUser(content=[content]))


def conversation(sidecar: Sidecar) -> Any:
    """Echo one and two inputs on alpha1 and alpha2, an unknown component, no inputs; the same over HTTP."""
    alpha1 = ai_pb2.ConversationRequest(name=ECHO, inputs=[ai_pb2.ConversationInput(content="hello")])
    alpha2 = ai_pb2.ConversationRequestAlpha2(
        name=ECHO,
        context_id="ctx-1",
        inputs=[ai_pb2.ConversationInputAlpha2(messages=[user("first"), user("second")])],
    )
    with Stub(sidecar) as dapr:
        grpc_answers = {
            "alpha1": as_dict(dapr.ConverseAlpha1(alpha1)),
            "alpha2": as_dict(dapr.ConverseAlpha2(alpha2)),
            "unknown": raises(lambda: dapr.ConverseAlpha2(ai_pb2.ConversationRequestAlpha2(name="nollm"))),
            "no_inputs": raises(lambda: dapr.ConverseAlpha2(ai_pb2.ConversationRequestAlpha2(name=ECHO))),
            "alpha1_unknown": raises(lambda: dapr.ConverseAlpha1(ai_pb2.ConversationRequest(name="nollm"))),
        }
    alpha2_body = {"inputs": [{"messages": [{"ofUser": {"content": [{"text": "over http"}]}}]}]}
    http_answers = {
        "alpha1": http(sidecar, "POST", f"/v1.0-alpha1/conversation/{ECHO}/converse", {"inputs": [{"content": "hi"}]}),
        "alpha2": http(sidecar, "POST", f"/v1.0-alpha2/conversation/{ECHO}/converse", alpha2_body),
        "unknown": http(sidecar, "POST", "/v1.0-alpha2/conversation/nollm/converse", alpha2_body),
        "no_inputs": http(sidecar, "POST", f"/v1.0-alpha2/conversation/{ECHO}/converse", {}),
        "malformed": http(sidecar, "POST", f"/v1.0-alpha2/conversation/{ECHO}/converse", "{"),
    }
    return {"grpc": grpc_answers, "http": http_answers}


def test_echo_conversation(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(conversation)
    assert on_sandbox["grpc"]["alpha1"]["outputs"][0]["result"] == "hello"
    same(on_sandbox, on_daprd)
