"""Configuration: get items, and the subscribe/unsubscribe protocol (stable RPCs, Alpha1 on older sidecars).

Rule: a subscription's first message carries only its id; :class:`ConfigurationSubscription` digests
messages into that id (Started) and :class:`ConfigUpdate` values (Update) without doing any I/O, decides
the Alpha1 fallback while opening, and closes by unsubscribing. Its lifecycle is :mod:`dapr_nb.core.streams`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import configuration_pb2

from ..errors import DaprError, Unimplemented
from .ops import Call, Op, fallback
from .results import ConfigItem, ConfigUpdate, Table
from .streams import Closing, Event, Started, State, StreamProtocol, Unknown, Update
from .values import str_map

SUBSCRIBE = "SubscribeConfiguration"
SUBSCRIBE_ALPHA1 = "SubscribeConfigurationAlpha1"


def to_items(items: Mapping[str, common_pb2.ConfigurationItem]) -> Table[ConfigItem]:
    """Convert a proto ``map<string, ConfigurationItem>`` into ConfigItems sorted by key."""
    return Table(ConfigItem(k, v.value, v.version, dict(v.metadata)) for k, v in sorted(items.items()))


def get_configuration(
    store: str, keys: Iterable[str] = (), *, metadata: Mapping[str, str] | None = None
) -> Op[Table[ConfigItem]]:
    """Return the items for ``keys`` (all items when empty), sorted by key."""
    request = configuration_pb2.GetConfigurationRequest(store_name=store, keys=list(keys), metadata=str_map(metadata))
    reply: configuration_pb2.GetConfigurationResponse = yield from fallback(
        Call("GetConfiguration", request), lambda: Call("GetConfigurationAlpha1", request)
    )
    return to_items(reply.items)


def unsubscribe_configuration(store: str, subscription_id: str) -> Op[bool]:
    """Stop a subscription by id; False (not an error) when the sidecar does not know the id."""
    request = configuration_pb2.UnsubscribeConfigurationRequest(store_name=store, id=subscription_id)
    reply: configuration_pb2.UnsubscribeConfigurationResponse = yield from fallback(
        Call("UnsubscribeConfiguration", request), lambda: Call("UnsubscribeConfigurationAlpha1", request)
    )
    return bool(reply.ok)


class ConfigurationSubscription(StreamProtocol):
    """The configuration-subscribe protocol for one stream (no I/O); see :mod:`dapr_nb.core.streams`."""

    advice = "Subscribe again (subscribe_configuration) to go on watching."

    def __init__(self, store: str, keys: Iterable[str] = (), metadata: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.store = store
        self.keys = list(keys)
        self.metadata = str_map(metadata)
        self.method = SUBSCRIBE
        self.id = ""

    def describe(self) -> str:
        """Return "the configuration watch on store"."""
        return f"the configuration watch on {self.store}"

    def request(self) -> configuration_pb2.SubscribeConfigurationRequest:
        """Return the request that opens the stream."""
        return configuration_pb2.SubscribeConfigurationRequest(
            store_name=self.store, keys=self.keys, metadata=self.metadata
        )

    _first_request = request

    def _digest(self, response: configuration_pb2.SubscribeConfigurationResponse) -> Event:
        if response.id and not self.id:
            self.id = response.id
        if response.items:
            return Update(ConfigUpdate(response.id or self.id, to_items(response.items)))
        if self.state is State.OPENING:
            return Started(self.id)
        return Unknown("message without items")

    def _fallback(self, error: DaprError) -> bool:
        if isinstance(error, Unimplemented) and self.method == SUBSCRIBE:
            self.method = SUBSCRIBE_ALPHA1
            return True
        return False

    def _closing(self) -> Closing:
        return Closing(op=unsubscribe_configuration(self.store, self.id) if self.id else None)
