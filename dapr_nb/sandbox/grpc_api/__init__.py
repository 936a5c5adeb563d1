"""The ``dapr.proto.runtime.v1.Dapr`` servicer: one mixin per building block over the generated base.

RPCs no mixin implements fall through to the generated ``DaprServicer`` and answer UNIMPLEMENTED,
as an older daprd would; that is what triggers the SDK's stable → Alpha1 fallbacks.
"""

from __future__ import annotations

from dapr.proto.runtime.v1 import dapr_pb2_grpc

from ..runtime import Runtime
from .bindings import BindingRpcs
from .configuration import ConfigurationRpcs
from .conversation import ConversationRpcs
from .invoke import InvokeRpcs
from .jobs import JobRpcs
from .lock import LockRpcs
from .metadata import MetadataRpcs
from .pubsub import PubSubRpcs
from .secrets import SecretRpcs
from .state import StateRpcs


class DaprApi(
    StateRpcs,
    PubSubRpcs,
    ConfigurationRpcs,
    LockRpcs,
    SecretRpcs,
    BindingRpcs,
    JobRpcs,
    ConversationRpcs,
    InvokeRpcs,
    MetadataRpcs,
    dapr_pb2_grpc.DaprServicer,  # type: ignore[misc,no-any-unimported]  # generated without stubs
):
    """The sandbox's Dapr API servicer."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
