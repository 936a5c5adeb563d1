"""The instruction set between operations and drivers, and the combinators written once over it.

Rule: an operation is a generator that yields instructions (:class:`Call`, :class:`HttpCall`,
:class:`Sleep`, :class:`Deadline`) and receives their replies through ``send`` — or a
:class:`~dapr_nb.errors.DaprError` through ``throw``. It returns its typed result. Operations do no I/O
and never read a clock: an operation with a timeout declares it with :class:`Deadline`, and the driver
(``dapr_nb.transport``, the only code that differs between sync and async) enforces it.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from google.protobuf.message import Message

from ..errors import DaprError

log = logging.getLogger("dapr_nb")

T = TypeVar("T")

DAPR = "dapr"
WORKFLOW = "workflow"


class Call(NamedTuple):
    """Make one unary gRPC call: ``service`` (``"dapr"`` or ``"workflow"``), RPC ``method``, protobuf ``request``.

    ``timeout`` (seconds) replaces the client's default deadline for this call (long waits such as
    WaitForInstanceCompletion set their own); the driver shortens it to what is left of the operation's
    :class:`Deadline`. A NamedTuple: immutable and cheap to build.
    """

    method: str
    request: Message
    service: str = DAPR
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class HttpCall:
    """Make one request to the sidecar's HTTP API; ``path`` starts with ``/`` (e.g. ``/v1.0/invoke/…``)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class HttpReply:
    """The sidecar's HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Sleep(NamedTuple):
    """Wait ``seconds`` before the next instruction."""

    seconds: float


class Deadline(NamedTuple):
    """Give the whole operation at most ``seconds`` from now, retries included; the reply is None.

    The driver shortens every later Call, HttpCall and Sleep to the time left; once it is spent, the
    operation receives a :class:`~dapr_nb.errors.DeadlineExceeded` with ``final=True`` instead (retrying
    never retries it). A second Deadline can only shorten the budget, never extend it.
    """

    seconds: float


Instruction = Call | HttpCall | Sleep | Deadline
Op = Generator[Instruction, Any, T]

RETRYABLE = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a call that failed with a retryable status, with exponential backoff; ``max_attempts=-1`` = forever.

    ``max_attempts`` counts retries after the first attempt (as DAPR_API_MAX_RETRIES does).
    """

    max_attempts: int = 0
    initial_backoff: float = 1.0
    backoff_multiplier: float = 1.5
    max_backoff: float = 20.0
    retryable: frozenset[str] = field(default=RETRYABLE)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """Read DAPR_API_MAX_RETRIES (default 0: no retries)."""
        raw = (environ if environ is not None else os.environ).get("DAPR_API_MAX_RETRIES", "").strip()
        return cls(max_attempts=int(raw) if raw else 0)

    @property
    def enabled(self) -> bool:
        """Return whether any retry can happen."""
        return self.max_attempts != 0

    def delay(self, attempt: int) -> float:
        """Return the backoff before retry number ``attempt`` (0-based), with ±10 % jitter."""
        base = min(self.max_backoff, self.initial_backoff * self.backoff_multiplier**attempt)
        return float(base * random.uniform(0.9, 1.1))

    def should_retry(self, error: DaprError, attempt: int) -> bool:
        """Return whether to retry after ``attempt`` retries already made (never a ``final`` error)."""
        if error.final or error.code not in self.retryable:
            return False
        return self.max_attempts < 0 or attempt < self.max_attempts


def relay(op: Op[T], step: Callable[[Instruction], Generator[Instruction, Any, Any]]) -> Op[T]:
    """Run ``op`` with each instruction replaced by ``yield from step(instruction)``; ``op`` is closed on any exit.

    What ``step`` returns is the op's reply; a DaprError it raises is thrown into the op. The skeleton of
    every combinator over whole operations (retries here, the drivers' deadlines in ``transport.base``).
    """
    try:
        instruction = next(op)
        while True:
            try:
                reply = yield from step(instruction)
            except DaprError as error:
                instruction = op.throw(error)
            else:
                instruction = op.send(reply)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        op.close()


def retrying(op: Op[T], policy: RetryPolicy) -> Op[T]:
    """Re-issue each Call of ``op`` that fails with a retryable status, sleeping per ``policy`` in between.

    An op that yields nothing returns at once. When the op's Deadline ends a backoff sleep, the Call's
    last error reaches the op, marked ``final``.
    """
    return relay(op, lambda instruction: _attempts(instruction, policy))


def _attempts(instruction: Instruction, policy: RetryPolicy) -> Generator[Instruction, Any, Any]:
    """Yield ``instruction`` until it succeeds or fails for good; return its reply."""
    attempt = 0
    while True:
        try:
            return (yield instruction)
        except DaprError as error:
            if type(instruction) is not Call or not policy.should_retry(error, attempt):
                raise
            delay = policy.delay(attempt)
            attempt += 1
            log.warning("dapr_nb: %s failed (%s); retry %d in %.2fs", instruction.method, error.code, attempt, delay)
            try:
                yield Sleep(delay)
                continue
            except DaprError as spent:
                if not spent.final:
                    raise
            error.final = True  # the budget ended the backoff: this failure is the Call's outcome
            raise error


def fallback(primary: Call, alternative: Callable[[], Call]) -> Op[Any]:
    """Make ``primary``; when the sidecar answers UNIMPLEMENTED, make ``alternative()`` instead."""
    try:
        return (yield primary)
    except DaprError as error:
        if error.code != "UNIMPLEMENTED":
            raise
        log.debug("dapr_nb: %s is unimplemented; falling back", primary.method)
        return (yield alternative())


def run_by_hand(op: Op[T], answer: Callable[[Instruction], Any]) -> T:
    """Drive ``op`` with ``answer(instruction)`` (return a reply or raise DaprError); for tests and scripts.

    Every instruction reaches ``answer``, Deadline included (reply None to ignore it); ``op`` is closed
    on any exit, so its cleanup runs.
    """
    try:
        instruction = next(op)
        while True:
            try:
                reply = answer(instruction)
            except DaprError as error:
                instruction = op.throw(error)
                continue
            instruction = op.send(reply)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        op.close()
