"""gRPC methods for metadata and lifecycle: GetMetadata, SetMetadata, Shutdown."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import dapr_pb2, metadata_pb2
from google.protobuf import empty_pb2

from ..blocks.metadata import get_metadata
from ._base import RpcBase, unary

_SUB_TYPES: dict[str, metadata_pb2.PubsubSubscriptionType.ValueType] = {
    "DECLARATIVE": metadata_pb2.DECLARATIVE,
    "PROGRAMMATIC": metadata_pb2.PROGRAMMATIC,
    "STREAMING": metadata_pb2.STREAMING,
}


class MetadataRpcs(RpcBase):
    """GetMetadata, SetMetadata and Shutdown."""

    @unary
    def GetMetadata(  # noqa: N802
        self, request: metadata_pb2.GetMetadataRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.GetMetadataResponse:
        """Report app id, runtime version, components, extended metadata and subscriptions."""
        meta = get_metadata(self.runtime)
        return metadata_pb2.GetMetadataResponse(
            id=meta.app_id,
            runtime_version=meta.runtime_version,
            extended_metadata=meta.extended,
            registered_components=[
                metadata_pb2.RegisteredComponents(
                    name=c.name, type=c.type, version=c.version, capabilities=c.capabilities
                )
                for c in meta.components
            ],
            subscriptions=[
                metadata_pb2.PubsubSubscription(
                    pubsub_name=s.pubsub_name,
                    topic=s.topic,
                    metadata=s.metadata,
                    rules=metadata_pb2.PubsubSubscriptionRules(rules=[metadata_pb2.PubsubSubscriptionRule(path="/")]),
                    dead_letter_topic=s.dead_letter_topic,
                    type=_SUB_TYPES.get(s.type, metadata_pb2.UNKNOWN),
                )
                for s in meta.subscriptions
            ],
            actor_runtime=metadata_pb2.ActorRuntime(runtime_status=metadata_pb2.ActorRuntime.DISABLED),
            workflows=metadata_pb2.MetadataWorkflows(connected_workers=meta.connected_workers),
            app_connection_properties=metadata_pb2.AppConnectionProperties(
                port=int(str(meta.app_connection.get("port", 0))),
                protocol=str(meta.app_connection.get("protocol", "")),
                channel_address=str(meta.app_connection.get("channelAddress", "")),
                max_concurrency=int(str(meta.app_connection.get("maxConcurrency", 0))),
            ),
        )

    @unary
    def SetMetadata(  # noqa: N802
        self, request: metadata_pb2.SetMetadataRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        """Add an extended metadata attribute."""
        self.runtime.set_metadata(request.key, request.value)
        return empty_pb2.Empty()

    @unary
    def Shutdown(  # noqa: N802
        self, request: dapr_pb2.ShutdownRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        """Ask the sandbox to stop, as daprd does after answering."""
        self.runtime.shutdown_requested.set()
        return empty_pb2.Empty()
