"""Stream lifecycle shared by every stream kind: the states, the events a protocol object returns, its refusals.

Rule: a protocol object (:class:`~dapr_nb.core.pubsub.TopicSubscription`,
:class:`~dapr_nb.core.configuration.ConfigurationSubscription`) is fed what its driver saw — a response,
the stream's end, a transport error, the user's close — and answers with a typed event, an instruction, or
the error to raise. It does no I/O and reads no clock: drivers move messages and own every deadline.
The state moves only through ``_move``, which rejects a transition not in :data:`TRANSITIONS`::

    OPENING ──► OPEN ──► CLOSING ──► CLOSED
       │  └──────┼─────────┘           ▲
       │         ├─────────────────────┘  (the sidecar ended the stream)
       └─────────┴──► FAILED              (transport error, open refused or timed out)

CLOSED and FAILED are final; a failure reported while CLOSING ends the stream as CLOSED (closing
cancels the call, so an error then is expected). Not thread-safe: a threaded driver holds a lock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from google.protobuf import message as pb

from ..errors import DaprError, DeadlineExceeded, StreamClosed, StreamFailed
from .ops import Op
from .results import ConfigUpdate, TopicMessage


class State(enum.Enum):
    """Where a stream is in its life."""

    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.OPENING: frozenset({State.OPEN, State.CLOSING, State.FAILED}),
    State.OPEN: frozenset({State.CLOSING, State.CLOSED, State.FAILED}),
    State.CLOSING: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
    State.FAILED: frozenset(),
}


class StreamStateError(RuntimeError):
    """A protocol object was asked for something its state forbids (a driver bug, not a sidecar error)."""


@dataclass(frozen=True)
class Started:
    """The sidecar accepted the stream; ``id`` is the subscription id when the kind has one."""

    id: str = ""


@dataclass(frozen=True)
class Message:
    """A pub/sub event arrived; it now awaits exactly one ack."""

    message: TopicMessage


@dataclass(frozen=True)
class Update:
    """Configuration items changed (only the changed keys)."""

    update: ConfigUpdate


@dataclass(frozen=True)
class Unknown:
    """A response this version does not understand (or one that carries nothing); drivers skip it."""

    kind: str


Event = Started | Message | Update | Unknown


def delivery(event: Event) -> TopicMessage | ConfigUpdate | None:
    """Return what the user of the stream gets for an event, or None when the event is not for them."""
    if isinstance(event, Message):
        return event.message
    if isinstance(event, Update):
        return event.update
    return None


@dataclass(frozen=True)
class Open:
    """How to open the stream: the RPC, its first request, and whether the client sends more (bidi)."""

    method: str
    request: pb.Message
    bidi: bool


@dataclass(frozen=True)
class Closing:
    """What closing takes: half-close and drain the acks given (``flush``), then run ``op`` (e.g. unsubscribe)."""

    flush: bool = False
    op: Op[Any] | None = None


class StreamProtocol:
    """The lifecycle every stream kind shares; subclasses say how to open, digest and close."""

    method = ""
    bidi = False
    advice = ""

    def __init__(self) -> None:
        self._state = State.OPENING
        self._ended_by_sidecar = False
        self._close_asked = False
        self.cause: DaprError | None = None

    @property
    def state(self) -> State:
        """Return the current state."""
        return self._state

    def describe(self) -> str:
        """Return what this stream is, for messages ("the subscription to pubsub/orders")."""
        raise NotImplementedError

    def _first_request(self) -> pb.Message:
        raise NotImplementedError

    def _digest(self, response: Any) -> Event:
        raise NotImplementedError

    def _fallback(self, error: DaprError) -> bool:
        """Switch ``method`` to an older RPC when ``error`` says the sidecar lacks this one; True if switched."""
        return False

    def _closing(self) -> Closing:
        return Closing()

    def _move(self, new: State) -> None:
        if new not in TRANSITIONS[self._state]:
            raise StreamStateError(f"{self.describe()}: illegal transition {self._state.value} → {new.value}")
        self._state = new

    def opening(self) -> Open:
        """Return how to open (or, after a fallback, reopen) the stream; only while OPENING."""
        if self._state is not State.OPENING:
            raise StreamStateError(f"{self.describe()} is {self._state.value}; only an opening stream is opened")
        return Open(self.method, self._first_request(), self.bidi)

    def receive(self, response: Any) -> Event:
        """Digest one response into an event; the first one moves OPENING to OPEN."""
        if self._state in (State.CLOSED, State.FAILED):
            raise StreamStateError(f"{self.describe()}: a response arrived after the stream {self._state.value}")
        event = self._digest(response)
        if self._state is State.OPENING:
            self._move(State.OPEN)
        return event

    def end(self) -> None:
        """Record that the sidecar ended the stream (EOF / status OK); a late report after the end is ignored."""
        if self._state is State.OPENING:
            self.fail(DaprError(f"{self.method}: the sidecar closed the stream at once", operation=self.method))
        elif self._state in (State.OPEN, State.CLOSING):
            self._ended_by_sidecar = self._state is State.OPEN
            self._move(State.CLOSED)

    def fail(self, error: DaprError) -> Exception:
        """Record a transport error; return what the operation that hit it should raise.

        While opening that is ``error`` itself (unless the kind falls back to an older RPC: then the
        state stays OPENING and the driver opens again); once open, a :class:`StreamFailed` naming it.
        """
        if self._state is State.OPENING:
            if not self._fallback(error):
                self.cause = error
                self._move(State.FAILED)
            return error
        if self._state is State.OPEN:
            self.cause = error
            self._move(State.FAILED)
        elif self._state is State.CLOSING:
            self._move(State.CLOSED)
        return self.refusal()

    def timed_out(self, seconds: float) -> Exception:
        """Record that the driver gave up waiting ``seconds`` for the stream to open; return the error to raise."""
        message = f"{self.method}: no answer within {seconds:g}s"
        return self.fail(DeadlineExceeded(message, code="DEADLINE_EXCEEDED", operation=self.method))

    def opened(self) -> bool:
        """After the driver's open wait: True when OPEN, False to open again (fallback); else raise why not."""
        if self._state is State.OPEN:
            return True
        if self._state is State.OPENING:
            return False
        if self._state is State.FAILED and self.cause is not None:
            raise self.cause
        raise self.refusal()

    def readable(self) -> bool:
        """Return whether deliveries may still come (False once closing or closed); raise if the stream failed."""
        if self._state is State.FAILED:
            raise self.refusal()
        return self._state in (State.OPENING, State.OPEN)

    def refusal(self) -> Exception:
        """Return (a fresh copy of) the error for using the stream in its current state."""
        name = self.describe()
        if self._state is State.FAILED:
            cause = self.cause or DaprError("unknown cause")
            error: Exception = StreamFailed(
                f"{name} has failed: {cause.message.rstrip('.')}. {self.advice}",
                code=cause.code,
                reason=cause.reason,
                operation=self.method,
                endpoint=cause.endpoint,
            )
            error.__cause__ = cause
            return error
        if self._state in (State.CLOSING, State.CLOSED):
            how = "was ended by the sidecar" if self._ended_by_sidecar else "is closed"
            return StreamClosed(f"{name} {how}. {self.advice}", code="FAILED_PRECONDITION", operation=self.method)
        return StreamStateError(f"{name} is {self._state.value}")

    def close(self) -> Closing | None:
        """Begin closing: return what closing takes the first time, None on every later call.

        After an end or a failure the work is only releasing the call; a second ``close()`` (another
        thread, a context manager after an explicit close) gets None and must not cancel the first's drain.
        """
        if self._close_asked:
            return None
        self._close_asked = True
        if self._state not in (State.OPENING, State.OPEN):
            return Closing()
        work = self._closing() if self._state is State.OPEN else Closing()
        self._move(State.CLOSING)
        return work

    def closed(self) -> None:
        """Record that the driver finished closing (CLOSING → CLOSED; nothing to do once closed or failed)."""
        if self._state is State.CLOSING:
            self._move(State.CLOSED)
        elif self._state in (State.OPENING, State.OPEN):
            raise StreamStateError(f"{self.describe()} is {self._state.value}: call close() before closed()")
