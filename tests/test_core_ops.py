"""Core operations driven by hand — no network: instructions, retries, fallbacks, requests built, replies digested."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest
from dapr.proto.runtime.v1 import pubsub_pb2, state_pb2
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from dapr_nb.core import pubsub, state
from dapr_nb.core.errors import from_http, from_status
from dapr_nb.core.ops import Call, Instruction, RetryPolicy, Sleep, fallback, retrying, run_by_hand
from dapr_nb.core.results import StateItem
from dapr_nb.errors import Conflict, DaprError, Internal, InvalidArgument, NotFound, SidecarUnavailable, Unimplemented


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
