"""What the blocking and the grpc.aio drivers share: settings, caches, error conversion, and every clock.

Rule: only channel creation and how one instruction is performed (blocking or awaited) differ between the two
drivers; feeding outcomes back into an operation (:class:`Steps`) and everything else is here.
The drivers own time (as psycopg's ``waiting.py`` does): :func:`budgeted` reads the clock to enforce an
operation's :class:`~dapr_nb.core.ops.Deadline` and applies the default deadlines, so the loops only
execute instructions as given.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

import grpc

from ..core.ops import Call, Deadline, HttpCall, Instruction, Op, Sleep, relay, retrying
from ..errors import DaprError, DeadlineExceeded
from .channels import make_stub, to_dapr_error
from .config import Settings

T = TypeVar("T")
Clock = Callable[[], float]


class DriverBase:
    """Caches stubs and bound RPC methods per channel; subclasses provide ``channel``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stubs: dict[str, Any] = {}
        self._methods: dict[tuple[str, str], Callable[..., Any]] = {}
        self._metadata = settings.token_metadata or None
        self._endpoint = str(settings.grpc)
        self._closed = False

    @property
    def channel(self) -> Any:
        """Return the channel (created on first use by the subclass)."""
        raise NotImplementedError

    def stub(self, service: str) -> Any:
        """Return the generated stub for a service on this driver's current channel."""
        channel = self.channel  # first: a new channel (aio: new loop) clears the caches
        stub = self._stubs.get(service)
        if stub is None:
            stub = self._stubs[service] = make_stub(service, channel)
        return stub

    def _method(self, call: Call) -> Callable[..., Any]:
        key = (call.service, call.method)
        method = self._methods.get(key)
        if method is None:
            method = self._methods[key] = getattr(self.stub(call.service), call.method)
        return method

    def prepare(self, op: Op[T], clock: Clock = time.monotonic) -> Op[T]:
        """Wrap ``op`` for the run loop: retries per the settings, then :func:`budgeted` (timeouts final)."""
        name = getattr(op, "__name__", "operation")
        if self.settings.retry.enabled:
            op = retrying(op, self.settings.retry)
        return budgeted(op, clock, self.settings.timeout, self.settings.http_timeout, name)

    def error(self, exc: grpc.RpcError, operation: str) -> DaprError:
        """Convert a grpc error raised by a call on this driver into the DaprError hierarchy."""
        return to_dapr_error(exc, operation, self._endpoint)


class Steps(Generic[T]):
    """Feed one operation the outcome of each instruction it yields; the drivers only perform the instructions.

    An outcome is the instruction's reply, or the DaprError it failed with. :meth:`next` returns the op's
    next instruction, or None once the op has returned (its value is then :attr:`result`); :meth:`close`
    closes the op, so its ``finally`` blocks run on any exit of the driver's loop.
    """

    __slots__ = ("_op", "result")

    def __init__(self, op: Op[T]) -> None:
        self._op = op
        self.result: T = None  # type: ignore[assignment]  # set before next() returns None

    def next(self, outcome: Any) -> Instruction | None:
        """Give the op ``outcome`` (reply or DaprError); return its next instruction, None when it is done."""
        try:
            if isinstance(outcome, DaprError):
                return self._op.throw(outcome)
            return self._op.send(outcome)
        except StopIteration as stop:
            self.result = stop.value
            return None

    def close(self) -> None:
        """Close the operation (idempotent)."""
        self._op.close()


def budgeted(op: Op[T], clock: Clock, timeout: float | None, http_timeout: float, name: str) -> Op[T]:
    """Run ``op`` within its Deadline: consume Deadlines, give Calls ``timeout`` by default, clip to the time left.

    Once the budget is spent, the op gets a final DeadlineExceeded instead of its next instruction (and
    in place of a clipped call's own DEADLINE_EXCEEDED); any error arriving after that is marked final.
    """
    return relay(op, _Budget(clock, timeout, http_timeout, name).step)


class _Budget:
    """One operation's time budget: the end (None until a Deadline), and the defaults for calls."""

    __slots__ = ("clock", "end", "http_timeout", "name", "seconds", "timeout")

    def __init__(self, clock: Clock, timeout: float | None, http_timeout: float, name: str) -> None:
        self.clock, self.timeout, self.http_timeout, self.name = clock, timeout, http_timeout, name
        self.end: float | None = None
        self.seconds = 0.0

    def step(self, instruction: Instruction) -> Generator[Instruction, Any, Any]:
        """Execute one instruction of the op within the budget (see :func:`budgeted`)."""
        if type(instruction) is Deadline:
            end = self.clock() + instruction.seconds
            if self.end is None or end < self.end:
                self.end, self.seconds = end, instruction.seconds
            return None
        left = None if self.end is None else self.end - self.clock()
        if left is not None and left <= 0:
            raise self.spent()
        action, clipped = _clip(instruction, left, self.timeout, self.http_timeout)
        started = self.clock()
        try:
            reply = yield action
        except DaprError as caught:
            error = _deadline_seen_as_cancel(action, caught, self.clock() - started)
            if clipped and error.code == "DEADLINE_EXCEEDED":
                raise self.spent() from error
            if self.end is not None and self.clock() >= self.end:
                error.final = True
            if error is caught:
                raise
            raise error from caught
        if clipped and type(action) is Sleep:
            raise self.spent()
        return reply

    def spent(self) -> DeadlineExceeded:
        """Return the final error for an operation whose budget has run out."""
        error = DeadlineExceeded(f"timed out after {self.seconds:g}s", code="DEADLINE_EXCEEDED", operation=self.name)
        error.final = True
        return error


def _deadline_seen_as_cancel(action: Instruction, error: DaprError, elapsed: float) -> DaprError:
    """Return DEADLINE_EXCEEDED for a call the sidecar ended with CANCELLED once the call's deadline had passed.

    daprd (Go gRPC) resets a stream whose deadline expired with RST_STREAM CANCEL; when that reaches the client
    before its own timer fires, grpc reports CANCELLED "Stream removed". The client never cancels a unary call.
    """
    timeout = action.timeout if type(action) is Call else None
    if error.code != "CANCELLED" or timeout is None or elapsed < timeout:
        return error
    deadline = DeadlineExceeded(
        f"{error.message} (at the call's {timeout:g}s deadline)",
        code="DEADLINE_EXCEEDED",
        operation=error.operation,
        endpoint=error.endpoint,
    )
    return deadline


def _clip(
    instruction: Instruction, left: float | None, timeout: float | None, http_timeout: float
) -> tuple[Instruction, bool]:
    """Return the instruction to execute (default deadline applied, shortened to ``left``) and if it was clipped."""
    if type(instruction) is Call:
        wanted = instruction.timeout if instruction.timeout is not None else timeout
        if left is not None and (wanted is None or wanted >= left):
            return instruction._replace(timeout=left), True
        return (instruction if wanted is instruction.timeout else instruction._replace(timeout=wanted)), False
    if left is None:
        return instruction, False
    if type(instruction) is Sleep:
        return (Sleep(left), True) if instruction.seconds >= left else (instruction, False)
    if type(instruction) is HttpCall:
        wanted = instruction.timeout if instruction.timeout is not None else http_timeout
        return (dataclasses.replace(instruction, timeout=left), True) if wanted >= left else (instruction, False)
    return instruction, False
