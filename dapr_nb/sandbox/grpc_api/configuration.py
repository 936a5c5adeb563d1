"""gRPC methods of the configuration building block (thin: protobuf <-> blocks.configuration).

Rule: a SubscribeConfiguration stream holds a server thread only while the subscription lives;
it ends with OK on UnsubscribeConfiguration, and promptly when the client cancels (a gRPC
termination callback closes the subscription, which wakes the waiting thread).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import configuration_pb2 as api

from ..blocks import configuration
from ..components.configuration_sandbox import ConfigItem
from ._base import RpcBase, streaming, unary


def _items(items: Mapping[str, ConfigItem]) -> dict[str, common_pb2.ConfigurationItem]:
    return {
        key: common_pb2.ConfigurationItem(value=item.value, version=item.version, metadata=item.metadata)
        for key, item in items.items()
    }


class ConfigurationRpcs(RpcBase):
    """Get/Subscribe/UnsubscribeConfiguration and their Alpha1 twins (aliases, as in daprd)."""

    @unary
    def GetConfiguration(  # noqa: N802
        self, request: api.GetConfigurationRequest, context: grpc.ServicerContext
    ) -> api.GetConfigurationResponse:
        """Return the requested items (every item when no keys are given)."""
        items = configuration.get_items(self.runtime, request.store_name, list(request.keys))
        return api.GetConfigurationResponse(items=_items(items))

    @streaming
    def SubscribeConfiguration(  # noqa: N802
        self, request: api.SubscribeConfigurationRequest, context: grpc.ServicerContext
    ) -> Iterator[api.SubscribeConfigurationResponse]:
        """Send the subscription id, then each change (changed keys only) until unsubscribed or cancelled."""
        sub = configuration.subscribe(self.runtime, request.store_name, list(request.keys))
        if not context.add_callback(sub.close):
            sub.close()
        try:
            yield api.SubscribeConfigurationResponse(id=sub.id)
            for changes in sub.updates():
                yield api.SubscribeConfigurationResponse(id=sub.id, items=_items(changes))
        finally:
            sub.close()

    @unary
    def UnsubscribeConfiguration(  # noqa: N802
        self, request: api.UnsubscribeConfigurationRequest, context: grpc.ServicerContext
    ) -> api.UnsubscribeConfigurationResponse:
        """End a subscription's stream; an unknown id is ``ok=false`` with daprd's message, not an error."""
        if configuration.unsubscribe_any(self.runtime, request.id):
            return api.UnsubscribeConfigurationResponse(ok=True)
        message = configuration.unsubscribe_message(request.id, "subscription does not exist")
        return api.UnsubscribeConfigurationResponse(ok=False, message=message)

    GetConfigurationAlpha1 = GetConfiguration
    SubscribeConfigurationAlpha1 = SubscribeConfiguration
    UnsubscribeConfigurationAlpha1 = UnsubscribeConfiguration
