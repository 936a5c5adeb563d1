"""gRPC methods of the configuration building block (thin: protobuf <-> blocks.configuration).

Rule: a SubscribeConfiguration stream is an async generator on the server's event loop (no thread),
woken by the store's changes through a :class:`~..wakeup.Waker`; it ends with OK on
UnsubscribeConfiguration, and at once when the client cancels (the cancelled handler closes the
subscription).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import configuration_pb2 as api

from ..blocks import configuration
from ..components.configuration_sandbox import ConfigItem
from ..wakeup import Waker
from ._base import AioContext, RpcBase, streaming, unary


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
    async def SubscribeConfiguration(  # noqa: N802
        self, request: api.SubscribeConfigurationRequest, context: AioContext
    ) -> AsyncIterator[api.SubscribeConfigurationResponse]:
        """Send the subscription id, then each change (changed keys only) until unsubscribed or cancelled."""
        sub = configuration.subscribe(self.runtime, request.store_name, list(request.keys))
        waker = Waker()
        sub.on_ready = waker.set
        try:
            yield api.SubscribeConfigurationResponse(id=sub.id)
            while True:
                waker.clear()
                changes = sub.poll()
                if changes:
                    yield api.SubscribeConfigurationResponse(id=sub.id, items=_items(changes))
                elif sub.closed:
                    return
                else:
                    await waker.wait()
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
