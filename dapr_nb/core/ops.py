"""The instruction set between operations and drivers, and the combinators written once over it.

Rule: an operation is a generator that yields instructions (:class:`Call`, :class:`HttpCall`,
:class:`Sleep`) and receives their replies through ``send`` — or a :class:`~dapr_nb.errors.DaprError`
through ``throw``. It returns its typed result. Operations do no I/O and never look at a clock to
sleep; drivers (``dapr_nb.transport``) are the only code that differs between sync and async.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from ..errors import DaprError

log = logging.getLogger("dapr_nb")

T = TypeVar("T")

DAPR = "dapr"
WORKFLOW = "workflow"


class Call(NamedTuple):
    """Make one unary gRPC call: ``service`` (``"dapr"`` or ``"workflow"``), RPC ``method``, protobuf ``request``.

    ``timeout`` overrides the client's default deadline; ``default_deadline=False`` exempts the call
    from it (long waits such as WaitForInstanceCompletion). A NamedTuple: immutable and cheap to build.
    """

    method: str
    request: Any
    service: str = DAPR
    timeout: float | None = None
    default_deadline: bool = True


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


Instruction = Call | HttpCall | Sleep
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
        """Return whether to retry after ``attempt`` retries already made."""
        if error.code not in self.retryable:
            return False
        return self.max_attempts < 0 or attempt < self.max_attempts


def retrying(op: Op[T], policy: RetryPolicy) -> Op[T]:
    """Re-issue each Call of ``op`` that fails with a retryable status, sleeping per ``policy`` in between."""
    instruction = next(op)
    while True:
        attempt = 0
        while True:
            try:
                reply = yield instruction
            except DaprError as error:
                if isinstance(instruction, Call) and policy.should_retry(error, attempt):
                    delay = policy.delay(attempt)
                    attempt += 1
                    log.warning("dapr_nb: %s failed (%s); retry %d in %.2fs", instruction.method, error.code, attempt,
                                delay)
                    yield Sleep(delay)
                    continue
                try:
                    instruction = op.throw(error)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                break
            try:
                instruction = op.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            break


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
    """Drive ``op`` with ``answer(instruction)`` (return a reply or raise DaprError); for tests and scripts."""
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
