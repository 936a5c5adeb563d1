"""The servicers' annotations name the messages the service descriptor says each RPC takes and answers.

mypy checks the handlers against their annotations; this checks the annotations against the protos.
"""

from __future__ import annotations

import collections.abc
import typing

import pytest
from dapr.proto.runtime.v1 import dapr_pb2, dapr_pb2_grpc
from google.protobuf.message import Message

from dapr_nb.sandbox.grpc_api import DaprApi

SERVICE = dapr_pb2.DESCRIPTOR.services_by_name["Dapr"]
IMPLEMENTED = sorted(
    m.name for m in SERVICE.methods if getattr(DaprApi, m.name) is not getattr(dapr_pb2_grpc.DaprServicer, m.name)
)


def _message(hint: object, streaming: bool) -> str:
    """Return the full proto name a parameter or return annotation names (``AsyncIterator[X]`` when streaming).

    Streams run on the server's event loop, so a streaming side is always an async iterator.
    """
    if streaming:
        assert typing.get_origin(hint) is collections.abc.AsyncIterator, hint
        (hint,) = typing.get_args(hint)
    assert isinstance(hint, type) and issubclass(hint, Message), hint
    return str(hint.DESCRIPTOR.full_name)


def test_the_sandbox_implements_the_building_blocks() -> None:
    assert {"GetState", "PublishEvent", "SubscribeTopicEventsAlpha1", "ConverseAlpha2", "ListJobsAlpha1"} <= set(
        IMPLEMENTED
    )


@pytest.mark.parametrize("name", IMPLEMENTED)
def test_handler_annotations_match_the_service_descriptor(name: str) -> None:
    method = SERVICE.methods_by_name[name]
    hints = typing.get_type_hints(getattr(DaprApi, name))
    request = next(k for k in hints if k not in ("self", "context", "return"))
    assert _message(hints[request], method.client_streaming) == method.input_type.full_name
    assert _message(hints["return"], method.server_streaming) == method.output_type.full_name
