"""Core operations driven by hand — no network: instructions, retries, deadlines, fallbacks, requests and replies.

Deadlines are enforced by the drivers' shared ``budgeted`` combinator; here it runs on a fake clock that only
the answers advance (a Sleep or a timed-out call moves it), so no test waits on real time.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest
from dapr.proto.runtime.v1 import pubsub_pb2, state_pb2
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from dapr_nb.core import metadata, pubsub, state, workflow
from dapr_nb.core.errors import from_http, from_status, unreachable
from dapr_nb.core.ops import (
    Call,
    Deadline,
    HttpCall,
    Instruction,
    Op,
    RetryPolicy,
    Sleep,
    fallback,
    retrying,
    run_by_hand,
)
from dapr_nb.core.results import BulkPublishResult, StateItem
from dapr_nb.errors import (
    Conflict,
    DaprError,
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    NotFound,
    SidecarUnavailable,
    Unimplemented,
)
from dapr_nb.transport.base import budgeted


def test_get_state_builds_the_request_and_decodes_json() -> None:
    seen: list[Instruction] = []

    def answer(instruction: Instruction) -> Any:
        seen.append(instruction)
        return state_pb2.GetStateResponse(data=b'{"a": [1, 2]}', etag="7")

    item = run_by_hand(state.get_state("store", "k", consistency="strong"), answer)
    assert item.key == "k" and item.value == {"a": [1, 2]} and item.etag == "7" and item.raw == b'{"a": [1, 2]}'
    (call,) = seen
    assert isinstance(call, Call) and call.method == "GetState"
    assert call.request.store_name == "store" and call.request.consistency == 2


def test_missing_key_is_none_not_an_error() -> None:
    item = run_by_hand(state.get_state("s", "k"), lambda _: state_pb2.GetStateResponse())
    assert item.value is None and item.etag is None and not item.exists


def test_state_value_decodes_lazily_and_behaves_like_an_eager_item(monkeypatch: pytest.MonkeyPatch) -> None:
    from dapr_nb.core import results

    calls: list[bytes] = []
    real = results.decode
    monkeypatch.setattr(results, "decode", lambda data, ct="": calls.append(data) or real(data, ct))
    reply = state_pb2.GetStateResponse(data=b'{"a": 1}', etag="3", metadata={"contentType": "application/json"})
    item = run_by_hand(state.get_state("s", "k"), lambda _: reply)
    assert item.raw == b'{"a": 1}' and item.exists and calls == []  # nothing decoded until .value is read
    assert item.value == {"a": 1} and item.value is item.value and len(calls) == 1  # decoded once, then kept
    fresh = run_by_hand(state.get_state("s", "k"), lambda _: reply)
    eager = StateItem("k", {"a": 1}, "3", {"contentType": "application/json"}, b'{"a": 1}')
    assert fresh == eager and repr(fresh) == repr(eager)
    assert pickle.loads(pickle.dumps(run_by_hand(state.get_state("s", "k"), lambda _: reply))) == eager
    assert dataclasses.replace(run_by_hand(state.get_state("s", "k"), lambda _: reply), etag="4").value == {"a": 1}
    text = run_by_hand(state.get_state("s", "k"), lambda _: state_pb2.GetStateResponse(data=b"hi"))
    assert text.value == "hi" and text.metadata == {}
    with pytest.raises(AttributeError):
        text.nope  # type: ignore[attr-defined]  # noqa: B018


def test_save_state_sends_etag_only_when_given_and_marks_json() -> None:
    calls: list[Any] = []
    run_by_hand(state.save_state("s", "k", {"x": 1}), lambda c: calls.append(c))
    run_by_hand(state.save_state("s", "k", "text", etag=""), lambda c: calls.append(c))
    first, second = (c.request.states[0] for c in calls)
    assert not first.HasField("etag") and first.metadata["contentType"] == "application/json"
    assert first.value == b'{"x":1}'
    assert second.HasField("etag") and second.etag.value == "" and second.value == b"text"
    assert "contentType" not in second.metadata


def test_etag_mismatch_becomes_conflict_carrying_the_etag() -> None:
    def answer(_: Instruction) -> Any:
        raise from_status("ABORTED", "etag mismatch")

    with pytest.raises(Conflict) as info:
        run_by_hand(state.save_state("s", "k", 1, etag="3"), answer)
    assert info.value.etag == "3" and info.value.code == "ABORTED"


def test_query_follows_page_tokens() -> None:
    pages = iter([("t1", [b"1", b"2"]), ("", [b"3"])])
    queries: list[str] = []

    def answer(call: Instruction) -> Any:
        assert isinstance(call, Call)
        queries.append(call.request.query)
        token, rows = next(pages)
        results = [state_pb2.QueryStateItem(key=f"k{r.decode()}", data=r) for r in rows]
        return state_pb2.QueryStateResponse(results=results, token=token)

    items = run_by_hand(state.query_state("s", {"filter": {}}, page_size=2), answer)
    assert [i.value for i in items] == [1, 2, 3]
    assert '"token": "t1"' in queries[1] and '"limit": 2' in queries[0]


def test_retrying_sleeps_between_attempts_then_succeeds() -> None:
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.5)
    attempts: list[Instruction] = []

    def answer(instruction: Instruction) -> Any:
        attempts.append(instruction)
        if isinstance(instruction, Call) and sum(isinstance(a, Call) for a in attempts) < 3:
            raise from_status("UNAVAILABLE", "down")
        return state_pb2.GetStateResponse(data=b"x")

    item = run_by_hand(retrying(state.get_state("s", "k"), policy), answer)
    assert item.value == "x"
    assert [type(a).__name__ for a in attempts] == ["Call", "Sleep", "Call", "Sleep", "Call"]
    sleeps = [a.seconds for a in attempts if isinstance(a, Sleep)]
    assert 0.45 <= sleeps[0] <= 0.55 and 0.67 <= sleeps[1] <= 0.83


def test_retrying_gives_up_and_never_retries_other_codes() -> None:
    policy = RetryPolicy(max_attempts=1, initial_backoff=0)
    count = {"calls": 0}

    def unavailable(instruction: Instruction) -> Any:
        count["calls"] += isinstance(instruction, Call)
        if isinstance(instruction, Call):
            raise from_status("UNAVAILABLE", "down")

    with pytest.raises(SidecarUnavailable):
        run_by_hand(retrying(state.get_state("s", "k"), policy), unavailable)
    assert count["calls"] == 2

    def invalid(instruction: Instruction) -> Any:
        count["calls"] += 1
        raise from_status("INVALID_ARGUMENT", "bad")

    count["calls"] = 0
    with pytest.raises(InvalidArgument):
        run_by_hand(retrying(state.get_state("s", "k"), policy), invalid)
    assert count["calls"] == 1


def test_retrying_an_op_that_sends_nothing_returns_at_once() -> None:
    policy = RetryPolicy(max_attempts=3)

    def no_call(instruction: Instruction) -> Any:
        raise AssertionError(f"nothing should be sent, got {instruction!r}")

    assert run_by_hand(retrying(state.save_bulk_state("s", {}), policy), no_call) is None
    assert run_by_hand(retrying(state.delete_bulk_state("s", []), policy), no_call) is None
    assert run_by_hand(retrying(pubsub.publish_bulk("p", "t", []), policy), no_call) == BulkPublishResult(0)


class FakeClock:
    """A clock that moves only when an answer says so; counts steps so a runaway loop fails instead of hanging."""

    def __init__(self) -> None:
        self.now = 0.0
        self.steps = 0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float | None) -> None:
        assert seconds is not None and seconds >= 0, "every instruction under a budget has a bounded wait"
        self.steps += 1
        assert self.steps < 10_000, "the operation does not end"
        self.now += seconds


def drive(
    op: Op[Any], clock: FakeClock, answer_call: Any, policy: RetryPolicy | None = None, default: float | None = None
) -> Any:
    """Run ``op`` as a driver would (retries, then the budget) on the fake clock; Sleeps advance it."""
    if policy is not None:
        op = retrying(op, policy)

    def answer(instruction: Instruction) -> Any:
        if isinstance(instruction, Sleep):
            clock.advance(instruction.seconds)
            return None
        return answer_call(instruction)

    return run_by_hand(budgeted(op, clock, default, 60.0, "op"), answer)


@pytest.mark.parametrize("policy", [None, RetryPolicy(max_attempts=-1), RetryPolicy(max_attempts=3)])
def test_wait_ready_ends_on_time_whatever_the_retries(policy: RetryPolicy | None) -> None:
    clock = FakeClock()
    probes: list[float] = []

    def refused(call: Instruction) -> Any:
        assert isinstance(call, Call) and call.timeout is not None and call.timeout <= 0.5 - clock.now + 1e-9
        probes.append(clock.now)
        clock.advance(0.001)
        raise unreachable("127.0.0.1:1", "connection refused")

    with pytest.raises(SidecarUnavailable) as info:
        drive(metadata.wait_ready(timeout=0.5), clock, refused, policy)
    assert info.value.message.startswith("not ready after 0.5s: no Dapr sidecar answers at 127.0.0.1:1")
    assert info.value.endpoint == "127.0.0.1:1" and clock.now == pytest.approx(0.5)
    assert probes and probes[-1] < 0.5


def test_wait_ready_probes_are_short_and_silent_sidecars_count_as_not_ready() -> None:
    clock = FakeClock()
    timeouts: list[float] = []

    def silent(call: Instruction) -> Any:
        assert isinstance(call, Call) and call.timeout is not None
        timeouts.append(call.timeout)
        clock.advance(call.timeout)
        raise from_status("DEADLINE_EXCEEDED", "Deadline Exceeded", endpoint="127.0.0.1:1")

    with pytest.raises(SidecarUnavailable) as info:
        drive(metadata.wait_ready(timeout=5, interval=0.5), clock, silent, RetryPolicy(max_attempts=-1))
    assert clock.now == pytest.approx(5) and timeouts[0] == 2.0 and len(timeouts) >= 2
    assert "not ready after 5s" in info.value.message


@pytest.mark.parametrize("default", [None, 2.0])
def test_a_cancel_at_the_calls_deadline_is_a_deadline(default: float | None) -> None:
    # daprd resets a call at its deadline (RST_STREAM CANCEL); grpc may report that before its own timer fires.
    clock = FakeClock()

    def reset_at_deadline(call: Instruction) -> Any:
        assert isinstance(call, Call) and call.timeout is not None
        clock.advance(call.timeout)
        raise from_status("CANCELLED", "Stream removed", operation=call.method)

    with pytest.raises(DeadlineExceeded) as waited:
        drive(workflow.wait_for_workflow_completion("i", timeout=0.5), clock, reset_at_deadline, default=default)
    assert waited.value.final and waited.value.summary() == "op: DEADLINE_EXCEEDED timed out after 0.5s"
    with pytest.raises(DeadlineExceeded) as plain:  # no budget: the call's own (default) timeout
        drive(metadata.get_metadata(), clock, reset_at_deadline, default=2.0)
    assert plain.value.message == "Stream removed (at the call's 2s deadline)"
    assert plain.value.code == "DEADLINE_EXCEEDED" and plain.value.__cause__.code == "CANCELLED"  # type: ignore[union-attr]


def test_a_cancel_before_the_deadline_stays_a_cancel() -> None:
    clock = FakeClock()

    def reset_early(call: Instruction) -> Any:
        assert isinstance(call, Call) and call.timeout is not None
        clock.advance(call.timeout / 2)
        raise from_status("CANCELLED", "Stream removed")

    with pytest.raises(DaprError) as info:
        drive(metadata.get_metadata(), clock, reset_early, default=2.0)
    assert info.value.code == "CANCELLED" and not isinstance(info.value, DeadlineExceeded)


@pytest.mark.parametrize("code", ["DEADLINE_EXCEEDED", "UNAVAILABLE"])
def test_workflow_wait_is_never_retried_past_its_timeout(code: str) -> None:
    clock = FakeClock()
    calls: list[Call] = []

    def never_done(call: Instruction) -> Any:
        assert isinstance(call, Call) and call.timeout is not None
        calls.append(call)
        clock.advance(call.timeout if code == "DEADLINE_EXCEEDED" else 0.0)  # a wait times out, a refusal is instant
        raise from_status(code, "no")

    op = workflow.wait_for_workflow_completion("i", timeout=4)
    with pytest.raises(DaprError) as info:
        drive(op, clock, never_done, RetryPolicy(max_attempts=3, initial_backoff=1.0))
    assert info.value.final and info.value.code == code and clock.now == pytest.approx(4)
    assert calls[0].method == "WaitForInstanceCompletion" and calls[0].timeout == 4
    if code == "DEADLINE_EXCEEDED":  # the wait used the whole budget: no retry at all
        assert len(calls) == 1 and isinstance(info.value, DeadlineExceeded)
        assert info.value.summary() == "op: DEADLINE_EXCEEDED timed out after 4s"
    else:  # retried at 0, ~1, ~2.5 s; the third backoff (~2.25 s) is cut at 4 s and the last failure is final
        assert len(calls) == 3 and isinstance(info.value, SidecarUnavailable)


def test_a_budget_only_shrinks_and_clips_calls_and_sleeps() -> None:
    def op() -> Op[list[Any]]:
        yield Deadline(5)
        yield Deadline(10)  # cannot extend
        replies = [(yield Call("A", None)), (yield Call("B", None, timeout=1.0))]
        yield Deadline(3)  # can shorten: 3 s from now (t=1)
        replies.append((yield Sleep(10)))
        return replies

    clock = FakeClock()
    seen: list[float | None] = []

    def answer(call: Instruction) -> Any:
        assert isinstance(call, Call)
        seen.append(call.timeout)
        clock.advance(1.0 if call.method == "B" else 0.0)
        return call.method

    with pytest.raises(DeadlineExceeded) as info:
        drive(op(), clock, answer, default=30.0)
    assert seen == [5.0, 1.0] and clock.now == pytest.approx(4.0) and info.value.final


def test_default_deadline_applies_only_to_calls_without_their_own() -> None:
    seen: list[float | None] = []

    def op() -> Op[None]:
        yield Call("A", None)
        yield Call("B", None, timeout=120.0)

    def answer(call: Instruction) -> Any:
        assert isinstance(call, Call)
        seen.append(call.timeout)

    drive(op(), FakeClock(), answer, default=7.0)
    drive(op(), FakeClock(), answer)
    assert seen == [7.0, 120.0, None, 120.0]


def test_http_calls_get_the_time_left_and_time_out_as_the_budget() -> None:
    def op() -> Op[Any]:
        yield Deadline(2)
        first = yield HttpCall("GET", "/a")  # no timeout of its own: the HTTP default (60 s) is clipped to 2 s
        return first, (yield HttpCall("GET", "/b", timeout=0.5))

    clock = FakeClock()
    seen: list[float | None] = []

    def answer(call: Instruction) -> Any:
        assert isinstance(call, HttpCall)
        seen.append(call.timeout)
        clock.advance(1.0)
        return call.path

    assert drive(op(), clock, answer) == ("/a", "/b") and seen == [2.0, 0.5]

    def slow(call: Instruction) -> Any:
        assert isinstance(call, HttpCall) and call.timeout is not None
        clock.advance(call.timeout)
        raise DeadlineExceeded("no answer", code="DEADLINE_EXCEEDED")

    clock = FakeClock()
    with pytest.raises(DeadlineExceeded) as info:
        drive(op(), clock, slow)
    assert info.value.final and info.value.message == "timed out after 2s" and clock.now == 2.0
    assert isinstance(info.value.__cause__, DeadlineExceeded) and info.value.__cause__.message == "no answer"


def test_final_errors_are_never_retried() -> None:
    error = from_status("UNAVAILABLE", "down")
    assert RetryPolicy(max_attempts=-1).should_retry(error, 5)
    error.final = True
    assert not RetryPolicy(max_attempts=-1).should_retry(error, 0)


def test_combinators_close_the_op_on_any_exit() -> None:
    cleaned: list[str] = []

    def op() -> Op[None]:
        try:
            yield Call("A", None)
        finally:
            cleaned.append("closed")

    def broken(instruction: Instruction) -> Any:
        raise RuntimeError("the driver failed")

    chain = budgeted(retrying(op(), RetryPolicy(max_attempts=1)), FakeClock(), None, 60.0, "op")
    with pytest.raises(RuntimeError):
        run_by_hand(chain, broken)
    assert cleaned == ["closed"]


def test_retry_policy_from_env() -> None:
    assert not RetryPolicy.from_env({}).enabled
    assert RetryPolicy.from_env({"DAPR_API_MAX_RETRIES": "3"}).max_attempts == 3
    assert RetryPolicy.from_env({"DAPR_API_MAX_RETRIES": "-1"}).should_retry(from_status("UNAVAILABLE", ""), 99)


def test_bulk_publish_falls_back_to_alpha1_only_on_unimplemented() -> None:
    methods: list[str] = []

    def answer(call: Instruction) -> Any:
        assert isinstance(call, Call)
        methods.append(call.method)
        if call.method == "BulkPublishEvent":
            raise from_status("UNIMPLEMENTED", "no")
        failed = [pubsub_pb2.BulkPublishResponseFailedEntry(entry_id="1", error="full")]
        return pubsub_pb2.BulkPublishResponse(failedEntries=failed)

    result = run_by_hand(pubsub.publish_bulk("p", "t", [{"a": 1}, "b", b"c"]), answer)
    assert methods == ["BulkPublishEvent", "BulkPublishEventAlpha1"]
    assert result.published == 2 and result.failed[0].entry_id == "1" and not result

    def internal(call: Instruction) -> Any:
        raise from_status("INTERNAL", "boom")

    with pytest.raises(Internal):
        run_by_hand(fallback(Call("A", None), lambda: Call("B", None)), internal)


def test_rich_error_details_are_read() -> None:
    status = status_pb2.Status(code=3, message="bad key")
    for detail in (
        error_details_pb2.ErrorInfo(reason="DAPR_STATE_ILLEGAL_KEY", domain="dapr.io", metadata={"k": "v"}),
        error_details_pb2.ResourceInfo(resource_type="state", resource_name="store"),
        error_details_pb2.BadRequest(field_violations=[{"field": "a||b", "description": "no ||"}]),
    ):
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    error = from_status("INVALID_ARGUMENT", "bad key", status.SerializeToString(), operation="SaveState")
    assert isinstance(error, InvalidArgument)
    assert error.reason == "DAPR_STATE_ILLEGAL_KEY" and error.metadata == {"k": "v"}
    assert error.resource is not None and error.resource.resource_name == "store"
    assert error.violations[0].field == "a||b"
    assert error.summary() == "SaveState: INVALID_ARGUMENT [DAPR_STATE_ILLEGAL_KEY] bad key"
    assert isinstance(from_status("INVALID_ARGUMENT", "x", _info("DAPR_STATE_NOT_FOUND")), NotFound)
    assert isinstance(from_status("UNIMPLEMENTED", "x"), NotImplementedError)


def _info(reason: str) -> bytes:
    packed = any_pb2.Any()
    packed.Pack(error_details_pb2.ErrorInfo(reason=reason))
    return status_pb2.Status(code=3, details=[packed]).SerializeToString()


def test_http_errors_use_dapr_error_codes() -> None:
    error = from_http(404, b'{"errorCode": "ERR_DIRECT_INVOKE", "message": "app not found"}', operation="invoke")
    assert isinstance(error, NotFound) and error.reason == "ERR_DIRECT_INVOKE" and error.http_status == 404
    assert isinstance(from_http(500, b"oops"), DaprError) and from_http(500, b"oops").message == "oops"
    assert isinstance(from_http(501, b""), Unimplemented)


def test_errors_pickle_round_trip() -> None:
    import pickle

    error = from_status("ABORTED", "etag mismatch", operation="SaveState")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is Conflict and copy.summary() == error.summary()
