"""What the blocking and the asyncio stream objects share: the wake-up marker and the ack shortcuts.

Rule: nothing here does I/O or decides anything — every decision lives in the core protocol objects
(:mod:`dapr_nb.core.streams`); this module only keeps the two drivers from writing the same lines twice.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from ..core.configuration import ConfigurationSubscription
from ..core.pubsub import AckStatus
from ..core.results import TopicMessage
from ..core.streams import State, StreamProtocol

R = TypeVar("R", covariant=True)
P = TypeVar("P", bound=StreamProtocol)

WAKE = object()  # queued by a reader when its stream ended, so a waiting reader of deliveries looks at the state


def message_id(message: TopicMessage | str) -> str:
    """Return the id of a message given as a TopicMessage or as its id."""
    return message if isinstance(message, str) else message.id


class AckShortcuts(Generic[R]):
    """``success`` / ``retry`` / ``drop`` spelled as ``ack(message, status)``; ``R`` is what ``ack`` returns."""

    def ack(self, message: TopicMessage | str, status: AckStatus = "success") -> R:
        """Acknowledge a message: ``success`` (done), ``retry`` (redeliver) or ``drop`` (dead-letter/discard)."""
        raise NotImplementedError

    def success(self, message: TopicMessage | str) -> R:
        """Ack a message as processed."""
        return self.ack(message, "success")

    def retry(self, message: TopicMessage | str) -> R:
        """Ack a message for redelivery."""
        return self.ack(message, "retry")

    def drop(self, message: TopicMessage | str) -> R:
        """Ack a message as dropped (dead-lettered when the subscription has a dead-letter topic)."""
        return self.ack(message, "drop")


class StreamStatus(Generic[P]):
    """``state`` and ``active``, read from the core protocol object."""

    protocol: P

    @property
    def state(self) -> State:
        """Return the stream's state (opening, open, closing, closed, failed)."""
        return self.protocol.state

    @property
    def active(self) -> bool:
        """Return whether the stream is open (not closing, closed or failed)."""
        return self.protocol.state is State.OPEN


class WatchId(StreamStatus[ConfigurationSubscription]):
    """``id``: the configuration subscription id the sidecar assigned."""

    @property
    def id(self) -> str:
        """Return the subscription id the sidecar assigned ("" until the stream is open)."""
        return self.protocol.id
